"""The studio web app: everything `avatar render`, `check` and `voices` do, in a local page.

The browser sends file bodies and settings and only ever gets ids back: uploads and renders live
under server-chosen names in out_dir, and every id is checked against one pattern before use.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import webbrowser
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from pipeline.batch.manifest import config_of
from pipeline.config import (
    ASPECT_SIZES_PX,
    DEFAULT_FPS,
    MAX_FPS,
    MAX_MOTION_SCALE,
    MIN_FPS,
    MOUTH_DRIVERS,
    PRESETS,
    STYLES,
    MotionConfig,
    RenderConfig,
)
from pipeline.errors import InputError
from pipeline.studio.jobs import JobQueue, RenderRequest, is_id, new_id
from pipeline.studio.uploads import (
    MAX_AUDIO_BYTES,
    MAX_PHOTO_BYTES,
    UPLOADS_DIR,
    Upload,
    UploadTooLarge,
    check_audio,
    display_name,
    public_message,
    save_stream,
    sniff_photo,
    too_large_message,
)

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
LOCAL_HOSTS = ["127.0.0.1", "localhost"]
MAX_JSON_BYTES = 1024 * 1024          # settings and a script: a 60,000-character script fits easily
MAX_BATCH_ITEMS = 50
MAX_BATCH_ITEM_BYTES = 200 * 1024     # one script file; a 60,000-character script is far below
# Every item at its limit, JSON-escaped, still fits: the size check is per item, not this.
MAX_BATCH_JSON_BYTES = MAX_BATCH_ITEMS * MAX_BATCH_ITEM_BYTES * 2
DOWNLOAD_TYPES = {"mp4": "video/mp4", "srt": "application/x-subrip", "vtt": "text/vtt"}
# The settings the page may send. No lexicon: that is a path on this machine, which a manifest or
# the command line may name but a browser must not.
PAGE_SETTINGS = ("voice", "style", "aspect", "fps", "seed", "captions", "loop", "preset", "mouth",
                 "face_index", "motion_scale")
PAGE_TO_CONFIG_NAMES = {"face_index": "face"}
# Boxes the page leaves empty for "the default" (the largest face, natural motion).
BLANK_IS_UNSET = ("face_index", "motion_scale")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _declared_size(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


def build_config(settings: dict) -> RenderConfig:
    """A RenderConfig from the page's settings, made by the batch's config_of so the two agree."""
    fields = {}
    for page_name in PAGE_SETTINGS:
        value = settings.get(page_name)
        if page_name not in settings or (page_name in BLANK_IS_UNSET and value in (None, "")):
            continue
        fields[PAGE_TO_CONFIG_NAMES.get(page_name, page_name)] = value
    return config_of(fields)


def batch_item(item: object, number: int, max_chars: int) -> tuple[str, str | None, str | None]:
    """(name, script, None) for a script worth queueing, else (name, None, why it cannot render)."""
    from pipeline.text import prepare_script

    raw = item if isinstance(item, dict) else {}
    name = display_name(str(raw.get("name") or ""), f"item {number}")
    text = raw.get("text")
    if not isinstance(text, str):
        return name, None, (f"{name} has no text the studio can read. Paste the script, or choose "
                            "a plain .txt file.")
    size_bytes = len(text.encode("utf-8", "replace"))
    if size_bytes > MAX_BATCH_ITEM_BYTES:
        return name, None, (f"{name} is too large ({size_bytes // 1024} KB): the limit is "
                            f"{MAX_BATCH_ITEM_BYTES // 1024} KB per script. Split it into shorter "
                            "scripts.")
    # The page decodes files leniently, so bytes that are not UTF-8 text arrive as U+FFFD or NUL.
    if "\x00" in text or "\ufffd" in text:
        return name, None, (f"{name} is not a UTF-8 text file (it holds binary data, whatever its "
                            "name says). Save the script as plain UTF-8 text and choose it again.")
    try:
        prepare_script(text, max_chars=max_chars)
    except InputError as exc:
        return name, None, f"{name}: {exc}"
    return name, text.strip(), None


def create_app(out_dir: Path, *, allow_remote: bool = False, render_fn=None) -> FastAPI:
    """The studio app writing uploads and renders under `out_dir` (created if missing).

    `render_fn` replaces pipeline.api.render (same signature) and is meant for tests only.
    """
    out_dir = Path(out_dir).resolve()
    uploads_dir = out_dir / UPLOADS_DIR
    uploads_dir.mkdir(parents=True, exist_ok=True)
    jobs = JobQueue(out_dir, render_fn=render_fn)
    photos: dict[str, Upload] = {}
    audios: dict[str, Upload] = {}
    clone_lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        jobs.close()

    app = FastAPI(title="avatar studio", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.jobs = jobs
    if not allow_remote:
        # A page on another site cannot reach the studio through a DNS name pointing at 127.0.0.1.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=LOCAL_HOSTS)

    @app.exception_handler(UploadTooLarge)
    async def _too_large(request: Request, exc: UploadTooLarge):
        return _error(413, str(exc))

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError):
        return _error(400, str(exc))

    async def receive(request: Request, kind: str, limit_bytes: int, suffix: str) -> Upload:
        declared = _declared_size(request)
        if declared is not None and declared > limit_bytes:
            # Refused from the header alone: the body is never read.
            raise UploadTooLarge(too_large_message(kind, declared, limit_bytes))
        upload_id = new_id()
        path = uploads_dir / f"{upload_id}.{suffix}"
        name = display_name(request.query_params.get("name"), f"the {kind}")
        await save_stream(request.stream(), path, limit_bytes, kind)
        return Upload(upload_id, path, name)

    @app.get("/")
    async def index():
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/api/health")
    async def health():
        return {"ok": True}

    @app.get("/api/options")
    async def options():
        from pipeline.speech import list_voices

        voices = await run_in_threadpool(list_voices)
        return {
            "voices": [{"name": v.name, "engine": v.engine, "description": v.description}
                       for v in voices],
            "styles": list(STYLES), "aspects": list(ASPECT_SIZES_PX), "presets": list(PRESETS),
            "mouths": list(MOUTH_DRIVERS),
            "fps": {"default": DEFAULT_FPS, "min": MIN_FPS, "max": MAX_FPS},
            "motion_scale": {"supported": True, "default": MotionConfig.scale, "min": 0.0,
                             "max": MAX_MOTION_SCALE},
            "loop": True,
            "limits": {"photo_bytes": MAX_PHOTO_BYTES, "audio_bytes": MAX_AUDIO_BYTES,
                       "batch_items": MAX_BATCH_ITEMS, "batch_item_bytes": MAX_BATCH_ITEM_BYTES},
        }

    @app.post("/api/photo")
    async def upload_photo(request: Request):
        from pipeline.face import check, format_report, load_photo

        upload = await receive(request, "photo", MAX_PHOTO_BYTES, "upload")

        def inspect() -> dict:
            path = upload.path
            try:
                path = path.rename(path.with_suffix(f".{sniff_photo(path, upload.name)}"))
                image = load_photo(path)
            except InputError as exc:
                path.unlink(missing_ok=True)
                raise InputError(public_message(exc, path, upload.name)) from None
            photos[upload.id] = Upload(upload.id, path, upload.name)
            face = request.query_params.get("face")
            report = check(image, face_index=int(face) if face and face.isdigit() else None)
            text = format_report(report).replace("the photo", upload.name)
            return {
                "id": upload.id, "name": upload.name, "ok": report.ok, "report": text,
                "faces_found": report.faces_found, "face_px": report.face_px,
                "size_px": [int(image.shape[1]), int(image.shape[0])],
                "errors": [i.message.replace("the photo", upload.name) for i in report.errors],
                "warnings": [i.message.replace("the photo", upload.name) for i in report.warnings],
            }

        return await run_in_threadpool(inspect)

    @app.get("/api/photo/{photo_id}")
    async def photo_file(photo_id: str):
        upload = photos.get(photo_id) if is_id(photo_id) else None
        if upload is None:
            return _error(404, "No such photo. Upload the photo again.")
        return FileResponse(upload.path)

    @app.post("/api/audio")
    async def upload_audio(request: Request):
        upload = await receive(request, "audio", MAX_AUDIO_BYTES, "audio")
        try:
            duration_s = await run_in_threadpool(check_audio, upload.path, upload.name)
        except InputError:
            upload.path.unlink(missing_ok=True)
            raise
        audios[upload.id] = upload
        return {"id": upload.id, "name": upload.name, "duration_s": round(duration_s, 2)}

    async def read_json(request: Request, limit_bytes: int = MAX_JSON_BYTES) -> dict:
        declared = _declared_size(request)
        if declared is not None and declared > limit_bytes:
            raise UploadTooLarge("The request is too large. Shorten the script (split a long one "
                                 "into several videos).")
        try:
            data = await request.json()
        except ValueError:
            raise InputError("The page sent settings the studio cannot read. Reload the page.") from None
        if not isinstance(data, dict):
            raise InputError("The page sent settings the studio cannot read. Reload the page.")
        return data

    @app.post("/api/voices/clone")
    async def clone(request: Request):
        from pipeline.speech.voices import clone_voice

        data = await read_json(request)
        audio_id = str(data.get("audio_id", ""))
        sample = audios.get(audio_id) if is_id(audio_id) else None
        if sample is None:
            raise InputError("Upload a recording of the speaker first (10 seconds or more of clear "
                             "speech), then clone.")

        def run() -> str:
            with clone_lock:   # two clones of one name must not race on the profile file
                try:
                    return clone_voice(str(data.get("name", "")).strip(), [sample.path]).stem
                except InputError as exc:
                    raise InputError(public_message(exc, sample.path, sample.name)) from None

        name = await run_in_threadpool(run)
        return {"voice": name}

    def uploaded_photo(data: dict) -> Upload:
        photo_id = str(data.get("photo_id", ""))
        photo = photos.get(photo_id) if is_id(photo_id) else None
        if photo is None:
            raise InputError("Upload a photo first (step 1), then render.")
        return photo

    def summarize(data: dict, config: RenderConfig, photo: Upload, script: str | None,
                  audio: Upload | None = None, title: str | None = None) -> dict:
        summary = {
            "photo_id": photo.id, "photo": photo.name, "voice": config.voice,
            "style": config.motion.style, "aspect": config.video.aspect, "fps": config.video.fps,
            "captions": config.captions.enabled, "preset": str(data.get("preset", "default")),
            "audio": audio.name if audio else None,
            "script": (script or "")[:140],
        }
        if title:
            summary["title"] = title
        summary["motion_scale"] = config.motion.scale
        return summary

    @app.post("/api/render")
    async def start_render(request: Request):
        from pipeline.speech.voices import find_profile
        from pipeline.text import prepare_script

        data = await read_json(request)
        audio_id = str(data.get("audio_id") or "")
        photo = uploaded_photo(data)
        audio = None
        if audio_id:
            audio = audios.get(audio_id) if is_id(audio_id) else None
            if audio is None:
                raise InputError("The narration recording is gone. Upload it again, then render.")
        script = str(data.get("script") or "").strip() or None
        if script is None and audio is None:
            raise InputError("Nothing to say: type or paste a script, or upload a narration recording.")
        config = build_config(data)
        # Cheap checks now, so a typo shows at once instead of after the queue.
        find_profile(config.voice)
        if script is not None:
            prepare_script(script, max_chars=config.max_script_chars)
        names = {str(photo.path): photo.name}
        if audio is not None:
            names[str(audio.path)] = audio.name
        summary = summarize(data, config, photo, script, audio)
        job_id = jobs.submit(RenderRequest(photo.path, config, script=script,
                                           audio_path=audio.path if audio else None,
                                           names=names, summary=summary))
        return {"id": job_id}

    @app.post("/api/batch")
    async def start_batch(request: Request):
        """One job per script, sharing the photo and settings; a bad script fails alone.

        Body: the /api/render settings without script or audio, plus
        scripts: [{name, text}] (the page reads .txt files itself and sends their text).
        """
        from pipeline.speech.voices import find_profile

        data = await read_json(request, MAX_BATCH_JSON_BYTES)
        photo = uploaded_photo(data)
        scripts = data.get("scripts")
        if not isinstance(scripts, list) or not scripts:
            raise InputError("Nothing to render: paste scripts separated by a line with only ---, "
                             "or choose .txt files.")
        if len(scripts) > MAX_BATCH_ITEMS:
            raise InputError(f"{len(scripts)} scripts is too many for one batch: the limit is "
                             f"{MAX_BATCH_ITEMS}. Split them into several batches.")
        config = build_config(data)
        find_profile(config.voice)     # a bad shared setting refuses the whole batch, at once
        items = []
        for number, item in enumerate(scripts, start=1):
            name, script, error = batch_item(item, number, config.max_script_chars)
            if error is not None:
                items.append({"name": name, "id": None, "error": error})
                continue
            summary = summarize(data, config, photo, script, title=name)
            job_id = jobs.submit(RenderRequest(photo.path, config, script=script,
                                               names={str(photo.path): photo.name}, summary=summary))
            items.append({"name": name, "id": job_id, "error": None})
        return {"items": items}

    @app.get("/api/jobs")
    async def gallery():
        return {"jobs": jobs.finished()}

    @app.get("/api/jobs/{job_id}")
    async def job_status(job_id: str):
        job = jobs.get(job_id) if is_id(job_id) else None
        if job is None:
            return _error(404, "No such render. It may have been made by another studio session.")
        return job

    @app.get("/api/jobs/{job_id}/{kind}")
    async def job_file(job_id: str, kind: str, download: bool = False):
        path = jobs.output_path(job_id, kind)
        if path is None:
            return _error(404, "No such file. The render may not be finished, or it failed.")
        filename = f"avatar-{job_id[:8]}.{kind}" if download else None
        return FileResponse(path, media_type=DOWNLOAD_TYPES[kind], filename=filename)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def serve(out_dir: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
          open_browser: bool = False, allow_remote: bool = False) -> None:
    """Run the studio until Ctrl-C. Refuses a non-loopback host unless allow_remote."""
    import uvicorn

    if not is_loopback(host) and not allow_remote:
        raise InputError(
            f"Refusing to listen on {host}: anyone on that network could upload files and run "
            "renders. Use the default --host 127.0.0.1, or add --allow-remote if you really mean it.")
    app = create_app(out_dir, allow_remote=allow_remote or not is_loopback(host))
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{port}/"
    print(f"avatar studio: {url}  (renders in {Path(out_dir).resolve()}; Ctrl-C to stop)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn binds
            probe.bind((host.strip("[]"), port))
    except OSError as exc:
        raise InputError(f"Cannot listen on {host}:{port} ({exc.strerror}). Another program (or another "
                         "studio) uses that port: pick another with --port, e.g. --port 7861.") from None
    uvicorn.run(app, host=host, port=port, log_level="warning")


__all__ = ["create_app", "serve", "build_config", "batch_item", "is_loopback"]
