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
    i.name = "reason"; i.required = true; i.placeholder = (document.getElementById("queue").getAttribute("data-t-reason") || "reason"); i.id = "queue-reason";
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

  // Upload with progress: the server tells a STIX bundle from a MISP event and
  // imports it in one transaction under the chosen label; the report is shown as a
  // summary and tables of refusals and warnings, each with its JSON path.
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function table(id, head, rows) {
    var t = el("table", null, "list"); t.id = id;
    var tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", h)); });
    var th = el("thead"); th.appendChild(tr); t.appendChild(th);
    var tb = el("tbody");
    rows.forEach(function (r) {
      var row = el("tr");
      // The path is code; the reason is the validator's or converter's message (in
      // English, as the CLI and the API give it).
      r.forEach(function (c, i) { row.appendChild(el("td", c, i === 0 ? "id" : (i === r.length - 1 ? "error-text" : ""))); });
      tb.appendChild(row);
    });
    t.appendChild(tb);
    return t;
  }

  function showReport(form, status, rep) {
    var T = function (k) { return form.getAttribute("data-t-" + k) || k; };
    var box = document.getElementById("upload-result");
    box.textContent = ""; box.hidden = false;
    if (status !== 200 || !rep || rep.new === undefined) {
      var msg = rep && (rep.description || rep.title) ? (rep.description || rep.title) : "HTTP " + status;
      var p = el("p", T("failed") + ": " + msg, "error"); p.id = "upload-error"; p.setAttribute("role", "alert");
      box.appendChild(p);
      return;
    }
    var refused = rep.invalid || [], warnings = rep.warnings || [];
    var dl = el("dl", null, "summary"); dl.id = "upload-summary";
    [["format", (rep.format || "").toUpperCase(), "fmt"], ["new", rep.new, "new"], ["updated", rep.updated, "updated"],
     ["unchanged", rep.unchanged, "unchanged"], ["refused", refused.length, "refused"], ["warnings", warnings.length, "warnings"]]
      .forEach(function (x) {
        dl.appendChild(el("dt", T(x[0])));
        var dd = el("dd", x[1]); dd.setAttribute("data-count", x[2]); dl.appendChild(dd);
      });
    box.appendChild(dl);
    if (rep.container) {
      var a = el("a", T("open")); a.href = "/ui/object/" + encodeURIComponent(rep.container); a.id = "upload-open";
      var pa = el("p"); pa.appendChild(a); box.appendChild(pa);
    }
    if (refused.length) {
      box.appendChild(el("h2", T("refused")));
      box.appendChild(table("upload-refusals", [T("path"), T("id"), T("reason")],
        refused.map(function (r) { return [r.path, r.id || "", r.reason]; })));
    }
    if (warnings.length) {
      box.appendChild(el("h2", T("warnings")));
      box.appendChild(table("upload-warnings", [T("path"), T("reason")],
        warnings.map(function (w) { return [w.path, w.message]; })));
    }
  }

  function setupUpload() {
    var form = document.getElementById("upload-form");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var file = document.getElementById("upload-file").files[0];
      if (!file) return;
      var bar = document.getElementById("upload-progress");
      var out = document.getElementById("upload-report");
      var state = document.getElementById("upload-state");
      var box = document.getElementById("upload-result");
      bar.hidden = false; bar.value = 0; out.textContent = ""; box.hidden = true;
      out.removeAttribute("data-status");
      var q = "?format=" + encodeURIComponent(document.getElementById("upload-format").value) +
              "&label=" + encodeURIComponent(document.getElementById("upload-label").value.trim());
      var x = new XMLHttpRequest();
      x.open("POST", "/ui/upload/import" + q);
      x.setRequestHeader("Content-Type", "application/json");
      x.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
      x.upload.onprogress = function (ev) {
        if (ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total);
        state.textContent = Math.round(ev.loaded / 1024) + " / " + Math.round(ev.total / 1024) + " KiB";
      };
      x.upload.onload = function () { state.textContent = form.getAttribute("data-t-importing"); };
      x.onload = function () {
        bar.value = 100;
        state.textContent = "";
        var rep = null;
        try { rep = JSON.parse(x.responseText); } catch (err) { rep = null; }
        out.textContent = "HTTP " + x.status + "\n" + (rep ? JSON.stringify(rep, null, 2) : x.responseText);
        showReport(form, x.status, rep);
        out.setAttribute("data-status", String(x.status));
      };
      x.onerror = function () {
        state.textContent = "";
        showReport(form, 0, null);
        out.setAttribute("data-status", "0");
      };
      x.send(file);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setupUpload);
  else setupUpload();
})();
