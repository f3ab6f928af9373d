// SinGAN Studio: the page over the studio's JSON API (no framework, no build step, no network).
"use strict";
const $ = (id) => document.getElementById(id);
const state = { runs: [], presets: [], selected: null, file: null, tab: "training", tool: "mask", drawing: false };

async function call(method, url, body) {
  const options = { method, headers: {} };
  if (body instanceof FormData) options.body = body;
  else if (body !== undefined) { options.body = JSON.stringify(body); options.headers["Content-Type"] = "application/json"; }
  const response = await fetch(url, options);
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(data.error || data.detail?.[0]?.msg || response.statusText);
  return data;
}
const fresh = (url) => url + "?t=" + Date.now();  // files change in place (previews, report)
const eta = (s) => s == null ? "" : s < 60 ? ` · about ${Math.ceil(s)} s left` : ` · about ${Math.ceil(s / 60)} min left`;

// ------------------------------------------------------------------ runs list
async function loadRuns() {
  const data = await call("GET", "/api/runs");
  state.runs = data.runs;
  showQueue(data.jobs);
  const list = $("runs");
  list.innerHTML = state.runs.length ? "" : '<p class="hint">No runs yet: start one with “New run”.</p>';
  for (const run of state.runs) {
    const card = document.createElement("div");
    card.className = "card" + (run.name === state.selected ? " selected" : "");
    card.dataset.name = run.name;
    const fraction = run.num_scales ? run.scales_done / run.num_scales : 0;
    card.innerHTML = `<img src="${fresh(run.thumbnail)}" alt=""><div><div class="name"></div>
      <div class="meta">${run.architecture} · ${run.width}×${run.height} px · ${run.scales_done}/${run.num_scales} scales</div>
      <span class="badge ${run.state}">${run.state}</span>
      <div class="mini-bar"><div style="width:${(100 * fraction).toFixed(0)}%"></div></div></div>`;
    card.querySelector(".name").textContent = run.name;
    card.onclick = () => selectRun(run.name);
    list.appendChild(card);
  }
  if (state.pending && current()) { const name = state.pending; state.pending = null; selectRun(name); }
  else if (state.selected) showRun();
}

function showQueue(jobs) {
  const waiting = jobs.queue.length ? ` · ${jobs.queue.length} queued` : "";
  $("queue").textContent = jobs.active ? `training ${jobs.active}${waiting}` : jobs.queue.length ? `${jobs.queue.length} queued` : "idle";
}

function current() { return state.runs.find((r) => r.name === state.selected); }

function selectRun(name) {
  state.selected = name;
  $("new-run").classList.add("hidden");
  $("welcome").classList.add("hidden");
  $("run-view").classList.remove("hidden");
  document.querySelectorAll(".card").forEach((c) => c.classList.toggle("selected", c.dataset.name === name));
  state.canvasRun = null;
  showRun();
  if (state.tab === "canvas") setupCanvas();
}

function showRun() {
  const run = current();
  if (!run) return;
  $("run-name").textContent = run.name;
  $("run-thumb").src = fresh(run.thumbnail);
  const settings = Object.entries(run.settings).map(([k, v]) => `${k} ${v}`).join(" · ");
  $("run-meta").textContent = `${run.architecture} · ${run.width}×${run.height} px · ${run.num_scales} scales · ${settings}`;
  $("run-state").textContent = run.state;
  $("run-state").className = "badge " + run.state;
  $("stop").classList.toggle("hidden", !["training", "queued"].includes(run.state));
  $("resume").classList.toggle("hidden", run.state !== "interrupted");
  showProgress(run, run.progress);
  const previews = $("previews");
  previews.innerHTML = "";
  run.previews.forEach((url, n) => {
    const [h, w] = run.sizes[n];
    const figure = document.createElement("figure");
    figure.innerHTML = `<figcaption>scale ${n}<br>${w}×${h}</figcaption><img src="${fresh(url)}" alt="scale ${n}" title="real · random sample · reconstruction">`;
    previews.appendChild(figure);
  });
  $("s-start").max = Math.max(0, run.scales_done - 1);
  const inject = $("c-inject");
  inject.max = Math.max(1, run.num_scales - 1);
  if (+inject.value > +inject.max) inject.value = inject.max;
  showInject();
  drawLoss(run.name);
}

function showProgress(run, progress) {
  let fraction = run.scales_done / run.num_scales, text;
  if (run.state === "training" && progress && progress.num_scales) {
    const iters = progress.iters || 1;
    fraction = (progress.scale + Math.min(progress.iteration, iters) / iters) / progress.num_scales;
    const last = progress.scales?.[progress.scales.length - 1];
    const loss = last ? ` · last scale: critic ${last.d_loss.toFixed(3)}, rec ${last.rec_loss.toFixed(4)}` : "";
    text = `scale ${Math.min(progress.scale, progress.num_scales - 1)} of ${progress.num_scales - 1} · iteration ${progress.iteration} of ${iters}${eta(progress.eta_seconds)}${loss}`;
  } else if (run.state === "training") text = "starting…";
  else if (run.state === "queued") text = "waiting in the queue";
  else if (run.state === "interrupted") text = `interrupted after ${run.scales_done} of ${run.num_scales} scales` + (run.error ? `: ${run.error}` : "; resume continues from the last checkpoint");
  else text = `done: ${run.num_scales} scales`;
  $("bar-fill").style.width = (100 * fraction).toFixed(1) + "%";
  $("progress-text").textContent = text;
}

async function drawLoss(name) {
  const rows = (await call("GET", `/api/runs/${name}/log`)).rows;
  const svg = $("loss");
  if (!rows.length) { svg.innerHTML = ""; return; }
  const line = (key, color) => {
    const values = rows.map((r) => +r[key]).filter((v) => Number.isFinite(v));
    if (!values.length) return "";
    const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
    const points = values.map((v, i) => `${(300 * i / Math.max(1, values.length - 1)).toFixed(1)},${(150 - 140 * (v - lo) / span).toFixed(1)}`);
    return `<polyline fill="none" stroke="${color}" stroke-width="1.5" vector-effect="non-scaling-stroke" points="${points.join(" ")}"/>`;
  };
  svg.innerHTML = line("d_loss", "#f0a35e") + line("rec_loss", "#7cc4c0");
}

// ------------------------------------------------------------------ live progress (Server-Sent Events)
function listen() {
  const source = new EventSource("/api/events");
  source.addEventListener("progress", (event) => {
    const data = JSON.parse(event.data);
    showQueue(data.jobs);
    const seen = JSON.stringify([data.runs, data.jobs]);
    const changed = seen !== state.seen;
    state.seen = seen;
    if (changed) { loadRuns(); return; }  // a scale was committed, a run appeared, started, stopped or finished
    const run = current();
    if (run && data.jobs.active === run.name && data.progress) {
      run.state = "training";
      showProgress(run, data.progress);
    }
    const card = document.querySelector(`.card[data-name="${data.jobs.active}"] .mini-bar div`);
    if (card && data.progress?.num_scales) {
      const p = data.progress, iters = p.iters || 1;
      card.style.width = (100 * (p.scale + Math.min(p.iteration, iters) / iters) / p.num_scales).toFixed(0) + "%";
    }
  });
}

// ------------------------------------------------------------------ new run
async function loadPresets() {
  state.presets = await call("GET", "/api/presets");
  const select = $("preset");
  const groups = {};
  for (const p of state.presets) {
    if (!groups[p.architecture]) {
      groups[p.architecture] = document.createElement("optgroup");
      groups[p.architecture].label = `${p.title} (${p.paper})`;
      select.appendChild(groups[p.architecture]);
    }
    const option = new Option(p.preset, p.preset);
    groups[p.architecture].appendChild(option);
  }
  select.value = state.presets.some((p) => p.preset === "fast") ? "fast" : state.presets[0].preset;
  showPresetInfo();
}
function showPresetInfo() {
  const preset = state.presets.find((p) => p.preset === $("preset").value);
  if (!preset) return;
  const settings = Object.entries(preset.settings).map(([k, v]) => `${k} ${v}`).join(", ");
  $("preset-info").textContent = `${preset.title} · ${settings || "the paper's settings"}`;
}
function chooseFile(file) {
  if (!file) return;
  state.file = file;
  $("drop-preview").src = URL.createObjectURL(file);
  $("drop-preview").classList.remove("hidden");
  $("drop-text").textContent = `${file.name} · ${(file.size / 1024).toFixed(0)} KB`;
  $("start").disabled = false;
}
async function startRun() {
  const form = new FormData();
  form.append("image", state.file);
  form.append("preset", $("preset").value);
  if ($("iters").value) form.append("iters", $("iters").value);
  if ($("max-size").value) form.append("max_size", $("max-size").value);
  $("start").disabled = true;
  $("new-run-error").textContent = "";
  try {
    const data = await call("POST", "/api/runs", form);
    state.pending = data.name;
    state.selected = data.name;
    $("new-run").classList.add("hidden");
    $("welcome").classList.remove("hidden");
    $("welcome").querySelector("h1").textContent = `Starting ${data.name}…`;
  } catch (error) { $("new-run-error").textContent = error.message; }
  $("start").disabled = false;
}

// ------------------------------------------------------------------ sample
async function sample() {
  const run = current();
  const body = { num: +$("s-num").value, scale: $("s-scale").value || "1", start_scale: +$("s-start").value, seed: +$("s-seed").value };
  if ($("s-size").value.trim()) body.size = $("s-size").value.trim();
  $("s-status").textContent = "sampling…";
  try {
    const data = await call("POST", `/api/runs/${run.name}/sample`, body);
    const grid = $("grid");
    grid.innerHTML = "";
    for (const url of data.images) {
      const img = document.createElement("img");
      img.src = url;
      img.onclick = () => { $("lightbox-img").src = url; $("lightbox-dl").href = url; $("lightbox").classList.remove("hidden"); };
      grid.appendChild(img);
    }
    $("s-zip").href = data.zip;
    $("s-zip").classList.remove("hidden");
    $("s-status").textContent = `${data.images.length} samples, seed ${body.seed}`;
  } catch (error) { $("s-status").textContent = "Error: " + error.message; }
}

// ------------------------------------------------------------------ harmonize / edit / paint canvas
function showInject() {
  const run = current();
  if (!run) return;
  const n = +$("c-inject").value, size = run.sizes[n] || run.sizes[run.sizes.length - 1];
  $("c-inject-out").textContent = `scale ${n} · ${size[1]}×${size[0]} px`;
}
function setupCanvas(imageUrl) {
  const run = current();
  if (!run || (state.canvasRun === run.name && !imageUrl)) return;
  state.canvasRun = run.name;
  const layer = $("c-image-layer"), mask = $("c-mask-layer");
  for (const c of [layer, mask]) { c.width = run.width; c.height = run.height; }
  const img = new Image();
  img.onload = () => layer.getContext("2d").drawImage(img, 0, 0, run.width, run.height);
  img.src = imageUrl || fresh(run.thumbnail);
  state.imageUrl = imageUrl || null;
}
function stroke(event) {
  const mask = $("c-mask-layer"), rect = mask.getBoundingClientRect();
  const x = (event.clientX - rect.left) * mask.width / rect.width, y = (event.clientY - rect.top) * mask.height / rect.height;
  const target = state.tool === "paint" ? $("c-image-layer") : mask;
  const ctx = target.getContext("2d");
  ctx.globalCompositeOperation = state.tool === "erase" ? "destination-out" : "source-over";
  ctx.fillStyle = state.tool === "paint" ? $("c-color").value : "#ff3d7f";
  const radius = +$("c-size").value / 2;
  const from = state.last || { x, y }, steps = Math.max(1, Math.ceil(Math.hypot(x - from.x, y - from.y) / Math.max(0.5, radius / 2)));
  for (let i = 1; i <= steps; i++) {
    ctx.beginPath();
    ctx.arc(from.x + (x - from.x) * i / steps, from.y + (y - from.y) * i / steps, radius, 0, 2 * Math.PI);
    ctx.fill();
  }
  state.last = { x, y };
}
function maskBlob() {  // the drawn layer as a white-on-black mask
  const mask = $("c-mask-layer"), out = document.createElement("canvas");
  out.width = mask.width; out.height = mask.height;
  const source = mask.getContext("2d").getImageData(0, 0, mask.width, mask.height), ctx = out.getContext("2d");
  const target = ctx.createImageData(mask.width, mask.height);
  let any = false;
  for (let i = 0; i < source.data.length; i += 4) {
    const on = source.data[i + 3] > 127 ? 255 : 0;
    any = any || on > 0;
    target.data[i] = target.data[i + 1] = target.data[i + 2] = on;
    target.data[i + 3] = 255;
  }
  ctx.putImageData(target, 0, 0);
  return new Promise((resolve) => out.toBlob((blob) => resolve(any ? blob : null), "image/png"));
}
function loadMaskFile(file) {
  const run = current(), img = new Image();
  img.onload = () => {  // white (bright) pixels of the uploaded mask become the drawn layer
    const tmp = document.createElement("canvas");
    tmp.width = run.width; tmp.height = run.height;
    const t = tmp.getContext("2d");
    t.drawImage(img, 0, 0, run.width, run.height);
    const data = t.getImageData(0, 0, run.width, run.height);
    for (let i = 0; i < data.data.length; i += 4) {
      const on = data.data[i] + data.data[i + 1] + data.data[i + 2] > 382;
      data.data[i] = 255; data.data[i + 1] = 61; data.data[i + 2] = 127; data.data[i + 3] = on ? 255 : 0;
    }
    $("c-mask-layer").getContext("2d").putImageData(data, 0, 0);
  };
  img.src = URL.createObjectURL(file);
}
async function runCanvas() {
  const run = current(), mode = $("c-mode").value;
  const form = new FormData();
  const image = await new Promise((resolve) => $("c-image-layer").toBlob(resolve, "image/png"));
  form.append("image", image, "canvas.png");
  if (mode !== "paint") {
    const mask = await maskBlob();
    if (!mask) { $("c-status").textContent = "Draw the mask first: brush over the region to blend."; return; }
    form.append("mask", mask, "mask.png");
  }
  form.append("inject_scale", $("c-inject").value);
  form.append("seed", $("c-seed").value);
  if (mode === "harmonize") form.append("fine_tune", $("c-retrain").value || "0");
  if (mode === "paint") form.append("quantize", $("c-retrain").value || "0");
  $("c-status").textContent = `${mode}…`;
  try {
    const data = await call("POST", `/api/runs/${run.name}/${mode}`, form);
    $("c-result").src = data.result;
    $("c-status").textContent = `done${data.notes?.length ? " · " + data.notes.join("; ") : ""}`;
  } catch (error) { $("c-status").textContent = "Error: " + error.message; }
}

// ------------------------------------------------------------------ animate, upscale, report
async function simple(button, status, url, body, show) {
  $(status).textContent = "working…";
  $(button).disabled = true;
  try { show(await call("POST", url, body)); $(status).textContent = "done"; }
  catch (error) { $(status).textContent = "Error: " + error.message; }
  $(button).disabled = false;
}

// ------------------------------------------------------------------ wiring
function wire() {
  $("new-run-button").onclick = () => {
    $("run-view").classList.add("hidden"); $("welcome").classList.add("hidden"); $("new-run").classList.remove("hidden");
  };
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); chooseFile(e.dataTransfer.files[0]); });
  $("file").onchange = (e) => chooseFile(e.target.files[0]);
  $("preset").onchange = showPresetInfo;
  $("start").onclick = startRun;
  $("stop").onclick = () => call("POST", `/api/runs/${state.selected}/stop`).then(loadRuns).catch((e) => alert(e.message));
  $("resume").onclick = () => call("POST", `/api/runs/${state.selected}/resume`).then(loadRuns).catch((e) => alert(e.message));
  document.querySelectorAll(".tabs button").forEach((b) => b.onclick = () => {
    state.tab = b.dataset.tab;
    document.querySelectorAll(".tabs button").forEach((x) => x.classList.toggle("active", x === b));
    document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("hidden", t.id !== "tab-" + state.tab));
    if (state.tab === "canvas") setupCanvas();
  });
  $("s-start").oninput = () => $("s-start-out").textContent = $("s-start").value;
  $("s-dice").onclick = () => $("s-seed").value = Math.floor(Math.random() * 100000);
  $("s-go").onclick = sample;
  $("lightbox").onclick = (e) => { if (e.target.id !== "lightbox-dl") $("lightbox").classList.add("hidden"); };
  document.querySelectorAll(".tool").forEach((b) => b.onclick = () => {
    state.tool = b.dataset.tool;
    document.querySelectorAll(".tool").forEach((x) => x.classList.toggle("active", x === b));
  });
  $("c-size").oninput = () => $("c-size-out").textContent = $("c-size").value;
  $("c-inject").oninput = showInject;
  $("c-clear").onclick = () => { const m = $("c-mask-layer"); m.getContext("2d").clearRect(0, 0, m.width, m.height); };
  $("c-reset").onclick = () => { state.canvasRun = null; setupCanvas(); };
  $("c-image").onchange = (e) => { if (e.target.files[0]) setupCanvas(URL.createObjectURL(e.target.files[0])); };
  $("c-mask-file").onchange = (e) => { if (e.target.files[0]) loadMaskFile(e.target.files[0]); };
  $("c-mode").onchange = () => {
    const mode = $("c-mode").value;
    document.querySelector(`[data-tool=${mode === "paint" ? "paint" : "mask"}]`).click();
    // one number field: harmonization's fine-tune iterations, paint's quantization colours; none for edit
    $("c-retrain-label").classList.toggle("hidden", mode === "edit");
    $("c-retrain-name").textContent = mode === "paint" ? "Quantize colours" : "Fine-tune iterations";
  };
  const stack = $("stack");
  stack.addEventListener("pointerdown", (e) => { state.drawing = true; state.last = null; stack.setPointerCapture(e.pointerId); stroke(e); });
  stack.addEventListener("pointermove", (e) => { if (state.drawing) stroke(e); });
  stack.addEventListener("pointerup", () => { state.drawing = false; state.last = null; });
  $("c-go").onclick = runCanvas;
  $("a-go").onclick = () => simple("a-go", "a-status", `/api/runs/${state.selected}/animate`,
    { frames: +$("a-frames").value, start_scale: +$("a-start").value, fps: +$("a-fps").value, seed: +$("a-seed").value },
    (d) => $("a-result").src = d.result);
  $("u-go").onclick = () => simple("u-go", "u-status", `/api/runs/${state.selected}/super_resolve`,
    { factor: +$("u-factor").value }, (d) => $("u-result").src = d.result);
  $("r-go").onclick = () => simple("r-go", "r-status", `/api/runs/${state.selected}/report`, undefined, (d) => {
    $("r-frame").src = fresh(d.report); $("r-frame").classList.remove("hidden");
    $("r-open").href = d.report; $("r-open").classList.remove("hidden");
  });
}

wire();
loadPresets();
loadRuns();
listen();
