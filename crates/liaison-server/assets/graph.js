// Neighbourhood graph: canvas, hand-written force layout. Repulsion is computed
// between nodes in neighbouring grid cells only (O(n) per step), and the layout runs
// in slices of a few milliseconds per animation frame, so a thousand nodes never
// freeze the page. Click expands a node (one more hop from the store, label-filtered
// by the server); double-click opens it.
(function () {
  "use strict";
  var canvas = document.getElementById("graph");
  if (!canvas) return;
  var ctx = canvas.getContext("2d");
  var start = canvas.getAttribute("data-start");
  var depth = canvas.getAttribute("data-depth") || "2";
  var max = canvas.getAttribute("data-max") || "300";
  var info = document.getElementById("ginfo");
  var statEl = document.getElementById("gstat");

  var nodes = [], edges = [], byId = {};
  var view = { x: 0, y: 0, k: 1 };
  var alpha = 1;
  var SLICE_MS = 6;
  var stats = { nodes: 0, edges: 0, frames: 0, maxFrameMs: 0, maxLayoutMs: 0, maxDrawMs: 0, steps: 0, settledMs: null, loadedAt: 0, expanded: 0 };
  window.liaisonGraph = { stats: stats, nodes: nodes, edges: edges, byId: byId };

  var COLORS = { "intrusion-set": "#c8102e", "threat-actor": "#a4161a", malware: "#7b2cbf", tool: "#5a189a", campaign: "#e85d04",
    indicator: "#0b5cad", "attack-pattern": "#2a9d8f", vulnerability: "#d62828", report: "#495057", identity: "#6c757d",
    relationship: "#adb5bd", sighting: "#f4a261", "x-liaison-task": "#198754", "x-liaison-alert": "#dc3545" };
  function color(t) { return COLORS[t] || "#3a86ff"; }

  function resize() {
    var r = canvas.getBoundingClientRect();
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(r.width * dpr));
    canvas.height = Math.max(1, Math.round(r.height * dpr));
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  function add(g, around) {
    var added = 0;
    var cx = around ? around.x : 0, cy = around ? around.y : 0;
    g.nodes.forEach(function (n) {
      if (byId[n.id]) return;
      var a = Math.random() * Math.PI * 2, r = 20 + Math.random() * 40 * Math.sqrt(nodes.length + 1) / 4;
      var node = { id: n.id, type: n.type, name: n.name, x: cx + Math.cos(a) * r, y: cy + Math.sin(a) * r, vx: 0, vy: 0, deg: 0, fixed: false };
      byId[n.id] = node; nodes.push(node); added++;
    });
    var seen = {};
    edges.forEach(function (e) { seen[e.s.id + "|" + e.t.id + "|" + e.kind] = true; });
    g.edges.forEach(function (e) {
      var s = byId[e.source], t = byId[e.target];
      if (!s || !t) return;
      var key = s.id + "|" + t.id + "|" + e.kind;
      if (seen[key]) return;
      seen[key] = true;
      edges.push({ s: s, t: t, kind: e.kind }); s.deg++; t.deg++;
    });
    stats.nodes = nodes.length; stats.edges = edges.length;
    var T = function (k, d) { return canvas.getAttribute("data-t-" + k) || d; };
    if (statEl) statEl.textContent = "— " + nodes.length + " " + T("nodes", "nodes") + ", " + edges.length + " " + T("edges", "edges") + (g.truncated ? " (" + T("truncated", "truncated") + ")" : "");
    alpha = Math.max(alpha, added > 0 ? 0.6 : alpha);
    stats.settledMs = null;
    return added;
  }

  // The page banner is the join of every label drawn: the server joins what it sends
  // with what the page already shows.
  var joined = null;
  function setBanner(g) {
    joined = g.joined || joined;
    if (!g.banner) return;
    document.querySelectorAll(".banner").forEach(function (b) {
      b.textContent = g.banner;
      b.className = "banner " + g.banner_class;
    });
  }

  function load(id, d, m, around) {
    var url = "/ui/graph-data/" + encodeURIComponent(id) + "?depth=" + d + "&max=" + m;
    if (joined) url += "&with=" + encodeURIComponent(JSON.stringify(joined));
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (g) { setBanner(g); return add(g, around); });
  }

  // Numeric cell keys: string keys cost an allocation per node per step.
  function cellKey(gx, gy) { return (gx + 32768) * 65536 + (gy + 32768); }

  // One layout step: springs along edges, grid-local repulsion, gentle centring.
  function step() {
    var n = nodes.length, i, j;
    if (!n) return;
    var CELL = 60, REP = 900, SPRING = 0.02, LEN = 40;
    var grid = new Map();
    for (i = 0; i < n; i++) {
      var p = nodes[i];
      var key = cellKey(Math.floor(p.x / CELL), Math.floor(p.y / CELL));
      var c = grid.get(key);
      if (!c) grid.set(key, c = []);
      c.push(p);
    }
    for (i = 0; i < n; i++) {
      var a = nodes[i];
      var gx = Math.floor(a.x / CELL), gy = Math.floor(a.y / CELL);
      for (var dx = -1; dx <= 1; dx++) for (var dy = -1; dy <= 1; dy++) {
        var cell = grid.get(cellKey(gx + dx, gy + dy));
        if (!cell) continue;
        for (j = 0; j < cell.length; j++) {
          var b = cell[j];
          if (b === a) continue;
          var ddx = a.x - b.x, ddy = a.y - b.y;
          var d2 = ddx * ddx + ddy * ddy + 0.01;
          if (d2 > CELL * CELL) continue;
          var f = REP / d2 * alpha;
          a.vx += ddx * f / Math.sqrt(d2); a.vy += ddy * f / Math.sqrt(d2);
        }
      }
    }
    for (i = 0; i < edges.length; i++) {
      var e = edges[i];
      var ex = e.t.x - e.s.x, ey = e.t.y - e.s.y;
      var dist = Math.sqrt(ex * ex + ey * ey) + 0.01;
      var k = (dist - LEN) * SPRING * alpha;
      var fx = ex / dist * k, fy = ey / dist * k;
      e.s.vx += fx / Math.max(1, e.s.deg / 8); e.s.vy += fy / Math.max(1, e.s.deg / 8);
      e.t.vx -= fx / Math.max(1, e.t.deg / 8); e.t.vy -= fy / Math.max(1, e.t.deg / 8);
    }
    for (i = 0; i < n; i++) {
      var q = nodes[i];
      q.vx -= q.x * 0.002 * alpha; q.vy -= q.y * 0.002 * alpha;
      if (q.fixed) { q.vx = 0; q.vy = 0; continue; }
      q.vx *= 0.6; q.vy *= 0.6;
      q.x += Math.max(-20, Math.min(20, q.vx)); q.y += Math.max(-20, Math.min(20, q.vy));
    }
    alpha *= 0.985;
    stats.steps++;
  }

  function radius(n) { return (n.id === start ? 8 : 4 + Math.min(6, Math.sqrt(n.deg))) / Math.sqrt(view.k); }

  // Zoom to show every node once the layout has settled (until the user zooms).
  var userZoomed = false;
  function fit() {
    if (userZoomed || !nodes.length) return;
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    nodes.forEach(function (n) { minX = Math.min(minX, n.x); maxX = Math.max(maxX, n.x); minY = Math.min(minY, n.y); maxY = Math.max(maxY, n.y); });
    var w = canvas.clientWidth, h = canvas.clientHeight;
    var k = Math.min(w / (maxX - minX + 80), h / (maxY - minY + 80));
    view.k = Math.max(0.05, Math.min(2.5, k));
    view.x = -(minX + maxX) / 2 * view.k; view.y = -(minY + maxY) / 2 * view.k;
  }

  function draw() {
    var w = canvas.clientWidth, h = canvas.clientHeight;
    ctx.clearRect(0, 0, w, h);
    ctx.save();
    ctx.translate(w / 2 + view.x, h / 2 + view.y);
    ctx.scale(view.k, view.k);
    ctx.strokeStyle = "rgba(90,100,115,0.35)";
    ctx.lineWidth = 1 / view.k;
    ctx.beginPath();
    for (var i = 0; i < edges.length; i++) {
      var e = edges[i];
      ctx.moveTo(e.s.x, e.s.y); ctx.lineTo(e.t.x, e.t.y);
    }
    ctx.stroke();
    var labels = nodes.length <= 150 || view.k > 1.5;
    // Nodes batched by colour: one path and one fill per type, not per node.
    var byColor = {};
    for (var j = 0; j < nodes.length; j++) {
      var c = color(nodes[j].type);
      (byColor[c] || (byColor[c] = [])).push(nodes[j]);
    }
    Object.keys(byColor).forEach(function (c) {
      ctx.fillStyle = c;
      ctx.beginPath();
      byColor[c].forEach(function (n) {
        var r = radius(n);
        ctx.moveTo(n.x + r, n.y);
        ctx.arc(n.x, n.y, r, 0, Math.PI * 2);
      });
      ctx.fill();
    });
    if (hover) {
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2 / view.k;
      ctx.beginPath(); ctx.arc(hover.x, hover.y, radius(hover), 0, Math.PI * 2); ctx.stroke();
    }
    ctx.fillStyle = "#1b1f24";
    ctx.font = (11 / view.k) + "px system-ui, sans-serif";
    for (var i2 = 0; i2 < nodes.length; i2++) {
      var n = nodes[i2];
      if (labels || n === hover || n.id === start) ctx.fillText(n.name || n.type, n.x + radius(n) + 2, n.y + 3);
    }
    ctx.restore();
  }

  var last = 0;
  function frame(ts) {
    var t0 = performance.now();
    if (last) {
      stats.frames++;
    }
    if (alpha > 0.01) {
      var tEnd = t0 + SLICE_MS;
      do { step(); } while (alpha > 0.01 && performance.now() < tEnd);
      var tl = performance.now() - t0;
      if (tl > stats.maxLayoutMs) stats.maxLayoutMs = tl;
      if (alpha <= 0.01 && stats.settledMs === null) { stats.settledMs = performance.now() - stats.loadedAt; fit(); }
    }
    var td0 = performance.now();
    draw();
    var td = performance.now() - td0;
    if (td > stats.maxDrawMs) stats.maxDrawMs = td;
    var busy = performance.now() - t0;
    if (busy > stats.maxFrameMs) stats.maxFrameMs = busy;
    last = ts;
    requestAnimationFrame(frame);
  }

  function toWorld(ev) {
    var r = canvas.getBoundingClientRect();
    return { x: (ev.clientX - r.left - r.width / 2 - view.x) / view.k, y: (ev.clientY - r.top - r.height / 2 - view.y) / view.k };
  }

  function pick(ev) {
    var p = toWorld(ev), best = null, bd = 144 / (view.k * view.k);
    for (var i = 0; i < nodes.length; i++) {
      var dx = nodes[i].x - p.x, dy = nodes[i].y - p.y, d = dx * dx + dy * dy;
      if (d < bd) { bd = d; best = nodes[i]; }
    }
    return best;
  }

  var hover = null, drag = null, pan = null, moved = false, clickTimer = null;
  canvas.addEventListener("mousemove", function (ev) {
    if (drag) { var p = toWorld(ev); drag.x = p.x; drag.y = p.y; moved = true; alpha = Math.max(alpha, 0.1); return; }
    if (pan) { view.x += ev.movementX; view.y += ev.movementY; moved = true; return; }
    hover = pick(ev);
    if (info) info.textContent = hover ? (hover.type + ": " + (hover.name || hover.id)) : "";
  });
  canvas.addEventListener("mousedown", function (ev) {
    moved = false;
    var n = pick(ev);
    if (n) { drag = n; n.fixed = true; } else { pan = true; }
  });
  window.addEventListener("mouseup", function () { if (drag) drag.fixed = false; drag = null; pan = null; });
  canvas.addEventListener("click", function (ev) {
    if (moved) return;
    var n = pick(ev);
    if (!n) return;
    clearTimeout(clickTimer);
    clickTimer = setTimeout(function () { expand(n); }, 220);
  });
  canvas.addEventListener("dblclick", function (ev) {
    clearTimeout(clickTimer);
    var n = pick(ev);
    if (n) window.location.href = "/ui/object/" + encodeURIComponent(n.id);
  });
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    userZoomed = true;
    var k = Math.exp(-ev.deltaY * 0.0015);
    view.k = Math.max(0.05, Math.min(8, view.k * k));
  }, { passive: false });

  function expand(n) {
    return load(n.id, 1, 200, n).then(function (added) { stats.expanded++; return added; });
  }
  window.liaisonGraph.expand = function (id) { return byId[id] ? expand(byId[id]) : Promise.resolve(0); };

  window.addEventListener("resize", resize);
  resize();
  stats.loadedAt = performance.now();
  load(start, depth, max, null).then(function () {
    stats.loadedAt = performance.now();
    // Fit: zoom out for big graphs.
    view.k = Math.max(0.05, Math.min(2, 14 / Math.sqrt(nodes.length + 1)));
    window.liaisonGraph.ready = true;
  }).catch(function (e) {
    if (statEl) statEl.textContent = "— " + e.message;
    window.liaisonGraph.error = String(e);
  });
  requestAnimationFrame(frame);
})();
