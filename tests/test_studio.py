"""avatar studio: the web app's API, its render queue, and the page in a real headless Chromium."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import wave
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.config import MotionConfig, RenderConfig
from pipeline.errors import InputError, PhotoError
from pipeline.studio.app import build_config, is_loopback
from pipeline.studio.jobs import JobQueue, RenderRequest, WebProgress, overall_fraction
from pipeline.studio.uploads import MAX_PHOTO_BYTES, UploadTooLarge, save_stream

from conftest import EVAL, EXAMPLES, REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_S = 60
RENDER_WAIT_MS = 180_000
SCRIPT = "Hello from the studio."


# ---- pieces without a server -------------------------------------------------------------------
def test_loopback_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.com")


def test_cli_refuses_a_network_host_without_allow_remote(tmp_path, capsys):
    assert main(["studio", "--host", "0.0.0.0", "--out-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "--allow-remote" in err and "127.0.0.1" in err
    assert not (tmp_path / "s").exists()   # refused before anything was made


def test_cli_says_when_the_port_is_taken(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["studio", "--port", str(port), "--out-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "pick another with --port" in err


def test_build_config_maps_the_page_settings_like_the_cli():
    config = build_config({"preset": "draft", "aspect": "1:1", "fps": "15", "captions": False,
                           "style": "calm", "voice": "joe", "seed": "3", "face_index": ""})
    assert config.video.preset == "ultrafast" and config.video.aspect == "1:1" and config.video.fps == 15
    assert not config.captions.enabled and config.captions.sidecars
    assert config.motion.style == "calm" and config.motion.seed == 3 and config.face_index is None
    if any(f.name == "scale" for f in fields(MotionConfig)):
        assert build_config({"motion_scale": "0.5"}).motion.scale == 0.5
    else:
        assert build_config({"motion_scale": "0.5"}) == RenderConfig(quiet=True)
    if any(f.name == "loop" for f in fields(MotionConfig)):
        assert build_config({"loop": True}).motion.loop and not build_config({}).motion.loop
    for bad in ({"style": "wild"}, {"fps": "abc"}, {"aspect": "2:1"}, {"preset": "huge"}, {"fps": 200}):
        with pytest.raises(InputError):
            build_config(bad)


def test_the_studio_and_a_manifest_make_the_same_config_from_the_same_settings():
    from pipeline.batch.manifest import config_of

    cases = [
        {},
        {"preset": "quality", "aspect": "16:9", "fps": "24", "seed": "7", "style": "expressive",
         "voice": "joe", "mouth": "envelope", "captions": False, "loop": True, "motion_scale": "0.4"},
        {"captions": "no", "loop": "yes", "fps": 15, "seed": 2, "motion_scale": 0},
    ]
    for settings in cases:
        page = {**settings, "face_index": "1"}
        manifest = {**settings, "face": 1}
        assert build_config(page) == config_of(manifest), settings
    # Bad values are refused with one message, whichever door they came in by.
    for bad in ({"fps": "abc"}, {"seed": "1.5"}, {"loop": "sometimes"}, {"captions": "maybe"},
                {"motion_scale": "lots"}, {"style": "wild"}, {"preset": "huge"}):
        with pytest.raises(InputError) as from_page:
            build_config(bad)
        with pytest.raises(InputError) as from_manifest:
            config_of(bad)
        assert str(from_page.value) == str(from_manifest.value), bad
    # An empty face box is the largest face; a lexicon names a file on the server, which only a
    # manifest or the command line may do, never the browser.
    assert build_config({"face_index": ""}) == config_of({})
    assert build_config({"lexicon": "/etc/passwd"}).lexicon is None


def test_oversize_stream_stops_and_leaves_no_file(tmp_path):
    async def chunks():
        for _ in range(5):
            yield b"x" * 400

    path = tmp_path / "u.upload"
    with pytest.raises(UploadTooLarge, match="too large"):
        asyncio.run(save_stream(chunks(), path, 1000, "photo"))
    assert not path.exists()
    assert asyncio.run(save_stream(chunks(), path, 2000, "photo")) == 2000 and path.stat().st_size == 2000


def test_web_progress_reports_stage_and_fraction():
    seen: list[tuple[str, float]] = []
    progress = WebProgress(lambda stage, fraction: seen.append((stage, fraction)))
    assert list(progress.iterate(range(4), desc="render", total=4)) == [0, 1, 2, 3]
    with progress.bar("timing ", total=2.0) as bar:   # align() sets n and refreshes
        bar.n = 1.0
        bar.refresh()
    assert seen[-1] == ("timing", 0.5) and ("render", 1.0) in seen
    assert overall_fraction("photo", 0) == 0 < overall_fraction("render", 0.5) < overall_fraction("finish", 0)


def test_queue_runs_one_render_at_a_time_and_survives_failures(tmp_path):
    release = threading.Event()
    active: list[str] = []
    most_at_once = [0]

    def fake_render(photo, out, *, script, audio, config, progress):
        active.append(script)
        most_at_once[0] = max(most_at_once[0], len(active))
        try:
            if script == "first":
                release.wait(30)
            if script == "bad":
                raise PhotoError(f"No face found in {photo} ({Path(photo).name}). Use another photo.")
            if script == "bug":
                raise RuntimeError("boom")
            list(progress.iterate(range(2), desc="render", total=2))
            Path(out).write_bytes(b"mp4")
            return type("R", (), {"duration_s": 1.0, "warnings": []})()
        finally:
            active.remove(script)

    jobs = JobQueue(tmp_path, render_fn=fake_render)
    photo = tmp_path / "uploads" / "abc.png"
    ids = [jobs.submit(RenderRequest(photo, RenderConfig(), script=s, names={str(photo): "me.png"}))
           for s in ("first", "bad", "bug", "last")]
    deadline = time.monotonic() + 30
    while jobs.get(ids[0])["state"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert jobs.get(ids[0])["state"] == "running"
    assert jobs.get(ids[1])["state"] == "queued" and jobs.get(ids[1])["queue_position"] == 1
    assert jobs.get(ids[3])["queue_position"] == 3
    release.set()
    deadline = time.monotonic() + 30
    while jobs.get(ids[3])["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
    states = [jobs.get(i)["state"] for i in ids]
    assert states == ["done", "failed", "failed", "done"] and most_at_once[0] == 1
    bad = jobs.get(ids[1])["message"]
    # The user's name for the photo, never the server's path or file name.
    assert "me.png" in bad and str(tmp_path) not in bad and "abc.png" not in bad
    assert "bug" in jobs.get(ids[2])["message"]
    assert [j["id"] for j in jobs.finished()] == [ids[3], ids[0]]    # newest first
    assert jobs.output_path(ids[0], "mp4") is not None and jobs.output_path(ids[1], "mp4") is None
    assert jobs.output_path("../" + ids[0], "mp4") is None and jobs.output_path(ids[0], "job.json") is None
    jobs.close(timeout_s=5)
    # A new studio on the same folder shows the finished renders in its gallery.
    assert {j["id"] for j in JobQueue(tmp_path).finished()} == {ids[0], ids[3]}


# ---- the real server, as `avatar studio` runs it ------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("studio-out")
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    log_path = out_dir.parent / "studio.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "studio", "--port", str(port),
                                 "--out-dir", str(out_dir)], cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_S
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2) as r:
                if json.load(r)["ok"]:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"studio did not start: {log_path.read_text(errors='replace')}")
        time.sleep(0.2)
    yield {"base": base, "port": port, "out_dir": out_dir, "proc": proc, "log": log_path}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _request(base: str, path: str, body: bytes | None = None, method: str | None = None,
             headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"text": raw.decode("utf-8", "replace")}


def _no_face_png(path: Path) -> Path:
    y, x = np.mgrid[0:480, 0:360]
    rgb = np.stack([x * 255 // 360, y * 255 // 480, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def test_api_refuses_bad_uploads_and_paths(studio, tmp_path):
    base = studio["base"]
    status, data = _request(base, "/api/photo?name=notes.jpg", b"just some text, not a photo\n")
    assert status == 400 and "not a photo" in data["error"] and "notes.jpg" in data["error"]
    status, data = _request(base, "/api/photo?name=../../etc/passwd", b"")
    assert status == 400 and "empty" in data["error"]
    status, data = _request(base, "/api/photo?name=grad.png", _no_face_png(tmp_path / "g.png").read_bytes())
    assert status == 200 and not data["ok"] and data["faces_found"] == 0
    assert any("No face found in grad.png" in e for e in data["errors"])
    status, data = _request(base, "/api/audio?name=talk.wav", b"RIFF not really a wave file")
    assert status == 400 and "talk.wav" in data["error"] and "export" in data["error"].lower()
    tone = tmp_path / "tone.wav"
    t_s = np.arange(22050 * 2) / 22050
    with wave.open(str(tone), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes((0.3 * np.sin(2 * np.pi * 220 * t_s) * 32767).astype(np.int16).tobytes())
    status, data = _request(base, "/api/audio?name=tone.wav", tone.read_bytes())
    assert status == 200 and abs(data["duration_s"] - 2.0) < 0.05 and data["name"] == "tone.wav"
    status, data = _request(base, "/api/voices/clone", json.dumps({"name": "x"}).encode(),
                            headers={"Content-Type": "application/json"})
    assert status == 400 and "Upload a recording" in data["error"]

    # An oversize body is refused from its Content-Length alone: none of it is sent here.
    conn = http.client.HTTPConnection("127.0.0.1", studio["port"], timeout=30)
    conn.putrequest("POST", "/api/photo?name=big.jpg")
    conn.putheader("Content-Length", str(50 * 1024 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert f"limit is {MAX_PHOTO_BYTES // 2**20} MB" in json.loads(response.read())["error"]
    conn.close()

    # Ids only: anything else is not found, and no server path ever comes back.
    for path in ("/api/jobs/../../etc/passwd", "/api/jobs/%2e%2e%2fjob.json", "/api/photo/abc",
                 "/api/jobs/" + "0" * 32, "/api/jobs/" + "0" * 32 + "/mp4", "/static/../app.py"):
        assert _request(base, path)[0] == 404, path
    status, data = _request(base, "/api/render", json.dumps({"photo_id": "../selfie.png",
                                                            "script": "Hi."}).encode(),
                            headers={"Content-Type": "application/json"})
    assert status == 400 and "Upload a photo" in data["error"]
    # A page on another site reaching 127.0.0.1 through its own DNS name is turned away.
    assert _request(base, "/api/health", headers={"Host": "evil.example"})[0] == 400
    assert str(studio["out_dir"]) not in json.dumps(_request(base, "/api/jobs")[1])
    assert studio["proc"].poll() is None


def _ffmpeg_streams(path: Path) -> str:
    import imageio_ffmpeg

    result = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                            capture_output=True, text=True)
    return result.stderr


def test_browser_render_from_upload_to_download(studio, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright import sync_api  # a dev dependency: missing, the test fails rather than skips

    text_as_jpg = tmp_path / "holiday.jpg"
    text_as_jpg.write_text("this is a text file with a photo's name\n")
    no_face = _no_face_png(tmp_path / "wall.png")
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as f:          # 50 MB, sparse: cheap to make
        f.truncate(50 * 1024 * 1024)
    eval_bad = [p for p in (EVAL / "bad" / "whisper_approach_diagram_noface.png",
                            EVAL / "bad" / "facerec_two_people.jpg") if p.exists()]

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(studio["base"] + "/")
            page.wait_for_function("document.getElementById('voice').options.length > 0")
            assert page.locator("#render").is_disabled()
            status = page.locator("#photo-status")

            def upload(path: Path) -> str:
                page.set_input_files("#photo-input", str(path))
                page.wait_for_function(
                    "!document.getElementById('photo-status').classList.contains('busy') && "
                    "!document.getElementById('photo-status').classList.contains('idle')")
                return status.inner_text() + "\n" + page.locator("#photo-issues").inner_text()

            shown = upload(text_as_jpg)
            assert "holiday.jpg is not a photo" in shown and "JPEG or PNG" in shown
            assert "bad" in status.get_attribute("class")
            shown = upload(no_face)
            assert "No usable face" in shown and "No face found in wall.png" in shown
            shown = upload(huge)
            assert "too large (50 MB)" in shown and "limit is 20 MB" in shown
            for path in eval_bad:
                shown = upload(path)
                assert "bad" in status.get_attribute("class"), shown
            assert page.locator("#render").is_disabled()
            assert studio["proc"].poll() is None

            shown = upload(EXAMPLES / "selfie.png")
            assert "Face found" in shown
            assert page.locator("#photo-preview").evaluate("img => img.complete && img.naturalWidth") > 0

            # Input the pipeline refuses comes back as its message, in the page.
            page.fill("#script", "\U0001F600 \U0001F680")
            page.click("#render")
            page.wait_for_selector("#message.bad")
            assert "script" in page.locator("#message").inner_text().lower()

            page.fill("#script", SCRIPT)
            page.select_option("#preset", "draft")
            page.select_option("#aspect", "1:1")
            page.select_option("#style", "calm")
            page.click("details.advanced summary")
            page.fill("#fps", "15")
            page.click("#render")
            page.wait_for_selector("#progress:not([hidden])")
            page.wait_for_function("['done', 'failed'].includes(document.body.dataset.job)",
                                   timeout=RENDER_WAIT_MS)
            assert page.evaluate("document.body.dataset.job") == "done", page.locator("#message").inner_text()
            assert page.locator("#stage-label").inner_text() == "Done"
            page.wait_for_function("document.getElementById('player').readyState >= 2", timeout=30_000)
            duration_s = page.evaluate("document.getElementById('player').duration")
            assert 0.5 < duration_s < 10
            page.wait_for_selector("#gallery .tile")

            with page.expect_download() as dl:
                page.click("#dl-srt")
            srt = tmp_path / "captions.srt"
            dl.value.save_as(srt)
            assert dl.value.suggested_filename.endswith(".srt")
            captions = srt.read_text()
            assert "-->" in captions and "studio" in captions.lower()
            with page.expect_download() as dl:
                page.click("#dl-vtt")
            assert dl.value.suggested_filename.endswith(".vtt")
            vtt = tmp_path / "captions.vtt"
            dl.value.save_as(vtt)
            assert vtt.read_text().startswith("WEBVTT")
            with page.expect_download() as dl:
                page.click("#dl-mp4")
            mp4 = tmp_path / "video.mp4"
            dl.value.save_as(mp4)
            probe = _ffmpeg_streams(mp4)
            assert re.search(r"Video: h264.*1080x1080", probe) and "Audio: aac" in probe, probe

            assert "selfie.png" in page.locator("#render-warnings").inner_text()
            page.wait_for_function("document.getElementById('player').readyState >= 4", timeout=30_000)
            page.evaluate("window.scrollTo(0, 0)")
            shot = page.screenshot(full_page=True)
            (tmp_path / "studio_done.png").write_bytes(shot)
            shutil.copy(tmp_path / "studio_done.png", "/tmp/studio_done.png")
            assert errors == []
        finally:
            browser.close()
    assert studio["proc"].poll() is None


# ---- several videos at once, on a studio with a fake render (the queue and page, not the pipeline)
def _tiny_mp4(path: Path) -> Path:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "color=c=0x4f46e5:s=96x96:d=1:r=10", "-pix_fmt", "yuv420p", "-y", str(path)],
                   check=True)
    return path


@pytest.fixture(scope="module")
def fake_studio(tmp_path_factory):
    """create_app with a render_fn that copies a tiny clip: batch flow in well under a second."""
    import uvicorn

    from pipeline.studio.app import create_app

    out_dir = tmp_path_factory.mktemp("studio-fake")
    clip = _tiny_mp4(out_dir.parent / "tiny.mp4")
    rendered: list[str] = []

    def fake_render(photo, out, *, script, audio, config, progress):
        rendered.append(script)
        list(progress.iterate(range(3), desc="render", total=3))
        shutil.copy(clip, out)
        Path(out).with_suffix(".srt").write_text(f"1\n00:00:00,000 --> 00:00:01,000\n{script}\n")
        Path(out).with_suffix(".vtt").write_text(f"WEBVTT\n\n00:00.000 --> 00:01.000\n{script}\n")
        return type("R", (), {"duration_s": 1.0, "warnings": []})()

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(out_dir, render_fn=fake_render),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_S
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the fake studio did not start"
    status, photo = _request(base, "/api/photo?name=me.png", (EXAMPLES / "selfie.png").read_bytes())
    assert status == 200 and photo["ok"], photo
    yield {"base": base, "port": port, "out_dir": out_dir, "photo_id": photo["id"],
           "rendered": rendered}
    server.should_exit = True
    thread.join(10)


def _wait_job(base: str, job_id: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        job = _request(base, f"/api/jobs/{job_id}")[1]
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_batch_queues_good_scripts_and_reports_bad_ones_alone(fake_studio):
    base, json_headers = fake_studio["base"], {"Content-Type": "application/json"}

    def post(body: dict) -> tuple[int, dict]:
        return _request(base, "/api/batch", json.dumps(body).encode(), headers=json_headers)

    settings = {"photo_id": fake_studio["photo_id"], "preset": "draft", "aspect": "1:1"}
    status, data = post({**settings, "scripts": [{"name": "monday.txt", "text": "Hello Monday."},
                                                 {"name": "", "text": "  \n"},
                                                 {"name": "../../etc/friday.txt", "text": "Bye Friday."}]})
    assert status == 200, data
    items = data["items"]
    assert [i["name"] for i in items] == ["monday.txt", "item 2", "friday.txt"]
    assert items[0]["id"] and items[2]["id"] and items[1]["id"] is None
    assert "item 2" in items[1]["error"] and "script is empty" in items[1]["error"]
    jobs = [_wait_job(base, items[i]["id"]) for i in (0, 2)]
    assert [j["state"] for j in jobs] == ["done", "done"]
    assert [j["summary"]["title"] for j in jobs] == ["monday.txt", "friday.txt"]
    assert fake_studio["rendered"][-2:] == ["Hello Monday.", "Bye Friday."]   # in order, one each
    gallery = {j["id"] for j in _request(base, "/api/jobs")[1]["jobs"]}
    assert {items[0]["id"], items[2]["id"]} <= gallery
    assert _request(base, f"/api/jobs/{items[0]['id']}/srt")[1]["text"].count("Hello Monday") == 1

    # Binary data and emoji-only scripts fail alone, each with the reason and the fix.
    status, data = post({**settings, "scripts": [{"name": "photo.txt", "text": "\x00\ufffdPNG"},
                                                 {"name": "fun.txt", "text": "\U0001F600 \U0001F680"},
                                                 {"name": "big.txt", "text": "a" * 300_000},
                                                 "not an item"]})
    assert status == 200 and all(i["id"] is None for i in data["items"])
    binary, emoji, big, odd = (i["error"] for i in data["items"])
    assert "photo.txt is not a UTF-8 text file" in binary and "plain UTF-8" in binary
    assert "fun.txt" in emoji and "only emoji" in emoji
    assert "big.txt is too large" in big and "200 KB" in big
    assert "item 4" in odd

    # Refused as a whole: no photo, no scripts, too many, a bad shared setting.
    assert "Upload a photo" in post({"scripts": [{"text": "Hi."}]})[1]["error"]
    assert "Nothing to render" in post({**settings, "scripts": []})[1]["error"]
    status, data = post({**settings, "scripts": [{"text": "Hi."}] * 51})
    assert status == 400 and "limit is 50" in data["error"]
    status, data = post({**settings, "style": "wild", "scripts": [{"text": "Hi."}]})
    assert status == 400 and "wild" in data["error"]
    assert str(fake_studio["out_dir"]) not in json.dumps(_request(base, "/api/jobs")[1])


def test_browser_batch_renders_each_script_and_shows_failures_beside_their_item(fake_studio, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright import sync_api

    good = tmp_path / "launch.txt"
    good.write_text("We launch on Tuesday.\n", encoding="utf-8")
    binary = tmp_path / "selfie.txt"
    binary.write_bytes((EXAMPLES / "selfie.png").read_bytes()[:4000])

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(fake_studio["base"] + "/")
            page.wait_for_function("document.getElementById('voice').options.length > 0")
            page.set_input_files("#photo-input", str(EXAMPLES / "selfie.png"))
            page.wait_for_selector("#photo-status.ok, #photo-status.warn")
            page.click("button.tab[data-tab=batch]")
            assert page.locator("#script").is_hidden()
            page.fill("#batch-text", "Hello from item one.\n---\n\U0001F600 \U0001F680\n---\n")
            page.set_input_files("#batch-input", [str(good), str(binary)])
            page.wait_for_function("document.getElementById('render').textContent === 'Render 4 videos'")
            page.click("#render")
            page.wait_for_function("document.body.dataset.batch === 'finished'", timeout=30_000)
            rows = page.locator("#batch-list li")
            assert rows.count() == 4
            states = [rows.nth(i).get_attribute("data-state") for i in range(4)]
            assert states == ["done", "failed", "done", "failed"]
            assert "only emoji" in rows.nth(1).inner_text() and "item 2" in rows.nth(1).inner_text()
            assert "selfie.txt is not a UTF-8 text file" in rows.nth(3).inner_text()
            assert "launch.txt" in rows.nth(2).inner_text()
            assert page.locator("#batch-summary").inner_text() == "2 of 4 done, 2 failed"
            page.wait_for_selector("#gallery .tile:has-text('launch.txt')")
            href = rows.nth(0).locator("a", has_text="MP4").get_attribute("href")
            assert re.fullmatch(r"/api/jobs/[0-9a-f]{32}/mp4\?download=1", href)
            rows.nth(2).locator("button", has_text="Play").click()
            page.wait_for_function("document.getElementById('player').readyState >= 2", timeout=30_000)
            page.locator("#batch-card").screenshot(path=str(tmp_path / "studio_batch.png"))
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(tmp_path / "studio_batch_page.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
