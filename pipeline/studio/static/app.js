// avatar studio page: uploads, settings, render progress, preview, downloads, gallery.
// The server hands out ids only; this page never sends a file path.
"use strict";

const POLL_MS = 400;
const WORDS_PER_SECOND = 2.6;   // speaking rate, for the rough length shown under the script
const MB = 1024 * 1024;
const STAGE_ORDER = ["photo", "speech", "timing", "render", "finish"];

const state = {
  photoId: null,
  photoFile: null,   // kept to check again when the face number changes
  audioId: null,
  jobId: null,
  limits: { photo_bytes: 20 * MB, audio_bytes: 200 * MB },
  pollTimer: null,
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
  $("tab-script").hidden = false;   // the script doubles as the transcript of a narration
  $("tab-audio").hidden = name !== "audio";
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
    title.textContent = s.script || s.audio || "untitled";
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
  $("face").addEventListener("change", () => { if (state.photoFile) uploadPhoto(state.photoFile); });
}

wire();
init();
