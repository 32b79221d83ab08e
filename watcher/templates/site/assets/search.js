// Pagefind UI on the search page. Result URLs are made relative to this page,
// so the site works from any sub-path; the query comes from ?q= (header form).
window.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("pagefind");
  if (!box || typeof PagefindUI === "undefined") { return; }
  var root = box.getAttribute("data-root") || "./";
  // Absolute URLs: Pagefind resolves a relative bundlePath against its own script.
  var bundles = (box.getAttribute("data-bundles") || "").split(" ").filter(Boolean)
    .map(function (path) { return new URL(path, document.baseURI).href; });
  if (!bundles.length) { return; }
  var fix = function (url) { return url && url.charAt(0) === "/" ? root + url.slice(1) : url; };
  var ui = new PagefindUI({
    element: "#pagefind",
    bundlePath: bundles[0],
    mergeIndex: bundles.slice(1).map(function (path) { return { bundlePath: path }; }),
    debounceTimeoutMs: 60,
    showImages: false,
    showSubResults: false,
    resetStyles: false,
    processResult: function (result) {
      result.url = fix(result.url);
      if (result.sub_results) {
        result.sub_results.forEach(function (sub) { sub.url = fix(sub.url); });
      }
      return result;
    }
  });
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) { ui.triggerSearch(query); }
});
