// Progressive enhancement of the desk: forms marked .js-async are sent with
// fetch and the item's card is replaced by the server's fragment, then the
// e-mail preview and the decisions log are refreshed. Without JavaScript every
// form still works as a plain POST followed by a redirect.
(function () {
  "use strict";

  function refreshSide() {
    // The first change of an untouched week turns the automatic selection into
    // the curators' one: every card's badge changes, so reload the page once.
    var layout = document.querySelector(".layout[data-curated='0']");
    if (layout) { window.location.reload(); return; }
    var frame = document.getElementById("preview");
    if (frame) { frame.src = frame.src; }
    var journal = document.getElementById("journal");
    if (journal && journal.dataset.src) {
      fetch(journal.dataset.src, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (text) { if (text !== null) { journal.innerHTML = text; } });
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var confirmButton = event.submitter && event.submitter.dataset.confirm;
    if (confirmButton && !window.confirm(confirmButton)) { event.preventDefault(); return; }
    if (!form.classList.contains("js-async")) { return; }
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
    var card = form.closest(".item");
    if (card) { card.classList.add("saving"); }
    fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.text().then(function (text) { return { ok: response.ok, text: text }; });
    }).then(function (result) {
      if (card && result.ok) {
        var holder = document.createElement("div");
        holder.innerHTML = result.text.trim();
        var fresh = holder.firstElementChild;
        if (fresh) { card.replaceWith(fresh); fresh.classList.add("saved"); }
      } else if (card) {
        card.classList.remove("saving");
        var note = document.createElement("div");
        note.innerHTML = result.text;
        card.appendChild(note);
      }
      refreshSide();
    }).catch(function () { form.submit(); });
  });
})();
