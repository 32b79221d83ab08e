// Progressive enhancement of the desk (served as a file: the CSP allows no inline
// script). Without JavaScript every action is a plain form POST followed by a
// redirect, and the filters are a GET form. With it:
// - actions are sent with fetch (header X-Requested-With: fetch); the server
//   answers with the changed cards and the new lines of the decisions log, which
//   replace the old ones in place (a card whose type changed moves to its new
//   section); a reorder gets the section's new order as JSON;
// - the filters apply at once, without a request;
// - keyboard shortcuts (j/k, g/x, u, Shift+K/J, e, s, /, ?, Ctrl+Enter, Escape);
// - the e-mail preview loads only when its panel is open, and is refreshed
//   after a change only then;
// - while an action is on its way, and until its answer is on the page, the
//   root element carries data-busy (tests and scripts wait for it to go);
// - a 403 (session expired or closed, CSRF token no longer valid) never reloads
//   the page: a message says to sign in again in another tab, the form keeps
//   what was typed (also kept in sessionStorage until saved), and the next
//   send first asks /session/jeton for the session's current token.
(function () {
  "use strict";

  var FETCH = { "X-Requested-With": "fetch" };
  var previewTimer = null;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  // The answer is on the page once the callers' .then() ran: they are microtasks,
  // the timeout is a task, so it runs after them.
  var pending = 0;
  function busy(promise) {
    pending += 1;
    document.documentElement.dataset.busy = "";
    function done() {
      window.setTimeout(function () {
        pending -= 1;
        if (!pending) { delete document.documentElement.dataset.busy; }
      }, 0);
    }
    promise.then(done, done);
    return promise;
  }

  function say(text) {
    var live = $("#live");
    if (live) { live.textContent = ""; window.setTimeout(function () { live.textContent = text; }, 30); }
  }

  // -- filters --------------------------------------------------------------------
  function filterValues() {
    var form = $("#filters");
    if (!form) { return null; }
    return {
      type: form.elements.type.value, theme: form.elements.theme.value,
      band: form.elements.score.value, state: form.elements.etat.value
    };
  }

  function matches(card, f) {
    if (!f) { return true; }
    var themes = (card.dataset.themes || "").split(" ");
    return (!f.type || card.dataset.section === f.type) &&
      (!f.theme || themes.indexOf(f.theme) >= 0) &&
      (!f.band || card.dataset.band === f.band) &&
      (!f.state || card.dataset.state === f.state);
  }

  function applyFilters() {
    var f = filterValues();
    if (!f) { return; }
    var shown = 0, total = 0;
    $$("details.section").forEach(function (section) {
      var visible = 0;
      $$("article.item", section).forEach(function (card) {
        var ok = matches(card, f);
        card.hidden = !ok;
        total += 1;
        if (ok) { visible += 1; }
      });
      section.hidden = visible === 0;
      shown += visible;
    });
    var out = $("#shown");
    if (out) { out.textContent = shown + " élément(s) affiché(s) sur " + total; }
  }

  function filtersChanged() {
    applyFilters();
    var form = $("#filters");
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (key) { if (!params.get(key)) { params.delete(key); } });
    var query = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  }

  // -- counts ---------------------------------------------------------------------
  function updateCounts() {
    // As the server counts them (week_view.kept_counts): a kept call closed on the
    // issue date is left out of the bulletin, so it is not counted as retenu.
    var all = 0, kept = 0, closed = 0;
    $$("details.section").forEach(function (section) {
      var id = section.dataset.section;
      var cards = $$("article.item", section);
      var keptCards = cards.filter(function (c) { return c.dataset.state === "kept"; });
      var shut = keptCards.filter(function (c) { return c.dataset.closed === "1"; }).length;
      var inSection = keptCards.length - shut;
      all += cards.length; kept += inSection; closed += shut;
      var count = $("[data-count-of='" + id + "']");
      if (count) {
        count.textContent = cards.length + " · " + inSection + " retenu(s)" +
          (shut ? " (+ " + shut + " clos, hors bulletin)" : "");
      }
      var tab = $("[data-count-for='" + id + "']");
      if (tab) { tab.textContent = cards.length; }
    });
    var totals = $("#totals");
    if (totals) {
      totals.textContent = all + " candidats, " + kept + " retenus" +
        (closed ? " (+ " + closed + " appel(s) clos, hors bulletin)" : "");
    }
  }

  // -- preview and journal -------------------------------------------------------------
  function loadPreview() {
    var frame = $("#preview");
    if (!frame) { return; }
    frame.src = frame.dataset.src + (frame.dataset.src.indexOf("?") < 0 ? "?" : "&") + "v=" + Date.now();
    frame.dataset.stale = "";
  }

  function previewChanged() {
    var panel = $(".preview-panel");
    var frame = $("#preview");
    if (!panel || !frame) { return; }
    if (!panel.open) { frame.dataset.stale = "1"; return; }
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(loadPreview, 800);
  }

  function addJournalLines(html) {
    var list = $("#journal ol.decisions");
    if (!list || !html || !html.trim()) { return; }
    var holder = document.createElement("ol");
    holder.innerHTML = html;
    var none = $("li.none", list);
    if (none) { none.remove(); }
    $$("li", holder).reverse().forEach(function (li) { list.insertBefore(li, list.firstChild); });
    $$("li", list).slice(15).forEach(function (li) { li.remove(); });
  }

  // -- cards ------------------------------------------------------------------------
  function currentCard() { return $("article.item.current"); }

  function setCurrent(card, focus) {
    $$("article.item.current").forEach(function (c) { c.classList.remove("current"); });
    if (!card) { return; }
    card.classList.add("current");
    if (focus !== false) { card.focus({ preventScroll: true }); card.scrollIntoView({ block: "nearest" }); }
  }

  // The first field of an editor holding input not saved yet (changed since the
  // page showed it, or since its form was last saved), or null.
  function unsavedField(editor) {
    var found = null;
    $$("form", editor).forEach(function (form) {
      enteredFields(form).forEach(function (field) {
        var changed;
        if (field.type === "checkbox" || field.type === "radio") {
          changed = field.checked !== field.defaultChecked;
        } else if (field.tagName === "SELECT") {
          var initial = 0;
          Array.prototype.forEach.call(field.options, function (o, i) { if (o.defaultSelected) { initial = i; } });
          changed = field.selectedIndex !== initial;
        } else {
          changed = field.value !== field.defaultValue;
        }
        if (changed && !found) { found = field; }
      });
    });
    return found;
  }

  function placeCard(fresh) {
    var old = document.getElementById(fresh.id);
    var wasCurrent = old && old.classList.contains("current");
    var target = $(".cards[data-section='" + fresh.dataset.section + "']");
    if (!old) { return true; }
    // Saving one form of a card's editor (its labels) must not take away what was
    // typed in the other (its title): the editor then stays open on the new card.
    var editor = $(".editor", old);
    var pending = editor && unsavedField(editor);
    if (pending) { fresh.appendChild(editor); }
    if (old.dataset.section !== fresh.dataset.section) {
      if (!target) { return false; }  // no such section on the page yet: reload
      old.remove();
      target.insertBefore(fresh, target.firstChild);
      say("Élément déplacé dans la rubrique « " + (target.parentElement.querySelector("h2").firstChild.textContent.trim()) + " ».");
    } else {
      old.replaceWith(fresh);
    }
    fresh.hidden = !matches(fresh, filterValues());
    fresh.classList.add("saved");
    if (wasCurrent) { setCurrent(fresh); }
    if (pending) { pending.focus({ preventScroll: true }); }
    return true;
  }

  function swapIn(html) {
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var ok = true;
    $$("article.item", holder).forEach(function (fresh) { ok = placeCard(fresh) && ok; });
    var lines = $("template.journal-lines", holder);
    if (lines) { addJournalLines(lines.innerHTML); }
    var layout = $(".layout[data-curated='0']");
    if (layout) {  // the first change made the automatic selection the curators' one
      layout.dataset.curated = "1";
      $$(".badge .auto").forEach(function (mark) { mark.remove(); });
    }
    if (!ok) { window.location.reload(); return; }
    updateCounts();
    previewChanged();
  }

  function showError(form, text) {
    var place = form.closest(".item") || form;
    var old = $(".error", place);
    if (old) { old.remove(); }
    var note = document.createElement("div");
    note.innerHTML = text;
    place.appendChild(note);
    say(note.textContent);
  }

  // -- an expired session: keep the text, sign in elsewhere, send again ------------
  var tokenStale = false;

  function signInLink() {
    return "/connexion?suite=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  // « Votre session a expiré : <a>reconnectez-vous dans un autre onglet</a>…after »
  function expiredNote(after) {
    var note = document.createElement("p");
    note.className = "error expired";
    note.setAttribute("role", "alert");
    var link = document.createElement("a");
    link.href = signInLink();
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = "reconnectez-vous dans un autre onglet";
    note.appendChild(document.createTextNode("Votre session a expiré : "));
    note.appendChild(link);
    note.appendChild(document.createTextNode(after));
    return note;
  }

  function showExpired(form, reason) {
    var button = $("button:not([type=button])", form);
    var again = button ? "« " + button.textContent.trim() + " »" : "Enregistrer";
    var note;
    if (reason === "jeton") {  // signed in again meanwhile: only the page's token was old
      note = document.createElement("p");
      note.className = "error expired";
      note.setAttribute("role", "alert");
      note.textContent = "Le jeton de sécurité de la page n’était plus valide (reconnexion " +
        "ailleurs ?) : rien n’a été enregistré. Cliquez à nouveau sur " + again +
        " ; votre saisie est conservée.";
    } else {
      note = expiredNote(", puis cliquez à nouveau sur " + again + " ; votre saisie est conservée.");
    }
    var place = form.closest(".item") || form;
    $$(".error", place).forEach(function (old) { old.remove(); });
    form.appendChild(note);
    say(note.textContent);
  }

  // What the curator entered in a form (text, dates, type, themes, axes...),
  // kept in the tab's sessionStorage while it is not saved: a reload (or a
  // closed editor) does not lose it. Hidden fields (token, what the page showed)
  // are the page's, not the curator's.
  function keptKey(form) { return "veille-texte:" + form.getAttribute("action"); }

  function enteredFields(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.name && field.name !== "csrf" && field.type !== "hidden" &&
        field.type !== "submit" && field.tagName !== "BUTTON";
    });
  }

  function keepTyped(form) {
    try {
      var values = {};
      enteredFields(form).forEach(function (field) {
        if (field.type === "checkbox") {
          values[field.name] = values[field.name] || [];
          if (field.checked) { values[field.name].push(field.value); }
        } else {
          values[field.name] = field.value;
        }
      });
      window.sessionStorage.setItem(keptKey(form), JSON.stringify(values));
    } catch (e) { /* storage refused: the entries stay in the form */ }
  }

  function forgetTyped(form) {
    try { window.sessionStorage.removeItem(keptKey(form)); } catch (e) { /* nothing kept */ }
  }

  function restoreTyped(root) {
    $$("form", root).forEach(function (form) {
      var kept = null;
      try { kept = JSON.parse(window.sessionStorage.getItem(keptKey(form)) || "null"); } catch (e) { kept = null; }
      if (!kept || typeof kept !== "object") { return; }
      var changed = false;
      enteredFields(form).forEach(function (field) {
        var value = kept[field.name];
        if (field.type === "checkbox") {
          if (!Array.isArray(value)) { return; }
          var wanted = value.indexOf(field.value) >= 0;
          if (field.checked !== wanted) { field.checked = wanted; changed = true; }
        } else if (typeof value === "string" && field.value !== value) {
          field.value = value;
          changed = true;
        }
      });
      if (!changed) { return; }
      var note = document.createElement("p");
      note.className = "flash warn restored";
      note.textContent = "Saisie non enregistrée reprise de votre essai précédent : vérifiez-la, puis enregistrez.";
      form.insertBefore(note, form.firstChild);
    });
  }

  // After a save, what the form holds is what the page shows: its vu_* fields
  // (what the form showed, for the server's conflict check) take these values,
  // or the curator's own first save reads as someone else's change and the
  // next save of the same editor is refused.
  function markShown(form) {
    if (!form.elements.vu) { return; }
    var values = {};
    enteredFields(form).forEach(function (field) {
      if (field.type === "checkbox") {
        values[field.name] = values[field.name] || [];
        if (field.checked) { values[field.name].push(field.value); }
        field.defaultChecked = field.checked;
      } else {
        values[field.name] = field.value;
        if (field.tagName === "SELECT") {
          Array.prototype.forEach.call(field.options, function (o) { o.defaultSelected = o.selected; });
        } else {
          field.defaultValue = field.value;
        }
      }
    });
    Object.keys(values).forEach(function (name) {
      $$("input[type=hidden]", form).forEach(function (old) {
        if (old.name === "vu_" + name) { old.remove(); }
      });
      [].concat(values[name]).forEach(function (value) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "vu_" + name;
        input.value = value;
        form.appendChild(input);
      });
    });
  }

  // The session's current CSRF token, once the curator signed in again; every
  // form of the page gets it. Resolves to false while nobody is signed in.
  function refreshToken() {
    return fetch("/session/jeton", { headers: FETCH, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { return false; }
        return response.json().then(function (answer) {
          $$("input[name=csrf]").forEach(function (input) { input.value = answer.csrf; });
          tokenStale = false;
          return true;
        });
      });
  }

  function post(form, submitter) {
    var card = form.closest(".item");
    if (card) { card.classList.add("saving"); }
    var ready = tokenStale ? refreshToken() : Promise.resolve(true);
    return busy(ready.then(function (signedIn) {
      if (!signedIn) { return { ok: false, status: 403, body: { reason: "session" } }; }
      var data = new FormData(form);
      if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
      return fetch(form.action, { method: "POST", body: data, credentials: "same-origin", headers: FETCH })
        .then(function (response) {
          var type = response.headers.get("content-type") || "";
          var body = type.indexOf("json") >= 0 ? response.json() : response.text();
          return body.then(function (value) { return { ok: response.ok, status: response.status, body: value }; });
        });
    })
      .then(function (result) {
        if (card) { card.classList.remove("saving"); }
        if (result.status === 403) {  // session over or token refused: nothing saved, nothing lost
          tokenStale = true;
          keepTyped(form);
          showExpired(form, result.body && result.body.reason);
          return null;
        }
        $$(".expired", form).forEach(function (old) { old.remove(); });
        if (!result.ok) { showError(form, result.body); return null; }
        forgetTyped(form);
        markShown(form);
        return result.body;
      }));
  }

  function onAsync(form, submitter) {
    post(form, submitter).then(function (html) {
      if (html !== null) { swapIn(html); say("Enregistré."); }
    }).catch(function () { form.submit(); });
  }

  function onMove(form, submitter) {
    var card = form.closest(".item");
    var id = card ? card.id : null;
    post(form, submitter).then(function (result) {
      if (!result) { return; }
      var box = $(".cards[data-section='" + result.section + "']");
      if (box) {
        result.order.forEach(function (itemId) {
          var node = document.getElementById("item-" + itemId);
          if (node && node.parentElement === box) { box.appendChild(node); }
        });
      }
      addJournalLines(result.journal);
      previewChanged();
      if (id) { setCurrent(document.getElementById(id)); }
      say("Ordre modifié.");
    }).catch(function () { form.submit(); });
  }

  function onBulk(form, submitter) {
    post(form, submitter).then(function (html) {
      if (html === null) { return; }
      swapIn(html);
      updatePicked();
      say("Sélection traitée.");
    }).catch(function () { form.submit(); });
  }

  function onEditorial(form) {
    post(form, null).then(function (html) {
      if (html === null) { return; }
      var old = $("#editorial-preview");
      if (old) { old.outerHTML = html; }
      var title = $("#mot-titre");
      var filled = form.elements.editorial.value.trim() !== "";
      // What the page shows now is this text: the next save starts from it.
      if (form.elements.vu_editorial) { form.elements.vu_editorial.value = form.elements.editorial.value; }
      if (title) { title.textContent = "Le mot de l’équipe " + (filled ? "(rédigé)" : "(vide)"); }
      previewChanged();
      say("Mot de l’équipe enregistré.");
    }).catch(function () { form.submit(); });
  }

  function toggleEditor(card) {
    var open = $(".editor", card);
    if (open) { open.remove(); card.focus(); return; }
    var link = $("a.edit-link", card);
    if (!link) { return; }
    busy(fetch(link.href, { headers: FETCH, credentials: "same-origin" })
      .then(function (r) {
        // Sent to the sign-in page: the session is over. Say so here rather than
        // leave the page, where other editors may hold typed text.
        if (r.redirected && new URL(r.url).pathname === "/connexion") { return "expired"; }
        return r.ok ? r.text() : null;
      }))
      .then(function (html) {
        if (html === null) { window.location.href = link.href; return; }
        if (html === "expired") {
          var note = expiredNote(", puis rouvrez l’édition.");
          $$(".expired", card).forEach(function (old) { old.remove(); });
          card.appendChild(note);
          say(note.textContent);
          return;
        }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var editor = holder.firstElementChild;
        card.appendChild(editor);
        restoreTyped(editor);
        var first = $("input:not([type=hidden]), select, textarea", editor);
        if (first) { first.focus(); }
      });
  }

  function updatePicked() {
    var out = $("#picked");
    if (!out) { return; }
    var n = $$("input.pick:checked").length;
    out.textContent = n ? n + " élément(s) sélectionné(s) :" : "Cochez des éléments pour les traiter ensemble :";
  }

  // -- events -----------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = submitter && submitter.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    var kinds = { "js-async": onAsync, "js-move": onMove, "js-bulk": onBulk, "js-editorial": onEditorial };
    for (var kind in kinds) {
      if (form.classList.contains(kind)) {
        event.preventDefault();
        kinds[kind](form, submitter);
        return;
      }
    }
    if (form.id === "filters") { event.preventDefault(); filtersChanged(); }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.closest && target.closest("#filters")) { filtersChanged(); }
    if (target.classList && target.classList.contains("pick")) { updatePicked(); }
    if (target.hasAttribute && target.hasAttribute("data-autosubmit")) { target.form.submit(); }
  });

  document.addEventListener("click", function (event) {
    if (event.target.classList && event.target.classList.contains("close-help")) {
      event.target.closest("dialog").close();
      return;
    }
    var link = event.target.closest && event.target.closest("a.edit-link");
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      var card = link.closest(".item");
      setCurrent(card, false);
      toggleEditor(card);
      return;
    }
    var card2 = event.target.closest && event.target.closest("article.item");
    if (card2 && !card2.classList.contains("current")) { setCurrent(card2, false); }
  });

  document.addEventListener("toggle", function (event) {
    if (event.target.classList && event.target.classList.contains("preview-panel") && event.target.open) {
      var frame = $("#preview");
      if (frame && (!frame.getAttribute("src") || frame.dataset.stale)) { loadPreview(); }
    }
  }, true);

  function visibleCards() { return $$("article.item").filter(function (c) { return !c.hidden && !c.closest("[hidden]"); }); }

  function step(delta) {
    var cards = visibleCards();
    if (!cards.length) { return; }
    var index = cards.indexOf(currentCard());
    var next = index < 0 ? (delta > 0 ? 0 : cards.length - 1) : Math.min(cards.length - 1, Math.max(0, index + delta));
    var section = cards[next].closest("details.section");
    if (section && !section.open) { section.open = true; }
    setCurrent(cards[next]);
  }

  function press(card, selector) {
    var button = card && $(selector, card);
    if (button) { button.form.requestSubmit(button); }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.form) {
      event.preventDefault();
      target.form.requestSubmit();
      return;
    }
    if (event.key === "Escape") {
      var editor = target.closest && target.closest(".editor");
      if (editor) { var owner = editor.closest(".item"); editor.remove(); if (owner) { owner.focus(); } }
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var card = currentCard();
    var actions = {
      "j": function () { step(1); }, "k": function () { step(-1); },
      "J": function () { press(card, "button[name=direction][value=down]"); },
      "K": function () { press(card, "button[name=direction][value=up]"); },
      "g": function () { press(card, "button.keep"); },
      "x": function () { press(card, "button.drop"); },
      "u": function () { press(card, "button[name=pinned]"); },
      "e": function () { if (card) { toggleEditor(card); } },
      "s": function () {
        var box = card && $("input.pick", card);
        if (box) { box.checked = !box.checked; updatePicked(); }
      },
      "/": function () { var first = $("#f-type"); if (first) { first.focus(); } },
      "?": function () { var help = $("#help"); if (help && !help.open) { help.showModal(); } }
    };
    var action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    applyFilters();
    restoreTyped(document);
    var hash = window.location.hash;
    if (hash && hash.indexOf("#item-") === 0) { setCurrent(document.getElementById(hash.slice(1)), false); }
  });
})();
