"""Local executor: items one after another in this process, or across a pool of worker processes.

One render already keeps both cores busy (frames in parallel with encoding), so jobs=1 is the
default; each process loads TTS and Whisper once (lru_cache in the stages) and reuses them.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from pipeline.batch.item import FAILED, ItemResult, render_item
from pipeline.batch.manifest import BatchItem


def run_local(items: list[BatchItem], code: str, jobs: int = 1,
              on_result: Callable[[ItemResult], None] = lambda r: None) -> list[ItemResult]:
    results: list[ItemResult] = []
    if jobs <= 1 or len(items) <= 1:
        for item in items:
            results.append(render_item(item, code))
            on_result(results[-1])
        return results
    # spawn, not fork: onnxruntime, mediapipe and ffmpeg threads do not survive a fork.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    try:
        futures = {pool.submit(render_item, item, code): item for item in items}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker that died takes only its item down
                result = ItemResult(futures[future].name, FAILED, internal=True,
                                    reason=f"worker process failed: {type(exc).__name__}: {exc}")
            results.append(result)
            on_result(result)
    finally:
        # On Ctrl-C, items not started are dropped; each running render removes its own partial files.
        pool.shutdown(wait=True, cancel_futures=True)
    return results
