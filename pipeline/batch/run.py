"""A whole batch: lock the output folder, clear what a killed run left, render, report."""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipeline.batch.hashing import code_version
from pipeline.batch.item import DONE, FAILED, SKIPPED, ItemResult, record_path, write_json_atomic
from pipeline.batch.manifest import BatchItem, ItemProblem, resolve_items
from pipeline.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, OutputError

REPORT_NAME = "batch_report.json"
LOCK_NAME = ".batch-lock"
INTERRUPTED = "interrupted"
EXECUTORS = ("local", "ray")
# Left behind only by a killed render (SIGKILL, power loss): its work folder and partial files.
WORK_DIR_GLOB = ".avatar-*"


@dataclass
class BatchReport:
    manifest: str
    out_dir: str
    executor: str
    items: list[ItemResult]
    wall_s: float = 0.0
    finished_at: str = ""
    load_avg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    code: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.counts = {s: sum(r.status == s for r in self.items) for s in (DONE, SKIPPED, FAILED)}
        if any(r.status == INTERRUPTED for r in self.items):
            self.counts[INTERRUPTED] = sum(r.status == INTERRUPTED for r in self.items)

    @property
    def exit_code(self) -> int:
        failed = [r for r in self.items if r.status == FAILED]
        if any(r.internal for r in failed):
            return EXIT_INTERNAL
        return EXIT_BAD_INPUT if failed else EXIT_OK

    def to_json(self) -> dict:
        return {
            "manifest": self.manifest, "out_dir": self.out_dir, "executor": self.executor,
            "code": self.code, "wall_s": round(self.wall_s, 2), "finished_at": self.finished_at,
            "load_avg": list(self.load_avg), "counts": self.counts,
            "items": [r.to_json() for r in self.items],
        }


def format_result(result: ItemResult, position: int, total: int) -> str:
    line = f"[{position}/{total}] {result.name}: {result.status}"
    if result.status == DONE:
        line += f" ({result.duration_s:.1f} s of video in {result.wall_s:.1f} s)"
    elif result.status == FAILED:
        line += f": {result.reason}"
    return line


def format_summary(report: BatchReport) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in report.counts.items())
    lines = [f"batch: {counts} in {report.wall_s:.1f} s; report: {Path(report.out_dir) / REPORT_NAME}"]
    lines += [f"  failed {r.name}: {r.reason}" for r in report.items if r.status == FAILED]
    return "\n".join(lines)


def _lock(out_dir: Path):
    """An exclusive lock on the output folder, released by the OS even when we are killed."""
    handle = open(out_dir / LOCK_NAME, "a")  # noqa: SIM115 - held for the whole batch
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise OutputError(
            f"Another batch is writing to {out_dir}. Wait for it to finish, or use another --out-dir."
        ) from None
    return handle


def sweep_leftovers(out_dir: Path, outputs: list[Path]) -> list[Path]:
    """Remove what killed renders left: work folders beside the outputs and partial files of them.

    Only the folders the batch writes to are looked at, and only names our writers use.
    """
    found: set[Path] = set()
    for folder in {out_dir.resolve(), *(o.parent for o in outputs)}:
        if folder.is_dir():
            found.update(p for p in folder.glob(WORK_DIR_GLOB) if p.is_dir() and not p.is_symlink())
    for path in [*outputs, *(record_path(o) for o in outputs), out_dir / REPORT_NAME]:
        found.update(path.parent.glob(f".{glob.escape(path.name)}.partial-*"))
    for path in sorted(found):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return sorted(found)


def run_batch(manifest: str | Path, out_dir: str | Path, *, executor: str = "local",
              address: str | None = None, jobs: int = 1, defaults: dict | None = None,
              code: str | None = None, echo: Callable[[str], None] = print) -> BatchReport:
    """Render every item of `manifest` into `out_dir`; unchanged items are skipped.

    `defaults` are settings from the command line (the manifest's own defaults win); relative
    paths in them, as in the manifest, are relative to the manifest file.
    `code` is the code version hashed into each item (default: a digest of the package source).
    The report is written to out_dir/batch_report.json and returned; bad items fail alone.
    """
    if executor not in EXECUTORS:
        raise OutputError(f"Unknown executor {executor!r}. Use one of: {', '.join(EXECUTORS)}.")
    start = time.perf_counter()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"Cannot create the output folder {out_dir} ({exc}). Pick another --out-dir.") \
            from exc
    lock = _lock(out_dir)
    try:
        resolved = resolve_items(manifest, out_dir, defaults)
        code = code or code_version()
        runnable = [r for r in resolved if isinstance(r, BatchItem)]
        sweep_leftovers(out_dir, [item.out for item in runnable])
        results: dict[int, ItemResult] = {
            p.index: ItemResult(p.name, FAILED, reason=p.reason) for p in resolved
            if isinstance(p, ItemProblem)
        }
        index_of = {item.name: item.index for item in runnable}
        shown = [0]

        def on_result(result: ItemResult) -> None:
            results[index_of[result.name]] = result
            shown[0] += 1
            echo(format_result(result, shown[0], len(runnable)))

        for index in sorted(results):
            echo(f"[-] {results[index].name}: failed: {results[index].reason}")

        def finish() -> BatchReport:
            items = [results.get(r.index) or ItemResult(r.name, INTERRUPTED) for r in resolved]
            report = BatchReport(
                manifest=str(Path(manifest).resolve()), out_dir=str(out_dir.resolve()), executor=executor,
                items=items, wall_s=time.perf_counter() - start, code=code,
                finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                load_avg=tuple(round(x, 2) for x in os.getloadavg()),
            )
            write_json_atomic(out_dir / REPORT_NAME, report.to_json())
            return report

        try:
            if executor == "ray":
                from pipeline.batch.ray_executor import run_ray

                run_ray(runnable, code, address=address, on_result=on_result)
            else:
                from pipeline.batch.local import run_local

                run_local(runnable, code, jobs=jobs, on_result=on_result)
        except KeyboardInterrupt:
            finish()
            raise
        report = finish()
        echo(format_summary(report))
        return report
    finally:
        lock.close()
