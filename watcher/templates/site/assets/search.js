// The search page: Pagefind's JavaScript API over every bundle of the index
// (per year, per quarter, per month of the current quarter, newest first),
// filters that work without a word, sort by date or closing date. The form's
// state lives in the address (?q=…&theme=…), so a search can be bookmarked and
// the header's box lands here with ?q=. Result links are made relative to this
// page: the site works from any sub-path. The results carry aria-busy from a
// change of the form until the answer to it is on the page.
(function () {
  "use strict";
  var form = document.getElementById("recherche");
  var box = document.getElementById("resultats");
  if (!form || !box) { return; }
  // The page comes with the form and the results hidden and a note for readers
  // without JavaScript: the script that makes the form work shows it.
  form.hidden = false;
  box.hidden = false;
  Array.prototype.forEach.call(document.querySelectorAll(".no-search"), function (note) { note.hidden = true; });
  var root = box.getAttribute("data-root") || "./";
  // The index's bundles, newest first, as the build wrote them: where, the tag of
  // their version (the address the page preloads), the closing dates they hold.
  var bundles = Array.prototype.map.call(box.querySelectorAll(".index-bundles span"), function (node) {
    return {
      name: node.getAttribute("data-name"),
      path: new URL(node.getAttribute("data-path"), document.baseURI).href,
      tag: node.getAttribute("data-tag"),
      closing: (node.getAttribute("data-closing") || "").split(" ").filter(Boolean)
    };
  });
  // A word of every record: filters alone search for it (a search with no word
  // would make Pagefind load the whole index).
  var every = box.getAttribute("data-every") || "";
  var count = box.querySelector(".count");
  var list = box.querySelector(".results");
  var more = box.querySelector(".more");
  var PAGE = 20;
  var FIRST = 5;  // shown as soon as they are there, the rest of the page follows
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
  // In this page rather than a worker: its fetches find what the page preloaded.
  var ready = bundles.length ? import(bundles[0].path + "pagefind.js").then(function (pagefind) {
    var options = { baseUrl: "/", excerptLength: 24, metaCacheTag: bundles[0].tag, noWorker: true };
    return pagefind.options(options).then(function () {
      pagefind.init();
      return Promise.all(bundles.slice(1).map(function (b) {
        return pagefind.mergeIndex(b.path, { metaCacheTag: b.tag, baseUrl: "/", excerptLength: 24 });
      }));
    }).then(function () { mark("search-index-ready"); return pagefind; });
  }) : Promise.reject(new Error("no search index"));
  function mark(name) {  // for bench/site.py: when the index was ready, when a search answered
    if (window.performance && performance.mark) { performance.mark(name); }
  }
  var chain = Promise.resolve();
  function queued(call) {
    var result = chain.then(call);
    chain = result.catch(function () {});
    return result;
  }

  function readState() {
    var params = new URLSearchParams(window.location.search);
    var state = { q: (params.get("q") || "").trim(), ouverts: params.get("ouverts") === "1",
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

  function filtersFor(state) {
    var filters = {};
    MULTI.forEach(function (name) {
      if (state[name].length) { filters[FIELDS[name]] = { any: state[name] }; }
    });
    if (state.annee) { filters.year = state.annee; }
    if (state.ouverts || state.avant) {
      var low = state.ouverts ? today() : "";
      var high = state.avant || "9999-12-31";
      var dates = {};
      bundles.forEach(function (b) {
        b.closing.forEach(function (d) { if (d >= low && d <= high) { dates[d] = true; } });
      });
      filters.cloture = { any: Object.keys(dates).sort() };
    }
    return filters;
  }

  function bundlesFor(filters) {  // the bundles that may hold results
    if (!filters.cloture) { return bundles; }
    return bundles.filter(function (b) {
      return b.closing.some(function (d) { return filters.cloture.any.indexOf(d) >= 0; });
    });
  }

  function load(result) {  // a result's data (title, address, metadata, excerpt), once
    if (!result.loaded) { result.loaded = result.data(); }
    return result.loaded;
  }

  // Three ways to walk the results, each with next(n) -> Promise of data:
  // by relevance (one search over every bundle); by date (the bundles hold
  // consecutive periods, newest first: each is asked in turn, sorted, only when
  // the one before is used up); by closing date (every bundle asked, sorted,
  // the lists merged on the closing date). Pagefind sorts within a bundle only.
  function Relevance(response) {
    this.results = response.results;
    this.total = this.results.length;
    this.done = 0;
  }
  Relevance.prototype.next = function (n) {
    var slice = this.results.slice(this.done, this.done + n);
    this.done += slice.length;
    return Promise.all(slice.map(load));
  };

  function ByDate(pagefind, term, filters, total) {
    this.pagefind = pagefind; this.term = term; this.filters = filters;
    this.names = bundlesFor(filters).map(function (b) { return b.name; });
    this.total = total; this.done = 0; this.bundle = 0; this.results = null; this.at = 0;
  }
  ByDate.prototype.next = function (n) {
    var self = this;
    var out = [];
    function step() {
      if (out.length >= n || self.bundle >= self.names.length) { return Promise.all(out.map(load)); }
      if (self.results === null) {
        var own = Object.assign({ bundle: self.names[self.bundle] }, self.filters);
        return queued(function () {
          return self.pagefind.search(self.term, { filters: own, sort: { date: "desc" } });
        }).then(function (response) { self.results = response.results; self.at = 0; return step(); });
      }
      while (out.length < n && self.at < self.results.length) { out.push(self.results[self.at++]); }
      if (self.at >= self.results.length) { self.bundle += 1; self.results = null; }
      return step();
    }
    return step().then(function (datas) { self.done += datas.length; return datas; });
  };

  function ByDeadline(responses) {
    this.lists = responses.map(function (r) { return r.results; });
    this.at = this.lists.map(function () { return 0; });
    this.total = this.lists.reduce(function (n, l) { return n + l.length; }, 0);
    this.done = 0;
  }
  ByDeadline.prototype.next = function (n) {
    var self = this;
    // Each list is sorted: the next n of every list hold the next n of all of them.
    var ahead = this.lists.map(function (l, i) { return l.slice(self.at[i], self.at[i] + n); });
    return Promise.all(ahead.map(function (l) { return Promise.all(l.map(load)); }))
      .then(function (datas) {
        var out = [];
        var taken = datas.map(function () { return 0; });
        while (out.length < n) {
          var best = -1;
          for (var i = 0; i < datas.length; i++) {
            if (taken[i] >= datas[i].length) { continue; }
            if (best < 0 || (datas[i][taken[i]].meta.deadline || "") < (datas[best][taken[best]].meta.deadline || "")) {
              best = i;
            }
          }
          if (best < 0) { break; }
          out.push(datas[best][taken[best]]);
          taken[best] += 1;
        }
        taken.forEach(function (k, i) { self.at[i] += k; });
        self.done += out.length;
        return out;
      });
  };

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function excerpt(html) {  // Pagefind escapes the text and adds <mark>: keep nothing else
    var text = String(html || "").replace(/<(?!\/?mark>)[^>]*>/g, "");
    if (every) {  // the word every record holds is no part of the text
      text = text.replace(new RegExp("(<mark>[^<]*)?" + every + "[^<\\s]*(</mark>)?", "g"), "");
    }
    return text.replace(/^[\s.]+/, "");
  }

  function leftText(deadline) {
    var days = Math.round((Date.parse(deadline) - Date.parse(today())) / 86400000);
    if (days < 0) { return "clôturé"; }
    if (days === 0) { return "clôture aujourd'hui"; }
    return "J-" + days;
  }

  function render(data) {
    // Pagefind gives the page's path from the index's root (sometimes with this
    // origin, or the folder the site is served from): keep items/<part>/<uid>.html.
    var path = "";
    try { path = new URL(data.url || "", window.location.origin).pathname; } catch (e) { return null; }
    var found = /\/(items\/[\w-]+\/[\w-]+\.html)$/.exec(path);
    if (!found) { return null; }
    var item = element("li", "result");
    var heading = element("h3");
    var link = element("a", "", data.meta.title || "(sans titre)");
    link.href = root + found[1];
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
  function show(walker, n) {
    return walker.next(n).then(function (datas) {
      if (walker !== current) { return; }
      datas.forEach(function (data) { var node = render(data); if (node) { list.appendChild(node); } });
      more.hidden = walker.done >= walker.total;
    });
  }
  function showMore() {
    var walker = current;
    if (!walker) { return Promise.resolve(); }
    return show(walker, PAGE);
  }

  function counted(n, term) {
    return n === 0 ? "Aucun résultat." : n + (n > 1 ? " résultats" : " résultat") +
      (term ? " pour « " + term + " »" : "") + ".";
  }

  var searchId = 0;
  var timer = null;
  function answered(id) {  // the last change's answer is on the page
    if (id === searchId && timer === null) { box.removeAttribute("aria-busy"); }
  }
  function search(state) {
    var id = ++searchId;
    box.setAttribute("aria-busy", "true");
    var term = state.q || null;
    var word = term || every || null;
    var filters = filtersFor(state);
    if (term === null && !Object.keys(filters).length) {
      current = null;
      list.textContent = "";
      more.hidden = true;
      count.textContent = "Saisissez un mot ou choisissez un filtre.";
      answered(id);
      return Promise.resolve();
    }
    var mode = state.tri === "echeance" ? "deadline" : (state.tri === "date" || !term ? "date" : "");
    return ready.then(function (pagefind) {
      if (filters.cloture && !filters.cloture.any.length) {
        return { total: 0, done: 0, next: function () { return Promise.resolve([]); } };
      }
      if (mode === "deadline") {
        return Promise.all(bundlesFor(filters).map(function (b) {
          var own = Object.assign({ bundle: b.name }, filters);
          return queued(function () { return pagefind.search(word, { filters: own, sort: { deadline: "asc" } }); });
        })).then(function (responses) { return new ByDeadline(responses); });
      }
      return queued(function () { return pagefind.search(word, { filters: filters }); })
        .then(function (response) {
          return mode === "date" ? new ByDate(pagefind, word, filters, response.results.length)
            : new Relevance(response);
        });
    }).then(function (walker) {
      if (id !== searchId) { return; }
      mark("search-answered");
      current = walker;
      list.textContent = "";
      count.textContent = counted(walker.total, term);
      return show(walker, FIRST).then(function () { return show(walker, PAGE - FIRST); });
    }).catch(function () {
      count.textContent = "La recherche n'a pas pu être chargée. Parcourez les thèmes ou le calendrier.";
    }).then(function () { answered(id); });
  }

  var summary = form.querySelector("summary");
  var summaryText = summary.textContent;
  function showActive(state) {  // the closed filters still say how many apply
    var active = MULTI.reduce(function (n, name) { return n + state[name].length; }, 0) +
      (state.annee ? 1 : 0) + (state.ouverts ? 1 : 0) + (state.avant ? 1 : 0);
    summary.textContent = summaryText + (active ? " (" + active + (active > 1 ? " actifs)" : " actif)") : "");
  }

  function changed() {
    window.clearTimeout(timer);
    box.setAttribute("aria-busy", "true");
    timer = window.setTimeout(function () {
      timer = null;
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
  // The address may ask for what the form cannot show (?avant=garbage, ?theme=nope,
  // a year with no item): a filter the reader could neither see nor untick, and no
  // result. The form keeps what it can show; the search and the address follow it.
  showState(readState());
  var state = formState();
  var clean = address(state);
  if (clean !== window.location.pathname + window.location.search) {
    window.history.replaceState(null, "", clean + window.location.hash);
  }
  showActive(state);
  search(state);
})();
