// The search page: Pagefind's JavaScript API over every bundle of the index
// (one per year, then per quarter), filters that work without a word, sort by
// date or closing date. The form's state lives in the address (?q=…&theme=…),
// so a search can be bookmarked and the header's box lands here with ?q=.
// Result links are made relative to this page: the site works from any sub-path.
(function () {
  "use strict";
  var form = document.getElementById("recherche");
  var box = document.getElementById("resultats");
  if (!form || !box) { return; }
  var root = box.getAttribute("data-root") || "./";
  var bundles = (box.getAttribute("data-bundles") || "").split(" ").filter(Boolean)
    .map(function (path) { return new URL(path, document.baseURI).href; });
  var count = box.querySelector(".count");
  var list = box.querySelector(".results");
  var more = box.querySelector(".more");
  var PAGE = 20;
  var MULTI = ["theme", "type", "portee"];
  var FIELDS = { theme: "theme", type: "type", portee: "scope" };

  function today() {  // the day in Paris, as the closing dates are written
    return new Intl.DateTimeFormat("en-CA", {
      timeZone: "Europe/Paris", year: "numeric", month: "2-digit", day: "2-digit"
    }).format(new Date());
  }

  // One Pagefind with the other bundles merged in: Pagefind keeps one WebAssembly
  // module per page, so two independent instances would corrupt each other.
  // Calls go one at a time for the same reason.
  var ready = bundles.length ? import(bundles[0] + "pagefind.js").then(function (pagefind) {
    return pagefind.options({ baseUrl: "/", excerptLength: 24 }).then(function () {
      pagefind.init();
      return Promise.all(bundles.slice(1).map(function (path) { return pagefind.mergeIndex(path); }));
    }).then(function () { return pagefind; });
  }) : Promise.reject(new Error("no search index"));
  var chain = Promise.resolve();
  function queued(call) {
    var result = chain.then(call);
    chain = result.catch(function () {});
    return result;
  }
  var names = (box.getAttribute("data-bundle-names") || "").split(" ").filter(Boolean);

  function readState() {
    var params = new URLSearchParams(window.location.search);
    var state = { q: params.get("q") || "", ouverts: params.get("ouverts") === "1",
      avant: params.get("avant") || "", tri: params.get("tri") || "", annee: params.get("annee") || "" };
    MULTI.forEach(function (name) { state[name] = params.getAll(name); });
    return state;
  }

  function showState(state) {
    form.elements.q.value = state.q;
    form.elements.ouverts.checked = state.ouverts;
    form.elements.avant.value = state.avant;
    form.elements.tri.value = state.tri;
    form.elements.annee.value = state.annee;
    MULTI.forEach(function (name) {
      form.querySelectorAll("input[name=" + name + "]").forEach(function (input) {
        input.checked = state[name].indexOf(input.value) >= 0;
      });
    });
  }

  function formState() {
    var data = new FormData(form);
    var state = { q: (data.get("q") || "").trim(), ouverts: data.get("ouverts") === "1",
      avant: data.get("avant") || "", tri: data.get("tri") || "", annee: data.get("annee") || "" };
    MULTI.forEach(function (name) { state[name] = data.getAll(name); });
    return state;
  }

  function address(state) {
    var params = new URLSearchParams();
    if (state.q) { params.set("q", state.q); }
    MULTI.forEach(function (name) { state[name].forEach(function (v) { params.append(name, v); }); });
    ["annee", "avant", "tri"].forEach(function (name) { if (state[name]) { params.set(name, state[name]); } });
    if (state.ouverts) { params.set("ouverts", "1"); }
    var query = params.toString();
    return window.location.pathname + (query ? "?" + query : "");
  }

  function closingDates(pagefind) {  // every closing date the index knows
    return queued(function () { return pagefind.filters(); }).then(function (filters) {
      return Object.keys((filters && filters.cloture) || {});
    });
  }

  function filtersFor(state, pagefind) {
    var filters = {};
    MULTI.forEach(function (name) {
      if (state[name].length) { filters[FIELDS[name]] = { any: state[name] }; }
    });
    if (state.annee) { filters.year = state.annee; }
    if (!state.ouverts && !state.avant) { return Promise.resolve(filters); }
    var low = state.ouverts ? today() : "";
    var high = state.avant || "9999-12-31";
    return closingDates(pagefind).then(function (dates) {
      filters.cloture = { any: dates.filter(function (d) { return d >= low && d <= high; }) };
      return filters;
    });
  }

  // Pagefind sorts within a bundle only: sorted, each bundle is asked for its own
  // results (filter "bundle") and the lists are merged by the results' metadata;
  // a plain word search comes back in one list, by relevance.
  function Merger(responses, sortKey) {
    this.lists = responses.map(function (r) { return r.results; });
    this.at = this.lists.map(function () { return 0; });
    this.sortKey = sortKey;
    this.total = this.lists.reduce(function (n, l) { return n + l.length; }, 0);
    if (!sortKey) {
      this.flat = [].concat.apply([], this.lists).sort(function (a, b) { return b.score - a.score; });
    }
    this.done = 0;
  }
  Merger.prototype.data = function (result) {
    if (!result.loaded) { result.loaded = result.data(); }
    return result.loaded;
  };
  Merger.prototype.next = function (n) {
    var self = this;
    if (!this.sortKey) {
      var slice = this.flat.slice(this.done, this.done + n);
      this.done += slice.length;
      return Promise.all(slice.map(function (r) { return self.data(r); }));
    }
    var out = [];
    var desc = this.sortKey === "date";
    function step() {
      if (out.length >= n) { return Promise.resolve(out); }
      var heads = [];
      self.lists.forEach(function (l, i) { if (self.at[i] < l.length) { heads.push(i); } });
      if (!heads.length) { return Promise.resolve(out); }
      return Promise.all(heads.map(function (i) { return self.data(self.lists[i][self.at[i]]); }))
        .then(function (datas) {
          var best = 0;
          for (var k = 1; k < heads.length; k++) {
            var a = datas[k].meta[self.sortKey] || "", b = datas[best].meta[self.sortKey] || "";
            if (desc ? a > b : a < b) { best = k; }
          }
          self.at[heads[best]] += 1;
          self.done += 1;
          out.push(datas[best]);
          return step();
        });
    }
    return step();
  };

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function excerpt(html) {  // Pagefind escapes the text and adds <mark>: keep nothing else
    return String(html || "").replace(/<(?!\/?mark>)[^>]*>/g, "");
  }

  function leftText(deadline) {
    var days = Math.round((Date.parse(deadline) - Date.parse(today())) / 86400000);
    if (days < 0) { return "clôturé"; }
    if (days === 0) { return "clôture aujourd'hui"; }
    return "J-" + days;
  }

  function render(data) {
    // Pagefind gives the page's path from the site root, sometimes with this origin.
    var url = "";
    try { url = new URL(data.url || "", window.location.origin).pathname; } catch (e) { return null; }
    if (!/^\/items\/[\w-]+\/[\w-]+\.html$/.test(url)) { return null; }
    var item = element("li", "result");
    var heading = element("h3");
    var link = element("a", "", data.meta.title || "(sans titre)");
    link.href = root + url.slice(1);
    heading.appendChild(link);
    item.appendChild(heading);
    var facts = [data.meta.type, data.meta.date_fr, data.meta.themes].filter(Boolean);
    item.appendChild(element("p", "meta", facts.join(" · ")));
    if (data.meta.deadline_fr) {
      item.appendChild(element("p", "deadline", "Date limite : " + data.meta.deadline_fr +
        " (" + leftText(data.meta.deadline) + ")"));
    }
    if (data.meta.event) { item.appendChild(element("p", "when", "Quand : " + data.meta.event)); }
    var text = element("p", "excerpt");
    text.innerHTML = excerpt(data.excerpt);
    item.appendChild(text);
    return item;
  }

  var current = null;
  function showMore() {
    var merger = current;
    if (!merger) { return Promise.resolve(); }
    return merger.next(PAGE).then(function (datas) {
      if (merger !== current) { return; }
      datas.forEach(function (data) { var node = render(data); if (node) { list.appendChild(node); } });
      more.hidden = merger.done >= merger.total;
    });
  }

  var searchId = 0;
  function search(state) {
    var id = ++searchId;
    var term = state.q || null;
    return ready.then(function (pagefind) {
      return filtersFor(state, pagefind).then(function (filters) {
        if (term === null && !Object.keys(filters).length) {
          current = null;
          list.textContent = "";
          more.hidden = true;
          count.textContent = "Saisissez un mot ou choisissez un filtre.";
          return;
        }
        var sortKey = state.tri === "echeance" ? "deadline" : (state.tri === "date" || !term ? "date" : "");
        var sort = {};
        if (sortKey) { sort[sortKey] = sortKey === "deadline" ? "asc" : "desc"; }
        var empty = filters.cloture && !filters.cloture.any.length;
        var searches = [];
        if (!empty && !sortKey) {
          searches = [queued(function () { return pagefind.search(term, { filters: filters }); })];
        } else if (!empty) {
          searches = names.map(function (name) {
            var own = Object.assign({ bundle: name }, filters);
            return queued(function () { return pagefind.search(term, { filters: own, sort: sort }); });
          });
        }
        return Promise.all(searches).then(function (responses) {
          if (id !== searchId) { return; }
          current = new Merger(responses, sortKey);
          list.textContent = "";
          var n = current.total;
          count.textContent = n === 0 ? "Aucun résultat." : n + (n > 1 ? " résultats" : " résultat") +
            (term ? " pour « " + term + " »" : "") + ".";
          return showMore();
        });
      });
    }).catch(function () {
      count.textContent = "La recherche n'a pas pu être chargée. Parcourez les thèmes ou le calendrier.";
    });
  }

  var summary = form.querySelector("summary");
  var summaryText = summary.textContent;
  function showActive(state) {  // the closed filters still say how many apply
    var active = MULTI.reduce(function (n, name) { return n + state[name].length; }, 0) +
      (state.annee ? 1 : 0) + (state.ouverts ? 1 : 0) + (state.avant ? 1 : 0);
    summary.textContent = summaryText + (active ? " (" + active + (active > 1 ? " actifs)" : " actif)") : "");
  }

  var timer = null;
  function changed() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var state = formState();
      window.history.replaceState(null, "", address(state));
      showActive(state);
      search(state);
    }, 150);
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function (event) { event.preventDefault(); changed(); });
  more.addEventListener("click", showMore);
  if (window.matchMedia && window.matchMedia("(max-width: 40rem)").matches) {
    form.querySelector("details").open = false;  // phones: the results first
  }
  var state = readState();
  showState(state);
  showActive(state);
  search(state);
})();
