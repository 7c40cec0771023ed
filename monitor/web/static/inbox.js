// The review inbox's only script: keyboard triage, live draft checks, copy. Every action also works
// without it (plain forms). Served by the app itself; the page's CSP allows no other script.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function flash(text, bad) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text;
    box.className = bad ? "bad" : "ok";
  }

  function post(url, data) {
    var body = new FormData();
    Object.keys(data).forEach(function (k) { body.append(k, data[k]); });
    body.append("csrf", csrf);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    });
  }

  // Inbox: j/k to move, a/r/d to set a status, e to edit the draft, x to select, o/Enter to open.
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.inbox tr.item"));
  var current = -1;
  function select(i) {
    if (!rows.length) return;
    i = Math.max(0, Math.min(rows.length - 1, i));
    if (current >= 0) rows[current].classList.remove("current");
    current = i;
    rows[i].classList.add("current");
    rows[i].scrollIntoView({ block: "nearest" });
  }
  var keyStatus = { a: "acknowledged", r: "replied", d: "dismissed" };
  function setStatus(row, status) {
    var pk = row.getAttribute("data-pk");
    post("/m/" + pk + "/status", { status: status, version: row.getAttribute("data-version") }).then(function (res) {
      if (res.status === 200) {
        row.querySelector(".status").textContent = res.body.status;
        row.setAttribute("data-version", res.body.version);
        var box = row.querySelector('input[name="item"]');
        if (box) box.value = pk + "@" + res.body.version;
        row.classList.add("done");
        flash("Marked " + res.body.status + ".", false);
      } else if (res.status === 409) {
        flash("Not changed: " + res.body.error + " It is now " + res.body.theirs + "; reload to see it.", true);
      } else {
        flash(res.body.error || ("Not changed (HTTP " + res.status + ")."), true);
      }
    });
  }
  if (rows.length && document.getElementById("bulk")) {
    document.addEventListener("keydown", function (ev) {
      var tag = (ev.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      var row = current >= 0 ? rows[current] : null;
      if (ev.key === "j") { select(current + 1); ev.preventDefault(); }
      else if (ev.key === "k") { select(current - 1); ev.preventDefault(); }
      else if (row && keyStatus[ev.key]) { setStatus(row, keyStatus[ev.key]); ev.preventDefault(); }
      else if (row && ev.key === "e") { window.location.href = "/m/" + row.getAttribute("data-pk") + "#draft"; }
      else if (row && (ev.key === "o" || ev.key === "Enter")) { window.location.href = "/m/" + row.getAttribute("data-pk"); }
      else if (row && ev.key === "x") {
        var box = row.querySelector('input[name="item"]');
        if (box) box.checked = !box.checked;
      }
    });
    var all = document.getElementById("select-all");
    if (all) all.addEventListener("change", function () {
      document.querySelectorAll('input[name="item"]').forEach(function (b) { b.checked = all.checked; });
    });
  }

  // A mention: the draft is checked as it is typed, with the same rules as `replies lint`.
  var form = document.getElementById("draft-form");
  var text = document.getElementById("draft-text");
  if (form && text) {
    // after load: the browser's own jump to #draft comes after the deferred script and would keep the focus
    if (window.location.hash === "#draft") window.addEventListener("load", function () { text.focus(); });
    var timer = null;
    var lengthLine = document.getElementById("lint-length");
    var list = document.getElementById("lint-problems");
    text.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        post(form.getAttribute("data-lint"), { text: text.value }).then(function (res) {
          if (res.status !== 200) return;
          lengthLine.textContent = res.body.length + " / " + res.body.limit + " characters";
          lengthLine.className = res.body.length > res.body.limit ? "bad" : "";
          list.textContent = "";
          var problems = res.body.problems.length ? res.body.problems : ["passes every check"];
          problems.forEach(function (p) {
            var li = document.createElement("li");
            li.textContent = p;  // text, never HTML
            if (!res.body.problems.length) li.className = "ok";
            list.appendChild(li);
          });
          list.setAttribute("data-checked", text.value.length);
        });
      }, 200);
    });
    var copy = document.getElementById("copy-draft");
    if (copy) copy.addEventListener("click", function () {
      if (navigator.clipboard) navigator.clipboard.writeText(text.value).then(function () { flash("Copied.", false); });
      else { text.select(); document.execCommand("copy"); flash("Copied.", false); }
    });
  }
})();
