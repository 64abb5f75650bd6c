// Liaison web UI: keyboard navigation, deadline countdowns, the triage queue's keys,
// upload progress. Hand-written; no framework.
(function () {
  "use strict";
  var pendingG = false;

  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".nav-row")); }

  function selected() { return document.querySelector(".nav-row.sel"); }

  function select(delta) {
    var r = rows();
    if (!r.length) return;
    var cur = r.indexOf(selected());
    var next = cur < 0 ? 0 : Math.max(0, Math.min(r.length - 1, cur + delta));
    if (cur >= 0) r[cur].classList.remove("sel");
    r[next].classList.add("sel");
    r[next].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    var s = selected();
    if (!s) return false;
    var a = s.querySelector("a[href]");
    if (a) { window.location.href = a.getAttribute("href"); return true; }
    return false;
  }

  function toggleHelp() {
    var h = document.getElementById("keyhelp");
    if (h) { h.remove(); return; }
    var f = document.querySelector("footer.keys");
    var t = document.getElementById("triage-help");
    h = document.createElement("div");
    h.id = "keyhelp";
    h.className = "keyhelp";
    h.textContent = (f ? f.textContent : "") + (t ? "\n" + t.textContent : "");
    h.style.whiteSpace = "pre-line";
    document.body.appendChild(h);
  }

  // Triage queue: post an action for the selected alert, back to the queue.
  function postAlert(id, action, fields) {
    var q = document.getElementById("queue");
    var f = document.createElement("form");
    f.method = "post";
    f.action = "/ui/alert/" + encodeURIComponent(id) + "/act";
    var all = Object.assign({ csrf: q.getAttribute("data-csrf"), action: action, back: "queue" }, fields || {});
    Object.keys(all).forEach(function (k) {
      var i = document.createElement("input");
      i.type = "hidden"; i.name = k; i.value = all[k];
      f.appendChild(i);
    });
    document.body.appendChild(f);
    f.submit();
  }

  function dismissInline(row) {
    if (row.querySelector(".dismiss-inline")) return;
    var id = row.getAttribute("data-id");
    var td = row.lastElementChild;
    var f = document.createElement("form");
    f.className = "dismiss-inline inline";
    var i = document.createElement("input");
    i.name = "reason"; i.required = true; i.placeholder = "reason"; i.id = "queue-reason";
    f.appendChild(i);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      if (i.value.trim()) postAlert(id, "dismiss", { reason: i.value });
    });
    i.addEventListener("keydown", function (e) { if (e.key === "Escape") { f.remove(); } });
    td.appendChild(f);
    i.focus();
  }

  function triageKey(k) {
    if (!document.getElementById("queue")) return false;
    var s = selected();
    if (!s || !s.classList.contains("alert-row")) return false;
    var id = s.getAttribute("data-id");
    if (k === "a") { postAlert(id, "ack"); return true; }
    if (k === "p") { postAlert(id, "promote"); return true; }
    if (k === "d") { dismissInline(s); return true; }
    if (k === "e") { window.location.href = "/ui/alert/" + encodeURIComponent(id) + "#form-escalate"; return true; }
    return false;
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var k = e.key;
    if (pendingG) {
      pendingG = false;
      var link = document.querySelector("header nav a[data-key='" + k + "']") ||
                 document.querySelector("main a[data-key='" + k + "']");
      if (link) { e.preventDefault(); window.location.href = link.getAttribute("href"); }
      return;
    }
    if (k === "/") { var q = document.getElementById("q"); if (q) { e.preventDefault(); q.focus(); q.select(); } return; }
    if (k === "g") { pendingG = true; setTimeout(function () { pendingG = false; }, 1500); return; }
    if (k === "j") { e.preventDefault(); select(1); return; }
    if (k === "k") { e.preventDefault(); select(-1); return; }
    if (k === "Enter") { if (openSelected()) e.preventDefault(); return; }
    if (k === "?") { toggleHelp(); return; }
    if (triageKey(k)) e.preventDefault();
  });

  // Deadline countdowns.
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      if (el.hasAttribute("data-paused")) return;
      var left = parseInt(el.getAttribute("data-deadline"), 10) - now;
      var m = Math.floor(Math.abs(left) / 60000);
      var mm = ("0" + (m % 60)).slice(-2);
      el.textContent = (left < 0 ? "-" : "") + Math.floor(m / 60) + "h " + mm + "m";
      if (left < 0) { el.classList.remove("ok", "late"); el.classList.add("overdue"); }
    });
  }
  setInterval(tick, 30000);

  // Upload with progress, into the streamed import (one transaction).
  function setupUpload() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var file = document.getElementById("upload-file").files[0];
      if (!file) return;
      var bar = document.getElementById("upload-progress");
      var out = document.getElementById("upload-report");
      bar.hidden = false; bar.value = 0; out.textContent = "";
      var x = new XMLHttpRequest();
      x.open("POST", "/api/v1/import");
      x.setRequestHeader("Content-Type", "application/json");
      x.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
      x.upload.onprogress = function (ev) { if (ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total); };
      x.onload = function () {
        bar.value = 100;
        var text = x.responseText;
        try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (err) { /* shown as is */ }
        out.textContent = "HTTP " + x.status + "\n" + text;
        out.setAttribute("data-status", String(x.status));
      };
      x.onerror = function () { out.textContent = "upload failed"; out.setAttribute("data-status", "0"); };
      x.send(file);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setupUpload);
  else setupUpload();
})();
