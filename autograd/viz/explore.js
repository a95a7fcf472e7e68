// The explorer page's behaviour (autograd/viz/explore.py inlines this file). No library, no network.
// Graphviz drew the graph; every node element carries data-node-id and data-kind, edges data-src/data-dst.
(() => {
  "use strict";
  const model = JSON.parse(document.getElementById("model").textContent);
  const svg = document.getElementById("graph");
  const details = document.getElementById("details");
  const status = document.getElementById("status");
  const scrub = document.getElementById("scrub");
  const $ = (id) => document.getElementById(id);

  // ---- index: node id -> its elements (a leaf used by many ops is drawn beside each), edges ----
  const els = new Map();
  const push = (map, key, value) => (map.get(key) || map.set(key, []).get(key)).push(value);
  for (const el of svg.querySelectorAll("[data-node-id]")) push(els, el.dataset.nodeId, el);
  const edges = Array.from(svg.querySelectorAll("g.edge[data-src]"));
  const out = new Map(); // node id -> ids of the nodes it feeds
  for (const [s, d] of model.edges) push(out, s, d);
  const parentOf = (c) => (c && model.clusters[c] ? model.clusters[c].parent : null);
  const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[ch]));
  const title = (id) => {
    const n = model.nodes[id];
    return n ? (n.name && n.name !== n.label ? `${n.name}: ${n.label}` : n.label) : id;
  };
  const mark = (ids, cls, on = true) => { for (const id of ids) for (const el of els.get(id) || []) el.classList.toggle(cls, on); };
  const clearMark = (cls) => { for (const el of svg.querySelectorAll("." + cls)) el.classList.remove(cls); };

  // ---- pan and zoom: the viewBox moves; the graph's own coordinates never change ----
  const full = svg.getAttribute("viewBox").trim().split(/[\s,]+/).map(Number);
  let vb = full.slice();
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  const setView = () => svg.setAttribute("viewBox", vb.join(" "));
  const toGraph = (x, y) => { const p = new DOMPoint(x, y).matrixTransform(svg.getScreenCTM().inverse()); return [p.x, p.y]; };
  const zoom = (f, cx, cy) => {
    const [px, py] = toGraph(cx, cy);
    vb = [px - (px - vb[0]) * f, py - (py - vb[1]) * f, vb[2] * f, vb[3] * f];
    setView();
  };
  svg.addEventListener("wheel", (e) => { e.preventDefault(); zoom(Math.exp(e.deltaY * 0.0015), e.clientX, e.clientY); }, {passive: false});
  let drag = null;
  let moved = false;
  svg.addEventListener("pointerdown", (e) => { drag = [e.clientX, e.clientY, vb.slice(), 1 / svg.getScreenCTM().a]; moved = false; });
  window.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag[0], dy = e.clientY - drag[1];
    if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
    if (moved) { vb = [drag[2][0] - dx * drag[3], drag[2][1] - dy * drag[3], vb[2], vb[3]]; setView(); }
  });
  window.addEventListener("pointerup", () => { drag = null; });
  const fit = () => { // the whole graph, magnified 1.5 times at most
    const k = Math.min(1.5, svg.clientWidth / full[2], svg.clientHeight / full[3]);
    const w = svg.clientWidth / k, h = svg.clientHeight / k;
    vb = [full[0] + (full[2] - w) / 2, full[1] + (full[3] - h) / 2, w, h];
    setView();
  };
  $("fit").addEventListener("click", fit);
  const toGraphSpace = svg.querySelector("g.graph").transform.baseVal.consolidate();
  const scale = () => Math.min(svg.clientWidth / vb[2], svg.clientHeight / vb[3]); // pixels per graph unit
  const centre = (id, atScale) => {
    const el = (els.get(id) || [])[0];
    if (!el) return;
    const b = el.getBBox(), m = toGraphSpace ? toGraphSpace.matrix : new DOMMatrix();
    const c = new DOMPoint(b.x + b.width / 2, b.y + b.height / 2).matrixTransform(m);
    const w = svg.clientWidth / Math.max(atScale || scale(), 0.5), h = w * svg.clientHeight / svg.clientWidth;
    vb = [c.x - w / 2, c.y - h / 2, w, h];
    setView();
  };
  // A graph too big to read when fitted opens at natural size on the output, where backward starts.
  fit();
  if (scale() < 0.5) centre(model.roots[0], 1);

  // ---- clusters fold: a folded cluster hides the nodes inside it and the edges that stay inside ----
  const folded = new Set();
  const where = (el) => el.dataset.in || (model.nodes[el.dataset.nodeId] || {}).c || null;
  const outermostFolded = (c) => { let hit = null; for (; c; c = parentOf(c)) if (folded.has(c)) hit = c; return hit; };
  const nodeEls = Array.from(svg.querySelectorAll("g.node[data-node-id]"));
  const clusterEls = Array.from(svg.querySelectorAll("g.cluster[data-node-id]"));
  const refold = () => {
    for (const el of nodeEls) el.classList.toggle("gone", outermostFolded(where(el)) !== null);
    for (const el of clusterEls) el.classList.toggle("gone", outermostFolded(parentOf(el.dataset.nodeId)) !== null);
    for (const el of edges) {
      const d = model.nodes[el.dataset.dst];
      const s = el.dataset.copy ? d : model.nodes[el.dataset.src];
      const a = outermostFolded(s ? s.c : null);
      el.classList.toggle("gone", a !== null && a === outermostFolded(d ? d.c : null));
    }
  };
  const opsInside = (cid) => Object.values(model.nodes).filter((n) => {
    for (let c = n.c; c; c = parentOf(c)) if (c === cid) return n.k === "op";
    return false;
  }).length;
  const toggle = (cid) => {
    const el = els.get(cid)[0];
    const label = el.querySelector("text");
    if (folded.has(cid)) folded.delete(cid); else folded.add(cid);
    el.classList.toggle("folded", folded.has(cid));
    if (label) {
      label.dataset.text = label.dataset.text || label.textContent;
      label.textContent = folded.has(cid) ? `${label.dataset.text} (${opsInside(cid)} ops folded)` : label.dataset.text;
    }
    refold();
    status.textContent = `${model.clusters[cid].label}: ${folded.has(cid) ? "folded" : "unfolded"}`;
  };

  // ---- details of a node ----
  const fmt = (v) => (typeof v === "number" ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : +v.toPrecision(4)) : v);
  const histogram = (s) => {
    if (!s.hist) return "";
    const top = Math.max(...s.hist), w = 224 / s.hist.length;
    const bars = s.hist.map((k, i) => `<rect x="${i * w}" y="${40 - (40 * k) / top}" width="${w - 1}" height="${(40 * k) / top}"></rect>`).join("");
    return `<svg class="hist" width="224" height="54" viewBox="0 0 224 54">${bars}<text x="0" y="52">${fmt(s.lo)}</text><text x="224" y="52" text-anchor="end">${fmt(s.hi)}</text></svg>`;
  };
  const stats = (head, s, none) => {
    if (!s) return none ? `<h3>${head}</h3><p class="none">${esc(none)}</p>` : "";
    if (s.freed) return `<h3>${head}</h3><p class="none">freed (released by backward)</p>`;
    const rows = [["shape", s.shape]];
    for (const k of ["min", "mean", "max", "std", "norm"]) if (k in s) rows.push([k === "norm" ? "‖·‖" : k, fmt(s[k])]);
    if (s.nan || s.inf) rows.push(["non-finite", `${s.nan} nan, ${s.inf} inf`]);
    if (s.of) rows.push(["of", s.of]);
    return `<h3>${head}</h3><table>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${esc(v)}</td></tr>`).join("")}</table>${histogram(s)}`;
  };
  const link = (id) => `<a href="#" data-goto="${esc(id)}">${esc(title(id))}</a>`;
  const describe = (id) => {
    const n = model.nodes[id];
    const h = [`<h2>${esc(title(id))}</h2>`];
    const place = [];
    for (let c = n.c; c; c = parentOf(c)) place.unshift(model.clusters[c].label);
    const step = model.steps.findIndex(([s]) => s === id);
    h.push(`<p class="meta">${n.k}${n.role ? ` (${esc(n.role)})` : ""}${place.length ? ` in ${esc(place.join(" › "))}` : ""}` +
      `${"seq" in n && !n.merged ? `, op #${n.seq}` : ""}${step >= 0 ? `; backward step ${step + 1} of ${model.steps.length}` : ""}</p>`);
    if (n.merged) {
      h.push(`<h3>${n.merged} ops${n.inputs ? ` and ${n.inputs} inputs used only by them` : ""} folded into this node</h3><table>${n.ops.map(([o, k]) => `<tr><th>${esc(o)}</th><td>×${k}</td></tr>`).join("")}</table>`);
      h.push(`<p class="none">Made by explore(collapse=…) for a large graph: pass collapse=False to lay out every op.</p>`);
      return h.join("");
    }
    h.push(stats("value", n.value));
    h.push(stats("gradient (.grad)", n.grad, n.k === "tensor" ? "none yet (no backward, or none reached it)" : null));
    h.push(stats("gradient arriving in backward (replayed)", n.flow, model.replay || "no gradient flows to it"));
    if (n.k === "op") {
      const saved = typeof n.saved === "string" ? esc(n.saved) : n.saved.length ? n.saved.map(esc).join("<br>") : "nothing";
      h.push(`<h3>saved for backward</h3><p>${saved}</p>`);
      h.push(`<h3>inputs</h3><ol>${n.inputs.map((x) => `<li>${model.nodes[x] ? link(x) : esc(x)}</li>`).join("")}</ol>`);
      h.push(`<h3>created at</h3>${n.trace ? `<pre>${esc(n.trace)}</pre>` : '<p class="none">not recorded: run the forward under ag.detect_anomaly() to record it</p>'}`);
    }
    const users = out.get(id) || [];
    if (users.length) h.push(`<h3>used by</h3><ol>${users.slice(0, 50).map((x) => `<li>${link(x)}</li>`).join("")}</ol>${users.length > 50 ? `<p>… ${users.length - 50} more</p>` : ""}`);
    return h.join("");
  };
  let selected = null;
  const select = (id) => {
    clearMark("sel");
    selected = id;
    mark([id], "sel");
    details.innerHTML = describe(id);
  };
  details.addEventListener("click", (e) => {
    const a = e.target.closest("[data-goto]");
    if (a) { e.preventDefault(); select(a.dataset.goto); centre(a.dataset.goto); }
  });
  svg.addEventListener("click", (e) => {
    if (moved) return;
    const el = e.target.closest("[data-node-id]");
    if (!el) return;
    if (el.dataset.kind === "cluster") toggle(el.dataset.nodeId); else select(el.dataset.nodeId);
  });

  // ---- search by name, op or shape; Enter goes to the next match ----
  let hits = [], hit = -1;
  $("search").addEventListener("input", (e) => {
    const q = e.target.value.trim().toLowerCase();
    clearMark("hit");
    hits = q ? Object.keys(model.nodes).filter((id) => {
      const n = model.nodes[id];
      return [n.name, n.label, n.value && n.value.shape].some((t) => t && String(t).toLowerCase().includes(q));
    }) : [];
    hit = -1;
    mark(hits, "hit");
    $("found").textContent = q ? `${hits.length} found` : "";
  });
  $("search").addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !hits.length) return;
    hit = (hit + 1) % hits.length;
    select(hits[hit]);
    centre(hits[hit]);
  });

  // ---- the path from the selected node to the output ----
  $("path").addEventListener("click", () => {
    const on = !$("path").classList.contains("on") && selected;
    clearMark("onpath");
    $("path").classList.toggle("on", !!on);
    if (!on) return;
    const reach = new Set([selected]), todo = [selected];
    while (todo.length) for (const d of out.get(todo.pop()) || []) if (!reach.has(d)) { reach.add(d); todo.push(d); }
    mark(reach, "onpath");
    for (const el of edges) if (reach.has(el.dataset.src) && reach.has(el.dataset.dst)) el.classList.add("onpath");
    status.textContent = `${reach.size} nodes on the way from ${title(selected)} to the output`;
  });

  // ---- play backward: the engine's order (latest op first, leaves last), coloured by gradient size ----
  const steps = model.steps;
  scrub.max = String(steps.length);
  const logs = steps.map(([, v]) => (typeof v === "number" && v > 0 ? Math.log10(v) : null)).filter((v) => v !== null);
  const lo = Math.min(...logs), hi = Math.max(...logs);
  const heat = (v) => {
    if (typeof v !== "number" || v <= 0 || !logs.length) return "#bbbbbb";
    const t = hi > lo ? (Math.log10(v) - lo) / (hi - lo) : 1;
    return `hsl(0, 75%, ${88 - 50 * t}%)`;
  };
  const paint = (k) => {
    clearMark("swept");
    clearMark("now");
    for (const el of svg.querySelectorAll("[data-heat]")) { el.style.removeProperty("--heat"); el.removeAttribute("data-heat"); }
    for (let i = 0; i < k; i++) for (const el of els.get(steps[i][0]) || []) {
      el.classList.add("swept");
      el.dataset.heat = "1";
      el.style.setProperty("--heat", heat(steps[i][1]));
    }
    scrub.value = String(k);
    if (!k) { status.textContent = ""; return; }
    const [id, v] = steps[k - 1];
    mark([id], "now");
    const size = typeof v === "number" ? `‖grad‖ = ${fmt(v)}` : v === null && model.replay ? "‖grad‖ not available" : `‖grad‖ = ${v}`;
    status.textContent = `backward step ${k} of ${steps.length}: ${title(id)}, ${size}`;
  };
  let timer = null;
  const stop = () => { if (timer) cancelAnimationFrame(timer); timer = null; $("play").textContent = "play backward"; };
  $("play").addEventListener("click", () => {
    if (timer) return stop();
    let k = Number(scrub.value) >= steps.length ? 0 : Number(scrub.value);
    const per = Math.max(1, Math.ceil(steps.length / 600)); // about ten seconds whatever the size
    $("play").textContent = "pause";
    const tick = () => {
      k = Math.min(steps.length, k + per);
      paint(k);
      timer = k < steps.length ? requestAnimationFrame(tick) : (stop(), null);
    };
    timer = requestAnimationFrame(tick);
  });
  scrub.addEventListener("input", () => { stop(); paint(Number(scrub.value)); });
  window.addEventListener("keydown", (e) => { if (e.key === "Escape") { clearMark("sel"); selected = null; } });

  window.explorer = {select, toggle, paint, centre, model};
  // Ready once the first frame with the graph has been drawn (the browser tests time this).
  requestAnimationFrame(() => requestAnimationFrame(() => { document.body.dataset.readyMs = performance.now().toFixed(1); }));
})();
