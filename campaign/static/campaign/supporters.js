// Supporter list: after htmx swaps in a new page of results, move focus to the
// results so keyboard and screen-reader users start reading from the top.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "supporter-results") {
      var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
      if (trigger && trigger.closest && trigger.closest(".pager")) {
        var summary = document.getElementById("result-summary");
        if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
      }
    }
  });
})();
