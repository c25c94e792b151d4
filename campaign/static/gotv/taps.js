// Taps on the tick-off page and the chase list, kept on the phone until the server
// has them. Each tap gets its own key; the server applies a key once, so sending a
// tap again (after a lost answer, or replaying the queue) never double-counts it.
// Without JavaScript the same forms post normally.
(function () {
  "use strict";
  var root = document.querySelector("[data-tap-queue]");
  if (!root) return;
  var store = "turnout.taps." + root.dataset.tapQueue;
  var statusEl = document.getElementById("tap-queue");
  var sending = false;
  var timer = null;

  function load() {
    try { return JSON.parse(window.localStorage.getItem(store)) || []; } catch (e) { return []; }
  }
  function save(queue) {
    window.localStorage.setItem(store, JSON.stringify(queue));
    render(queue);
  }
  function render(queue, problem) {
    if (!statusEl) return;
    var n = queue.length;
    statusEl.hidden = n === 0 && !problem;
    if (problem) { statusEl.textContent = problem; return; }
    var text = n === 1 ? "1 change waiting to be sent" : n + " changes waiting to be sent";
    if (n && !navigator.onLine) text += " (no connection: they are kept on this phone and sent when it returns)";
    statusEl.textContent = text;
  }
  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function rowFor(item) { return document.getElementById("c" + item.contact); }
  function showError(row, message) {
    if (!row) return;
    var el = row.querySelector(".tap-error");
    if (el) { el.textContent = message; el.hidden = !message; }
  }
  function counter(id, delta) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = Math.max(0, parseInt(el.textContent, 10) + delta);
  }
  var LEAVES = {voted: true, wont_vote: true};

  // What the row shows as soon as it is tapped, online or not.
  function applyLocal(row, item, pending) {
    if (!row) return;
    showError(row, "");
    row.classList.toggle("is-pending", pending);
    var state = row.querySelector(".state");
    if (state) state.textContent = item.label + (pending ? " (waiting to be sent)" : "");
    row.querySelectorAll("form[data-tap] button[name=result]").forEach(function (b) {
      b.classList.toggle("current", b.value === item.result);
      b.setAttribute("aria-pressed", b.value === item.result ? "true" : "false");
    });
    if (row.dataset.chase !== undefined && LEAVES[item.result] && !row.hidden) {
      row.hidden = true;
      counter("chase-count", -1);
    }
  }

  function confirmed(row, item, data) {
    if (!row) return;
    row.classList.remove("is-pending");
    var state = row.querySelector(".state");
    if (state) state.textContent = data.result === "not_reached" ? data.label : data.status_label;
    row.dataset.statusLabel = data.status_label;
    if (row.dataset.status !== undefined) {
      var was = row.dataset.status;
      if (was !== "voted" && data.status === "voted") counter("voted-count", 1);
      if (was === "voted" && data.status !== "voted") counter("voted-count", -1);
      row.dataset.status = data.status;
    }
  }

  function failed(row, item, message) {
    if (!row) { render(load(), message); return; }
    row.classList.remove("is-pending");
    if (row.hidden) { row.hidden = false; counter("chase-count", 1); }
    var state = row.querySelector(".state");
    if (state && row.dataset.statusLabel) state.textContent = row.dataset.statusLabel;
    row.querySelectorAll("form[data-tap] button[name=result]").forEach(function (b) {
      var now = row.dataset.status !== undefined && b.value === row.dataset.status;
      b.classList.toggle("current", now);
      b.setAttribute("aria-pressed", now ? "true" : "false");
    });
    showError(row, message);
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(flush, ms);
  }

  function flush() {
    if (sending) return;
    var queue = load();
    if (!queue.length) { render(queue); return; }
    sending = true;
    var item = queue[0];
    var body = new FormData();
    body.set("key", item.key);
    body.set("result", item.result);
    body.set("note", item.note || "");
    body.set("csrfmiddlewaretoken", csrf());
    fetch(item.url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": csrf()}
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (response.status === 404) {
        // Gone from this lead's list (moved, consent withdrawn): sending again won't help.
        return {status: 404, data: {ok: false, error: "Not saved: this supporter is no longer on your list. Reload the page."}};
      }
      if (response.status >= 500 || type.indexOf("application/json") !== 0) {
        var err = new Error("not sent");
        err.signIn = response.status === 403 || response.redirected;
        throw err;
      }
      return response.json().then(function (data) { return {status: response.status, data: data}; });
    }).then(function (answer) {
      save(load().filter(function (x) { return x.key !== item.key; }));
      var row = rowFor(item);
      if (answer.data.ok) confirmed(row, item, answer.data);
      else failed(row, item, answer.data.error || "This change was not saved.");
      sending = false;
      flush();
    }).catch(function (err) {
      sending = false;
      render(load(), err && err.signIn ? "Changes waiting: sign in again to send them." : null);
      schedule(5000);
    });
  }

  // "Set all ticked" queues one tap per ticked supporter, so it works offline too and
  // each is applied once, like a single tap.
  function bulk(form) {
    var select = form.querySelector("[name=status]");
    var ticked = document.querySelectorAll("input[name=contact][form=" + form.id + "]:checked");
    if (!select || !ticked.length) return false;
    var option = select.options[select.selectedIndex];
    var queue = load();
    var items = [];
    Array.prototype.forEach.call(ticked, function (box) {
      var one = document.querySelector("form[data-tap][data-contact='" + box.value + "']");
      if (!one) return;
      var item = {
        key: newKey(), url: one.action, contact: box.value,
        result: select.value, label: option ? option.textContent.trim() : select.value, note: ""
      };
      queue.push(item);
      items.push(item);
      box.checked = false;
    });
    if (!items.length) return false;
    save(queue);
    items.forEach(function (item) { applyLocal(rowFor(item), item, true); });
    flush();
    return true;
  }

  document.addEventListener("submit", function (event) {
    if (event.target.id === "bulk" && event.target.dataset.tapBulk !== undefined) {
      if (bulk(event.target)) event.preventDefault();
      return;
    }
    var form = event.target.closest("form[data-tap]");
    if (!form) return;
    var button = event.submitter;
    if (!button || button.name !== "result" || button.disabled) return;
    event.preventDefault();
    var note = form.querySelector("[name=note]");
    var item = {
      key: newKey(), url: form.action, contact: form.dataset.contact,
      result: button.value, label: button.dataset.label || button.textContent.trim(),
      note: note ? note.value : ""
    };
    var queue = load();
    queue.push(item);
    save(queue);
    applyLocal(rowFor(item), item, true);
    if (note) note.value = "";
    flush();
  });

  window.addEventListener("online", flush);
  window.addEventListener("offline", function () { render(load()); });
  var waiting = load();
  waiting.forEach(function (item) { applyLocal(rowFor(item), item, true); });
  render(waiting);
  flush();
})();
