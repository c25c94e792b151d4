// Follow a district pack being built; reload when it is ready or has failed.
(function () {
  var state = document.getElementById("pack-state");
  if (!state || state.dataset.poll !== "1") { return; }
  setTimeout(function poll() {
    fetch("?format=json", {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.ready || d.status === "failed") { location.reload(); return; }
        document.getElementById("pack-percent").textContent = d.percent;
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }, 1500);
})();
