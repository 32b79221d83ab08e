"""Rules that encode the conventions of LABELS.md (they generalise; no item is special).

Each rule adds to or takes from the combined score of a type, and says so in
the explanations, so a curator sees which convention decided.
"""

from __future__ import annotations

import re

_I = re.I

# (type, boost, pattern on the title, what the curator reads)
TITLE_RULES: list[tuple[str, float, re.Pattern[str], str]] = [
    ("actualite", 0.6, re.compile(r"^\W*(retour\s+sur|retour\s+en\s+images|on\s+y\s+[ée]tait|"
                                  r"ce\s+qu'il\s+faut\s+retenir|bilan\s+d[eu]s?\s+(?:la\s+)?"
                                  r"(?:journ[ée]e|rencontre|webinaire|colloque|salon))", _I),
     "a report on a past event is news (LABELS.md)"),
    ("evenement", 0.3, re.compile(r"\b(webinaire|webinar|colloque|conf[ée]rence|s[ée]minaire|"
                                  r"salon|journ[ée]e\s+(?:technique|d'[ée]change|r[ée]gionale|"
                                  r"d'information)|rencontres?|forum|atelier|matinale|"
                                  r"assises|congr[èe]s|visite)\b", _I),
     "the title announces an event"),
    ("reglementation", 0.3, re.compile(r"\b(consultation\s+publique|projet\s+de\s+(?:d[ée]cret|"
                                       r"loi|arr[êe]t[ée])|d[ée]cret|arr[êe]t[ée]\s+du|"
                                       r"arr[êe]t[ée]\s+minist|directive|r[èe]glement\s+\(?(?:UE|CE)|"
                                       r"loi\s+n|ordonnance|jurisprudence|conseil\s+d'[ée]tat|"
                                       r"r[ée]glementation|obligation)", _I),
     "the title names a legal text"),
    ("appel_a_projets", 0.35, re.compile(r"\b(appels?\s+[àa]\s+(?:projets?|manifestation|"
                                         r"candidatures?|propositions?)|AAP|AMI|"
                                         r"appel\s+d'offres\s+(?:innovation)?|concours|troph[ée]es?|"
                                         r"prix\s+(?:de|du|des)|subvention|aide\s+[àa])", 0),
     "the title announces a call or a grant"),
    ("formation", 0.3, re.compile(r"\b(MOOC|formations?|se\s+former|certification|RNCP|"
                                  r"parcours\s+de\s+formation|e-learning|mast[èe]re|master|module)\b", _I),
     "the title offers a training"),
    ("publication", 0.25, re.compile(r"\b(guide|rapport|[ée]tude|barom[èe]tre|observatoire|"
                                     r"panorama|chiffres[\s-]cl[ée]s|synth[èe]se|livre\s+blanc|"
                                     r"bilan\s+annuel|fiches?|note|plan\s+d'actions?|r[ée]sum[ée]|"
                                     r"r[ée]f[ée]rentiel|publication)\b", _I),
     "the title presents a publication"),
]  # fmt: skip

# A call for papers belongs to its conference: an event, not a call for projects.
CALL_FOR_PAPERS = re.compile(r"\bappels?\s+[àa]\s+(?:communications?|contributions?|posters?)", _I)

# The announcement of a call's winners is news (LABELS.md), not the call.
WINNERS = re.compile(
    r"\b(laur[ée]ats?|gagnants?|r[ée]compens[ée]s?|prim[ée]s?)\b.{0,80}\b(annonc|d[ée]voil|"
    r"connus|d[ée]sign|s[ée]lectionn|retenus|r[ée]compens|remis)|\b(annonc|d[ée]voil|d[ée]sign|"
    r"s[ée]lectionn)\w*\s+(?:les\s+|des\s+|ses\s+)?(?:\d+\s+)?laur[ée]ats?",
    _I,
)

# In a title only (a call's text often says what "the selected projects" will get):
# winners named, or a call's outcome (its results, the projects it funded).
WINNERS_TITLE = re.compile(
    r"\b(projets?|dossiers?|candidats?|entreprises?|territoires?|sites?)\b[^.:;]{0,40}"
    r"\b(retenu|s[ée]lectionn[ée]|prim[ée]|distingu[ée])e?s?\b|\blaur[ée]ats?\b",
    _I,
)
CALL_WORD = re.compile(r"\b(appels?\s+[àa]|AAP|AMI|concours|prix|troph[ée]es?)\b", _I)
CALL_OUTCOME = re.compile(
    r"\br[ée]sultats?\b|\d\s+projets\s+(?:soutenus|financ[ée]s)|\bretient\b|\bremport|"
    r"\bre[çc]u\s+\d+\s+(?:dossiers|candidatures)",
    _I,
)
# A report on a past event, wherever the title says so (LABELS.md: news).
PAST_EVENT = re.compile(
    r"\breplay\b|ce\s+qu'il\s+fallait\s+retenir|supports?\s+(?:sont\s+)?(?:en\s+ligne|disponibles)|"
    r"\bles\s+enseignements\s+d[eu]",
    _I,
)

# A guide, note or FAQ whose title names a rule explains it: regulation (LABELS.md).
EXPLAINER = re.compile(
    r"\b(guide|note|fiche|foire\s+aux\s+questions|FAQ|d[ée]cryptage|m[ée]mo|vade-mecum)\b", _I
)
RULE_WORD = re.compile(
    r"juridique|r[ée]glementaire|r[ée]glementation|\bobligations?\b|s'appliqu|d[ée]cret|"
    r"arr[êe]t[ée]\b|\bloi\b|\bstatut\b|inspection|\bICPE\b|registre|conformit|\bREP\b|"
    r"directive|r[èe]glement\b",
    _I,
)


def type_adjustments(title: str, lead: str) -> list[tuple[str, float, str]]:
    """(type, boost, reason) for the title and the first sentences."""
    out = []
    winners = bool(
        WINNERS.search(title)
        or WINNERS_TITLE.search(title)
        or (CALL_WORD.search(title) and CALL_OUTCOME.search(title))
        or WINNERS.search(lead[:400])
    )
    for type_id, boost, pattern, reason in TITLE_RULES:
        if pattern.search(title):
            if type_id == "appel_a_projets" and winners:
                continue
            out.append((type_id, boost, reason))
    if EXPLAINER.search(title) and RULE_WORD.search(title):
        out.append(("reglementation", 0.35, "a guide or note explaining a rule is regulation"))
    if PAST_EVENT.search(title):
        out.append(("actualite", 0.6, "a report on a past event is news (LABELS.md)"))
    if CALL_FOR_PAPERS.search(title):
        out = [o for o in out if o[0] != "appel_a_projets"]
        out.append(("evenement", 0.5, "a call for papers belongs to its event"))
    if winners:
        out.append(("actualite", 0.45, "winners announced: news (LABELS.md)"))
        out.append(("appel_a_projets", -0.35, "winners announced: the call is over"))
    return out
