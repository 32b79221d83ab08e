"""Every field on small hand-written cases, and bad input that must not raise."""

from datetime import date


def test_call_for_projects(label_one) -> None:
    r = label_one(
        "Appel à projets : valorisation de la chaleur fatale industrielle",
        "La Région Grand Est et l'ADEME lancent un appel à projets pour financer la "
        "récupération de chaleur fatale sur les sites industriels et son injection dans un "
        "réseau de chaleur. Date limite de dépôt des dossiers : 15 mars 2026.",
    )
    assert r.labels.relevant
    assert r.labels.type == "appel_a_projets"
    assert "energie" in r.labels.themes
    assert r.labels.axes == ["veille"]
    assert r.labels.scope == "grand_est"
    assert r.labels.deadline == date(2026, 3, 15)
    assert r.explanations["type"]  # a curator can see why
    assert r.scores["type"]["appel_a_projets"] == max(r.scores["type"].values())


def test_decree(label_one) -> None:
    r = label_one(
        "Décret n° 2025-123 relatif à la responsabilité élargie du producteur des emballages",
        "Publié au Journal officiel, ce décret modifie le code de l'environnement et fixe les "
        "obligations des producteurs d'emballages en matière de réemploi et de recyclage. "
        "Il entre en vigueur le 1er juillet 2025.",
    )
    assert r.labels.type == "reglementation"
    assert "dechets_ressources" in r.labels.themes
    assert r.labels.axes == ["veille"]
    assert r.labels.scope == "france"
    assert r.labels.deadline is None


def test_webinar(label_one) -> None:
    r = label_one(
        "Webinaire : mutualiser l'énergie entre entreprises d'une zone d'activités",
        "Le réseau régional organise un webinaire le 12 mars 2026 de 11h à 12h avec des "
        "retours d'expérience d'animateurs de démarches d'écologie industrielle. Inscription "
        "gratuite en ligne.",
    )
    assert r.labels.type == "evenement"
    assert "savoirs" in r.labels.axes
    assert r.labels.deadline is None  # an event's date is not a deadline


def test_training(label_one) -> None:
    r = label_one(
        "Formation : animer une démarche d'écologie industrielle et territoriale",
        "Cette formation de deux jours s'adresse aux chargés de mission des collectivités et "
        "des CCI. Objectifs pédagogiques : conduire un diagnostic de flux, mobiliser les "
        "entreprises, identifier des synergies. Session en Lorraine.",
    )
    assert r.labels.type == "formation"
    assert r.labels.axes == ["formation"]
    assert r.labels.scope == "grand_est"


def test_guide(label_one) -> None:
    r = label_one(
        "Guide méthodologique : réaliser un diagnostic des flux d'une zone d'activités",
        "L'ADEME publie un guide qui détaille la méthode de collecte des données sur les flux "
        "de matières, d'énergie et d'eau des entreprises, avec des modèles de questionnaires.",
    )
    assert r.labels.type == "publication"
    assert r.labels.relevant


def test_news_story(label_one) -> None:
    r = label_one(
        "Retour sur les rencontres régionales de l'économie circulaire",
        "Plus de 200 participants se sont retrouvés à Metz pour échanger sur le réemploi des "
        "matériaux et les synergies entre industriels.",
    )
    assert r.labels.type == "actualite"  # a report on a past event is news
    assert r.labels.scope == "grand_est"


def test_winners_are_news(label_one) -> None:
    r = label_one(
        "Appel à projets économie circulaire : les lauréats sont connus",
        "Douze projets de recyclage et de réemploi ont été retenus et recevront une aide.",
    )
    assert r.labels.type == "actualite"


def test_off_topic(label_one) -> None:
    r = label_one(
        "Le club de football s'impose en championnat",
        "Les joueurs ont remporté le match grâce à un but en fin de rencontre devant leurs "
        "supporters. Prochain match samedi.",
    )
    assert not r.labels.relevant
    assert r.labels.type is None and r.labels.themes == []
    assert r.reason


def test_english_story(label_one) -> None:
    r = label_one(
        "Industrial symbiosis in Denmark",
        "The Kalundborg symbiosis exchanges steam, water and by-products between companies, "
        "and is often cited as the first example of industrial symbiosis in the world.",
    )
    assert not r.labels.relevant
    assert r.language == "en"
    assert "language" in r.reason


def test_source_hints_are_priors(label_one) -> None:
    r = label_one("Décret sur les installations classées", "", hints={"scope": "grand_est"})
    assert r.labels.scope == "grand_est"


def test_bad_input_never_raises(classifier) -> None:
    huge = "La valorisation des déchets industriels à Strasbourg. " * 4000  # 200,000+ chars
    records = [
        {"id": 1, "title": "", "text": ""},
        {"id": 2, "title": "Appel à projets économie circulaire"},
        {"id": 3, "title": "Déchets", "text": huge},
        {"id": 4, "title": "<h1>Recyclage</h1>", "text": "<div><p>Le <b>recyclage</b></p></div>"},
        {"id": 5, "title": "Ã‰conomie circulaire", "text": "Les dÃ©chets du BTP sont recyclÃ©s."},
        {"id": 6, "title": None, "text": None},
        {"id": 7},
        {"id": 8, "title": 42, "text": ["not", "a", "string"], "published": "garbage"},
    ]
    results = classifier.label(records)
    assert [r.id for r in results] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert not results[0].labels.relevant and results[0].reason
    assert results[2].labels.scope == "grand_est"
    assert results[4].labels.relevant
    for r in results:
        assert set(r.to_dict()["labels"]) == {
            "relevant", "type", "themes", "axes", "scope", "deadline",
        }  # fmt: skip
