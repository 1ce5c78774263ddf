// avatar studio page: uploads, settings, render progress, preview, downloads, gallery.
// The server hands out ids only; this page never sends a file path.
"use strict";

const POLL_MS = 400;
const WORDS_PER_SECOND = 2.6;   // speaking rate, for the rough length shown under the script
const MB = 1024 * 1024;
const STAGE_ORDER = ["photo", "speech", "timing", "render", "finish"];
const BATCH_SEPARATOR = /^[ \t]*---[ \t]*$/m;   // a line with only --- between pasted scripts

const state = {
  photoId: null,
  photoFile: null,   // kept to check again when the face number changes
  audioId: null,
  jobId: null,
  limits: { photo_bytes: 20 * MB, audio_bytes: 200 * MB, batch_items: 50, batch_item_bytes: 200 * 1024 },
  pollTimer: null,
  tab: "script",
  batchFiles: [],    // [{name, text}] or [{name, error}] read from the chosen .txt files
  batch: [],         // [{name, id, error, job}] of the last batch, in order
  batchTimer: null,
};

const $ = (id) => document.getElementById(id);

function setStatus(el, kind, text) {
  el.className = "status " + kind;
  el.textContent = text;
}

function showMessage(kind, text) {
  const box = $("message");
  box.hidden = !text;
  box.className = "message " + kind;
  box.textContent = text || "";
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new Error("The studio server did not answer. Check that `avatar studio` is still running, then try again.");
  }
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  if (!response.ok) {
    const fallback = response.status === 413 ? "The file is too large." : `The server refused the request (HTTP ${response.status}).`;
    throw new Error((data && data.error) || fallback);
  }
  return data;
}

function fillSelect(select, values, chosen, labels = {}) {
  select.innerHTML = "";
  for (const value of values) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = labels[value] || value;
    option.selected = value === chosen;
    select.appendChild(option);
  }
}

async function loadVoices(chosen) {
  const options = await api("/api/options");
  const select = $("voice");
  select.innerHTML = "";
  for (const v of options.voices) {
    const option = document.createElement("option");
    option.value = v.name;
    option.textContent = v.engine === "clone" ? `${v.name} (cloned)` : v.name;
    option.title = v.description || "";
    option.selected = v.name === (chosen || "joe");
    select.appendChild(option);
  }
  return options;
}

async function init() {
  let options;
  try {
    options = await loadVoices();
  } catch (err) {
    showMessage("bad", err.message);
    return;
  }
  state.limits = options.limits;
  $("photo-limit").textContent = Math.round(options.limits.photo_bytes / MB);
  $("audio-limit").textContent = Math.round(options.limits.audio_bytes / MB);
  $("batch-kb").textContent = Math.round(options.limits.batch_item_bytes / 1024);
  $("batch-max").textContent = options.limits.batch_items;
  fillSelect($("style"), options.styles, "natural");
  fillSelect($("aspect"), options.aspects, "9:16", { "9:16": "9:16 vertical (Reels, TikTok, Shorts)", "1:1": "1:1 square", "4:5": "4:5 portrait (feed)", "16:9": "16:9 landscape" });
  fillSelect($("mouth"), options.mouths, "rules");
  $("fps").min = options.fps.min;
  $("fps").max = options.fps.max;
  $("fps").value = options.fps.default;
  const motion = options.motion_scale;
  $("motion-label").hidden = !motion.supported;
  Object.assign($("motion"), { min: motion.min, max: motion.max, value: motion.default });
  $("motion-value").textContent = Number(motion.default).toFixed(1);
  state.motionSupported = motion.supported;
  state.loopSupported = options.loop;
  $("loop-label").hidden = !options.loop;
  refreshGallery();
  updateRenderButton();
}

// ---- Step 1: photo -----------------------------------------------------------------------
async function uploadPhoto(file) {
  if (!file) return;
  state.photoFile = file;
  state.photoId = null;
  updateRenderButton();
  $("photo-issues").innerHTML = "";
  $("photo-details").hidden = true;
  $("photo-preview").hidden = true;
  $("photo-drop-text").hidden = false;
  if (file.size > state.limits.photo_bytes) {
    setStatus($("photo-status"), "bad", `${file.name} is too large (${(file.size / MB).toFixed(0)} MB): the limit is ${Math.round(state.limits.photo_bytes / MB)} MB. Export a smaller JPEG or PNG (a few megabytes is plenty).`);
    return;
  }
  setStatus($("photo-status"), "busy", `Checking ${file.name}...`);
  try {
    const face = $("face").value.trim();
    const query = new URLSearchParams({ name: file.name });
    if (face) query.set("face", face);
    const report = await api(`/api/photo?${query}`, { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
    $("photo-preview").src = `/api/photo/${report.id}`;
    $("photo-preview").hidden = false;
    $("photo-drop-text").hidden = true;
    $("photo-report").textContent = report.report;
    $("photo-details").hidden = false;
    const list = $("photo-issues");
    for (const [kind, messages] of [["error", report.errors], ["warning", report.warnings]]) {
      for (const text of messages) {
        const li = document.createElement("li");
        li.className = kind;
        li.textContent = text;
        list.appendChild(li);
      }
    }
    if (report.ok) {
      state.photoId = report.id;
      const how = report.warnings.length ? "warn" : "ok";
      setStatus($("photo-status"), how, report.warnings.length
        ? "Face found: usable, with the notes below."
        : `Face found and well framed (${Math.round(report.face_px)} px wide). Ready.`);
    } else {
      setStatus($("photo-status"), "bad", report.faces_found
        ? "This photo cannot be animated. Fix what is listed below, or choose another photo."
        : "No usable face in this photo. Choose another photo (see below).");
    }
  } catch (err) {
    setStatus($("photo-status"), "bad", err.message);
  }
  updateRenderButton();
}

// ---- Step 2: words -----------------------------------------------------------------------
function updateScriptCount() {
  const text = $("script").value;
  $("script-count").textContent = text.length;
  const words = text.trim() ? text.trim().split(/\s+/).length : 0;
  $("script-secs").textContent = Math.round(words / WORDS_PER_SECOND);
  updateRenderButton();
}

function showTab(name) {
  for (const tab of document.querySelectorAll(".tab")) {
    const active = tab.dataset.tab === name;
    tab.classList.toggle("active", active);
    tab.setAttribute("aria-selected", String(active));
  }
  state.tab = name;
  $("tab-script").hidden = name === "batch";   // the script doubles as the transcript of a narration
  $("tab-audio").hidden = name !== "audio";
  $("tab-batch").hidden = name !== "batch";
  updateRenderButton();
}

async function uploadAudio(file, statusEl) {
  if (file.size > state.limits.audio_bytes) {
    throw new Error(`${file.name} is too large (${(file.size / MB).toFixed(0)} MB): the limit is ${Math.round(state.limits.audio_bytes / MB)} MB. Export it as MP3 or M4A, or split it.`);
  }
  setStatus(statusEl, "busy", `Reading ${file.name}...`);
  return api(`/api/audio?${new URLSearchParams({ name: file.name })}`, { method: "POST", body: file, headers: { "Content-Type": "application/octet-stream" } });
}

async function chooseNarration(file) {
  if (!file) return;
  state.audioId = null;
  $("audio-clear").hidden = true;
  try {
    const audio = await uploadAudio(file, $("audio-status"));
    state.audioId = audio.id;
    setStatus($("audio-status"), "ok", `${audio.name}: ${audio.duration_s.toFixed(1)} s of narration.`);
    $("audio-clear").hidden = false;
  } catch (err) {
    setStatus($("audio-status"), "bad", err.message);
  }
  updateRenderButton();
}

async function cloneVoice(file) {
  if (!file) return;
  const name = $("clone-name").value.trim();
  const status = $("clone-status");
  if (!name) {
    setStatus(status, "bad", "Type a name for the new voice first (letters, digits, - or _).");
    return;
  }
  try {
    const sample = await uploadAudio(file, status);
    setStatus(status, "busy", `Cloning ${name} from ${sample.name} (${sample.duration_s.toFixed(0)} s)... this takes a little while.`);
    const result = await api("/api/voices/clone", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, audio_id: sample.id }),
    });
    await loadVoices(result.voice);
    setStatus(status, "ok", `Voice ${result.voice} is ready and selected.`);
  } catch (err) {
    setStatus(status, "bad", err.message);
  }
}

// ---- Step 4: render ----------------------------------------------------------------------
function updateRenderButton() {
  if (state.tab === "batch") {
    const count = batchItems().length;
    $("batch-count").textContent = count;
    $("render").textContent = count === 1 ? "Render 1 video" : `Render ${count} videos`;
    $("render").disabled = !(state.photoId && count);
    $("render-hint").textContent = !state.photoId ? "Upload a photo that passes the check (step 1)."
      : !count ? "Paste scripts separated by ---, or choose .txt files (step 2)."
      : "Ready. The videos render one after another.";
    return;
  }
  $("render").textContent = "Render video";
  const hasWords = $("script").value.trim().length > 0 || state.audioId;
  $("render").disabled = !(state.photoId && hasWords);
  $("render-hint").textContent = !state.photoId ? "Upload a photo that passes the check (step 1)."
    : !hasWords ? "Write a script or upload a narration (step 2)."
    : "Ready. Renders queue up if one is already running.";
}

function settings() {
  const data = {
    photo_id: state.photoId,
    audio_id: state.audioId,
    script: $("script").value,
    voice: $("voice").value,
    style: $("style").value,
    aspect: $("aspect").value,
    preset: $("preset").value,
    captions: $("captions").checked,
    fps: $("fps").value,
    seed: $("seed").value || 0,
    mouth: $("mouth").value,
    face_index: $("face").value.trim(),
  };
  if (state.motionSupported) data.motion_scale = $("motion").value;
  if (state.loopSupported) data.loop = $("loop").checked;
  return data;
}

async function startRender() {
  if (state.tab === "batch") return startBatch();
  showMessage("info", "");
  $("render-warnings").innerHTML = "";
  try {
    const job = await api("/api/render", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(settings()),
    });
    state.jobId = job.id;
    $("downloads").hidden = true;
    $("progress").hidden = false;
    document.body.dataset.job = "running";
    poll();
  } catch (err) {
    showMessage("bad", err.message);
  }
}

function drawProgress(job) {
  const pct = Math.round(job.fraction * 100);
  $("bar-fill").style.width = pct + "%";
  $("bar").setAttribute("aria-valuenow", String(pct));
  let label = job.stage_label;
  if (job.state === "queued") label = `Queued: ${job.queue_position > 1 ? job.queue_position - 1 + " other render(s)" : "another render"} first`;
  else if (job.state === "running" && job.stage !== "photo") label += ` (${Math.round(job.stage_fraction * 100)}%)`;
  $("stage-label").textContent = label;
  $("stage-pct").textContent = job.state === "queued" ? "" : pct + "%";
  const current = STAGE_ORDER.indexOf(job.stage);
  for (const li of $("stages").children) {
    const i = STAGE_ORDER.indexOf(li.dataset.stage);
    li.classList.toggle("active", job.state === "running" && i === current);
    li.classList.toggle("done", job.state === "done" || (job.state === "running" && i < current));
  }
}

async function poll() {
  clearTimeout(state.pollTimer);
  const jobId = state.jobId;
  let job;
  try {
    job = await api(`/api/jobs/${jobId}`);
  } catch (err) {
    showMessage("bad", err.message);
    state.pollTimer = setTimeout(poll, POLL_MS * 5);
    return;
  }
  if (jobId !== state.jobId) return;
  drawProgress(job);
  if (job.state === "done") {
    document.body.dataset.job = "done";
    showJob(job);
    refreshGallery();
  } else if (job.state === "failed") {
    document.body.dataset.job = "failed";
    showMessage("bad", job.message);
  } else {
    state.pollTimer = setTimeout(poll, POLL_MS);
  }
}

function showJob(job) {
  const player = $("player");
  player.src = `/api/jobs/${job.id}/mp4`;
  player.hidden = false;
  $("player-placeholder").hidden = true;
  $("dl-mp4").href = `/api/jobs/${job.id}/mp4?download=1`;
  $("dl-srt").href = `/api/jobs/${job.id}/srt?download=1`;
  $("dl-vtt").href = `/api/jobs/${job.id}/vtt?download=1`;
  $("downloads").hidden = false;
  const list = $("render-warnings");
  list.innerHTML = "";
  for (const text of job.warnings || []) {
    const li = document.createElement("li");
    li.className = "warning";
    li.textContent = text;
    list.appendChild(li);
  }
  const s = job.summary || {};
  showMessage("info", `Done: ${job.duration_s.toFixed(1)} s, ${s.aspect || ""} at ${s.fps || ""} fps, voice ${s.voice || ""}, ${s.style || ""} style.`);
}

// ---- Several videos at once ---------------------------------------------------------------
function batchItems() {
  const items = [];
  const pasted = $("batch-text").value;
  if (pasted.trim()) {
    const pieces = pasted.split(BATCH_SEPARATOR);
    if (pieces.length > 1 && !pieces[pieces.length - 1].trim()) pieces.pop();   // a trailing ---
    for (const text of pieces) items.push({ name: `item ${items.length + 1}`, text: text.trim() });
  }
  return items.concat(state.batchFiles);
}

async function readScriptFile(file) {
  if (file.size > state.limits.batch_item_bytes) {
    return { name: file.name, error: `${file.name} is too large (${Math.round(file.size / 1024)} KB): the limit is ${Math.round(state.limits.batch_item_bytes / 1024)} KB per script. Split it into shorter scripts.` };
  }
  // Lenient decoding: bytes that are not UTF-8 arrive as U+FFFD and the server names the problem.
  const text = new TextDecoder("utf-8").decode(await file.arrayBuffer());
  return { name: file.name, text };
}

async function chooseScriptFiles(files) {
  const chosen = Array.from(files);
  setStatus($("batch-files"), "busy", `Reading ${chosen.length} file(s)...`);
  state.batchFiles = await Promise.all(chosen.map(readScriptFile));
  setStatus($("batch-files"), "ok", `${chosen.length} file(s): ${chosen.map((f) => f.name).join(", ")}`);
  $("batch-clear").hidden = !chosen.length;
  updateRenderButton();
}

async function startBatch() {
  showMessage("info", "");
  const items = batchItems();
  if (items.length > state.limits.batch_items) {
    showMessage("bad", `${items.length} scripts is too many for one batch: the limit is ${state.limits.batch_items}. Split them into several batches.`);
    return;
  }
  const data = settings();
  delete data.script;
  delete data.audio_id;
  data.scripts = items.filter((item) => !item.error).map(({ name, text }) => ({ name, text }));
  let answer = { items: [] };
  try {
    if (data.scripts.length) {
      answer = await api("/api/batch", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
    }
  } catch (err) {
    showMessage("bad", err.message);
    return;
  }
  const sent = answer.items[Symbol.iterator]();
  state.batch = items.map((item) => (item.error ? { name: item.name, id: null, error: item.error } : sent.next().value));
  for (const item of state.batch) item.job = null;
  $("batch-card").hidden = false;
  drawBatch();
  $("batch-card").scrollIntoView({ behavior: "smooth" });
  pollBatch();
}

function batchRow(item) {
  const li = document.createElement("li");
  const job = item.job;
  const kind = item.error || (job && job.state === "failed") ? "failed" : job ? job.state : "queued";
  li.className = "batch-item " + kind;
  li.dataset.state = kind;
  const head = document.createElement("div");
  head.className = "batch-head";
  const name = document.createElement("b");
  name.textContent = item.name;
  const label = document.createElement("span");
  label.className = "pill " + kind;
  if (kind === "failed") label.textContent = "Failed";
  else if (kind === "done") label.textContent = `Done \u00b7 ${job.duration_s.toFixed(1)} s`;
  else if (kind === "running") label.textContent = `${job.stage_label} \u00b7 ${Math.round(job.fraction * 100)}%`;
  else label.textContent = job && job.queue_position > 1 ? `Queued (${job.queue_position - 1} ahead)` : "Queued";
  head.append(name, label);
  li.append(head);
  if (kind === "running" || kind === "queued") {
    const bar = document.createElement("div");
    bar.className = "bar small";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = Math.round((job ? job.fraction : 0) * 100) + "%";
    bar.append(fill);
    li.append(bar);
  }
  const message = item.error || (job && job.state === "failed" ? job.message : "");
  if (message) {
    const p = document.createElement("div");
    p.className = "batch-error";
    p.textContent = message;
    li.append(p);
  }
  if (kind === "done") {
    const links = document.createElement("div");
    links.className = "batch-links";
    const play = document.createElement("button");
    play.type = "button";
    play.className = "link";
    play.textContent = "Play";
    play.addEventListener("click", () => {
      state.jobId = job.id;
      $("progress").hidden = true;
      showJob(job);
      $("result-card").scrollIntoView({ behavior: "smooth" });
    });
    links.append(play);
    for (const [kindOut, text] of [["mp4", "MP4"], ["srt", ".srt"], ["vtt", ".vtt"]]) {
      const a = document.createElement("a");
      a.href = `/api/jobs/${job.id}/${kindOut}?download=1`;
      a.textContent = text;
      a.setAttribute("download", "");
      links.append(a);
    }
    li.append(links);
  }
  return li;
}

function drawBatch() {
  const list = $("batch-list");
  list.innerHTML = "";
  for (const item of state.batch) list.append(batchRow(item));
  const count = (kind) => state.batch.filter((i) => (i.error ? "failed" : i.job ? i.job.state : "queued") === kind).length;
  const done = count("done"), failed = count("failed");
  $("batch-summary").textContent = `${done} of ${state.batch.length} done` + (failed ? `, ${failed} failed` : "");
  const finished = done + failed === state.batch.length;
  document.body.dataset.batch = finished ? "finished" : "running";
}

async function pollBatch() {
  clearTimeout(state.batchTimer);
  const batch = state.batch;
  let newlyDone = false;
  for (const item of batch) {
    if (!item.id || (item.job && ["done", "failed"].includes(item.job.state))) continue;
    try {
      item.job = await api(`/api/jobs/${item.id}`);
    } catch (err) {
      item.error = err.message;
      continue;
    }
    if (item.job.state === "done") newlyDone = true;
  }
  if (batch !== state.batch) return;   // a newer batch took over
  drawBatch();
  if (newlyDone) refreshGallery();
  if (document.body.dataset.batch === "running") state.batchTimer = setTimeout(pollBatch, POLL_MS);
}

// ---- Gallery -----------------------------------------------------------------------------
async function refreshGallery() {
  let data;
  try { data = await api("/api/jobs"); } catch (err) { return; }
  const gallery = $("gallery");
  gallery.innerHTML = "";
  if (!data.jobs.length) {
    gallery.innerHTML = '<p class="hint">Finished videos show up here.</p>';
    return;
  }
  for (const job of data.jobs) {
    const tile = document.createElement("button");
    tile.type = "button";
    tile.className = "tile";
    tile.dataset.job = job.id;
    const video = document.createElement("video");
    video.src = `/api/jobs/${job.id}/mp4#t=0.5`;
    video.preload = "metadata";
    video.muted = true;
    const meta = document.createElement("div");
    meta.className = "meta";
    const title = document.createElement("b");
    const s = job.summary || {};
    title.textContent = s.title || s.script || s.audio || "untitled";
    const when = new Date(job.created_s * 1000);
    meta.append(title, `${job.duration_s.toFixed(1)} s · ${s.aspect || ""} · ${when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`);
    tile.append(video, meta);
    tile.addEventListener("click", () => {
      state.jobId = job.id;
      $("progress").hidden = true;
      showJob(job);
      $("result-card").scrollIntoView({ behavior: "smooth" });
    });
    gallery.appendChild(tile);
  }
}

// ---- Wiring ------------------------------------------------------------------------------
function wire() {
  const drop = $("photo-drop");
  $("photo-input").addEventListener("change", (e) => { uploadPhoto(e.target.files[0]); e.target.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("dragging"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("dragging");
    uploadPhoto(e.dataTransfer.files[0]);
  });
  $("script").addEventListener("input", updateScriptCount);
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  $("audio-choose").addEventListener("click", () => $("audio-input").click());
  $("audio-input").addEventListener("change", (e) => { chooseNarration(e.target.files[0]); e.target.value = ""; });
  $("audio-clear").addEventListener("click", () => {
    state.audioId = null;
    setStatus($("audio-status"), "idle", "No recording.");
    $("audio-clear").hidden = true;
    updateRenderButton();
  });
  $("clone-choose").addEventListener("click", () => $("clone-input").click());
  $("clone-input").addEventListener("change", (e) => { cloneVoice(e.target.files[0]); e.target.value = ""; });
  $("motion").addEventListener("input", () => { $("motion-value").textContent = Number($("motion").value).toFixed(1); });
  $("render").addEventListener("click", startRender);
  $("batch-text").addEventListener("input", updateRenderButton);
  $("batch-choose").addEventListener("click", () => $("batch-input").click());
  $("batch-input").addEventListener("change", (e) => { chooseScriptFiles(e.target.files); e.target.value = ""; });
  $("batch-clear").addEventListener("click", () => {
    state.batchFiles = [];
    setStatus($("batch-files"), "idle", "");
    $("batch-clear").hidden = true;
    updateRenderButton();
  });
  $("face").addEventListener("change", () => { if (state.photoFile) uploadPhoto(state.photoFile); });
}

wire();
init();
