"""The studio's render queue: one worker thread renders jobs one at a time, in order.

Renders are CPU-bound and each already uses the machine's cores, so running two at once would
only make both slower (and double the memory); a queue keeps the server responsive instead.
Each job lives in out_dir/<job id>/ with a job.json the gallery reads back after a restart.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.config import RenderConfig
from pipeline.errors import InputError
from pipeline.progress import Progress

log = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")   # uuid4().hex: the only names the browser ever sends
JOB_FILE = "job.json"
VIDEO_NAME = "video.mp4"                      # api.render writes video.srt and video.vtt beside it
OUTPUT_NAMES = {"mp4": VIDEO_NAME, "srt": "video.srt", "vtt": "video.vtt"}
# Share of the whole render each reported stage takes, for one overall bar (rough, from timings
# of short clips: frames dominate, loading the voice and the face models comes next).
STAGE_WEIGHTS = {"photo": 0.10, "speech": 0.15, "timing": 0.10, "render": 0.60, "finish": 0.05}
STAGE_LABELS = {
    "queued": "Waiting for the render before it",
    "photo": "Reading the photo and the input",
    "speech": "Speaking the script",
    "timing": "Timing words and lip shapes",
    "render": "Rendering and encoding frames",
    "finish": "Finishing the video",
    "done": "Done",
    "failed": "Stopped",
}


def new_id() -> str:
    return uuid.uuid4().hex


def is_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))


@dataclass
class RenderRequest:
    """What a job renders. Paths are server-made; display names are for messages only."""

    photo_path: Path
    config: RenderConfig
    script: str | None = None
    audio_path: Path | None = None
    names: dict[str, str] = field(default_factory=dict)   # server path -> name the user knows
    summary: dict[str, object] = field(default_factory=dict)  # settings shown in the gallery


@dataclass
class Job:
    id: str
    created_s: float
    state: str = "queued"          # queued | running | done | failed
    stage: str = "queued"
    stage_fraction: float = 0.0
    fraction: float = 0.0          # of the whole render
    message: str = ""              # the reason, when failed
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    summary: dict[str, object] = field(default_factory=dict)
    finished_s: float | None = None

    def public(self, queue_position: int = 0) -> dict[str, object]:
        data = asdict(self)
        data["stage_label"] = STAGE_LABELS.get(self.stage, self.stage)
        data["queue_position"] = queue_position
        return data


def overall_fraction(stage: str, stage_fraction: float) -> float:
    done = 0.0
    for name, weight in STAGE_WEIGHTS.items():
        if name == stage:
            return min(1.0, done + weight * max(0.0, min(1.0, stage_fraction)))
        done += weight
    return 1.0 if stage == "done" else 0.0


class _Bar:
    """The part of tqdm's interface the stages use (update, n, refresh), reporting to a callback."""

    def __init__(self, desc: str, total: float | None, report: Callable[[str, float], None]):
        self.desc, self.total, self.n, self._report = desc, total, 0.0, report
        self.refresh()

    def update(self, n: float = 1) -> None:
        self.n += n
        self.refresh()

    def refresh(self) -> None:
        fraction = self.n / self.total if self.total else 0.0
        self._report(self.desc, fraction)

    def close(self) -> None:
        pass

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class WebProgress(Progress):
    """Progress that reports (stage, fraction) to a callback instead of drawing bars."""

    def __init__(self, report: Callable[[str, float], None]):
        super().__init__(quiet=True)
        self._report = report

    def bar(self, desc: str, total: float | None = None, unit: str = "it") -> _Bar:  # noqa: ARG002
        return _Bar(desc.strip(), total, self._report)


def _public_message(error: object, names: dict[str, str]) -> str:
    """The error's text with server paths (and file names) replaced by the user's names."""
    text = str(error)
    for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, name).replace(Path(path).name, name)
    return text


RenderFn = Callable[..., object]


class JobQueue:
    """Jobs by id, and the single worker thread that renders them in order."""

    def __init__(self, out_dir: Path, render_fn: RenderFn | None = None):
        self.out_dir = out_dir
        self._render_fn = render_fn
        self._jobs: dict[str, Job] = {}
        self._requests: dict[str, RenderRequest] = {}
        self._order: list[str] = []            # ids waiting, in order
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._load_finished()

    # --- state the pages read -------------------------------------------------------------
    def get(self, job_id: str) -> dict[str, object] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            position = self._order.index(job_id) + 1 if job_id in self._order else 0
            return job.public(position)

    def finished(self) -> list[dict[str, object]]:
        """Done jobs whose video is on disk, newest first (the gallery)."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.state == "done"]
        jobs = [j for j in jobs if self.output_path(j.id, "mp4") is not None]
        return [j.public() for j in sorted(jobs, key=lambda j: j.created_s, reverse=True)]

    def job_dir(self, job_id: str) -> Path:
        if not is_id(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.out_dir / job_id

    def output_path(self, job_id: str, kind: str) -> Path | None:
        """A finished job's file: kind is mp4, srt or vtt. None when there is no such file."""
        if not is_id(job_id) or kind not in OUTPUT_NAMES:
            return None
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state != "done":
                return None
        path = self.job_dir(job_id) / OUTPUT_NAMES[kind]
        return path if path.is_file() else None

    # --- submitting and working ---------------------------------------------------------------
    def submit(self, request: RenderRequest) -> str:
        job = Job(id=new_id(), created_s=time.time(), summary=dict(request.summary))
        self.job_dir(job.id).mkdir(parents=True)
        with self._lock:
            self._jobs[job.id] = job
            self._requests[job.id] = request
            self._order.append(job.id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="studio-render", daemon=True)
                self._thread.start()
        self._queue.put(job.id)
        return job.id

    def close(self, timeout_s: float = 0.0) -> None:
        """Ask the worker to stop after the current job (renders cannot be cut short cleanly)."""
        self._queue.put(None)
        if self._thread is not None and timeout_s > 0:
            self._thread.join(timeout_s)

    def _update(self, job_id: str, **changes) -> None:
        with self._lock:
            job = self._jobs[job_id]
            for key, value in changes.items():
                setattr(job, key, value)
            if "stage" in changes or "stage_fraction" in changes:
                job.fraction = max(job.fraction, overall_fraction(job.stage, job.stage_fraction))

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            with self._lock:
                self._order.remove(job_id)
                request = self._requests.pop(job_id)
            self._run(job_id, request)

    def _run(self, job_id: str, request: RenderRequest) -> None:
        from pipeline.api import render

        render_fn = self._render_fn or render

        def report(stage: str, fraction: float) -> None:
            if stage == "render" and fraction >= 1.0:
                stage, fraction = "finish", 0.0   # frames are out; the encoder flushes and muxes
            self._update(job_id, stage=stage, stage_fraction=fraction)

        self._update(job_id, state="running", stage="photo", stage_fraction=0.0)
        out = self.job_dir(job_id) / VIDEO_NAME
        try:
            result = render_fn(request.photo_path, out, script=request.script,
                               audio=request.audio_path, config=request.config,
                               progress=WebProgress(report))
        except InputError as exc:
            self._update(job_id, state="failed", stage="failed",
                         message=_public_message(exc, request.names), finished_s=time.time())
        except Exception as exc:  # noqa: BLE001 - a bug must fail the job, never the worker
            log.exception("render %s failed", job_id)
            self._update(job_id, state="failed", stage="failed", finished_s=time.time(),
                         message=f"Internal error ({type(exc).__name__}): this is a bug, not a problem "
                                 "with your input. The server log has the details.")
        else:
            warnings = [_public_message(w.message, request.names) for w in result.warnings]
            self._update(job_id, state="done", stage="done", stage_fraction=1.0, fraction=1.0,
                         duration_s=float(result.duration_s), warnings=warnings,
                         finished_s=time.time())
        self._save(job_id)

    def _save(self, job_id: str) -> None:
        with self._lock:
            data = asdict(self._jobs[job_id])
        (self.job_dir(job_id) / JOB_FILE).write_text(json.dumps(data, indent=1), encoding="utf-8")

    def _load_finished(self) -> None:
        """Jobs finished by an earlier run of the studio on the same folder, for the gallery."""
        if not self.out_dir.is_dir():
            return
        for path in self.out_dir.glob(f"*/{JOB_FILE}"):
            if not is_id(path.parent.name):
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                job = Job(**{k: v for k, v in data.items() if k in Job.__dataclass_fields__})
            except (OSError, ValueError, TypeError):
                continue
            if job.id == path.parent.name and job.state == "done":
                self._jobs[job.id] = job
