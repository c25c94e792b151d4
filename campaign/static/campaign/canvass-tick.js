// Tap to set: post in the background and update the row, no page reload. Without
// JavaScript (or if the request fails) the forms post normally.
document.querySelectorAll("form.one").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter, data = new FormData(form);
    data.set("status", button.value);
    var li = form.closest("li"), problem = li.querySelector(".row-error");
    fetch(location.pathname, {method: "POST", body: data, headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (!d.ok) { problem.textContent = d.error; problem.hidden = false; return; }
        problem.hidden = true;
        var was = li.dataset.status;
        li.dataset.status = d.status;
        li.querySelector(".state").textContent = d.label;
        form.querySelectorAll("button").forEach(function (b) { b.classList.toggle("current", b.value === d.status); });
        var count = document.getElementById("voted-count"), n = parseInt(count.textContent, 10);
        if (was !== "voted" && d.status === "voted") n++;
        if (was === "voted" && d.status !== "voted") n--;
        count.textContent = n;
      })
      .catch(function () { form.submit(); });
  });
});
