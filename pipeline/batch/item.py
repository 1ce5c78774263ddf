"""One batch item: skip it when its record matches, else render it and record what was rendered.

The same function runs in the local executor and inside Ray tasks, so both write the same files.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.batch.hashing import item_hash
from pipeline.batch.manifest import BatchItem
from pipeline.errors import InputError

DONE, SKIPPED, FAILED = "done", "skipped", "failed"
RECORD_SUFFIX = ".json"       # lesson.mp4 -> lesson.mp4.json, written once the video is complete
FILE_MODE = 0o644             # mkstemp makes 0600 files; records and reports are for sharing


@dataclass
class ItemResult:
    name: str
    status: str                   # DONE, SKIPPED or FAILED
    reason: str = ""              # why it failed
    video: str | None = None
    duration_s: float | None = None
    wall_s: float = 0.0
    stage_s: dict[str, float] = field(default_factory=dict)
    internal: bool = False        # failed by a bug or the environment, not by the input

    def to_json(self) -> dict:
        return asdict(self)


def record_path(video: Path) -> Path:
    return video.with_name(video.name + RECORD_SUFFIX)


def read_record(video: Path) -> dict | None:
    try:
        record = json.loads(record_path(video).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_json_atomic(path: Path, data: dict) -> None:
    """Write then rename: a kill leaves the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.partial-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_done(item: BatchItem, digest: str) -> dict | None:
    """The record of a finished render of exactly this item, or None."""
    record = read_record(item.out)
    if record and record.get("hash") == digest and item.out.is_file():
        return record
    return None


def render_item(item: BatchItem, code: str) -> ItemResult:
    """Render one item unless an identical render is already there. Never raises for a bad item:
    the failure and its reason are returned, so one bad item cannot stop the batch."""
    from pipeline.api import read_script, render

    start = time.perf_counter()
    try:
        digest = item_hash(item, code)
        record = is_done(item, digest)
        if record is not None:
            return ItemResult(item.name, SKIPPED, video=str(item.out),
                              duration_s=record.get("duration_s"), wall_s=time.perf_counter() - start)
        script = item.text if item.text is not None else (
            read_script(item.script) if item.script is not None else None)
        item.out.parent.mkdir(parents=True, exist_ok=True)
        result = render(item.photo, item.out, script=script, audio=item.audio, config=item.config)
        record = {
            "hash": digest, "name": item.name, "code": code,
            "duration_s": result.duration_s, "n_frames": result.n_frames, "fps": result.fps,
            "stage_s": result.stage_s,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_json_atomic(record_path(item.out), record)
        return ItemResult(item.name, DONE, video=str(item.out), duration_s=result.duration_s,
                          wall_s=time.perf_counter() - start, stage_s=result.stage_s)
    except InputError as exc:
        return ItemResult(item.name, FAILED, reason=str(exc), wall_s=time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - a bug in one item must not stop the others
        return ItemResult(item.name, FAILED, reason=f"internal error: {type(exc).__name__}: {exc}",
                          wall_s=time.perf_counter() - start, internal=True)
