"""Ray executor: each item is a Ray task running the same `render_item` as the local executor.

Ray schedules the tasks; this module only submits them and collects results as they finish.
Workers need this package installed and the manifest's files and the output folder on a file
system they share with the driver (one machine, or a shared mount on a cluster).
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.batch.item import FAILED, ItemResult, render_item
from pipeline.batch.manifest import BatchItem
from pipeline.errors import InputError

CPUS_PER_ITEM = 2      # a render keeps two cores busy: frame rendering and x264
MAX_RETRIES = 1        # a worker lost to the system (OOM, node down) is tried once more


def run_ray(items: list[BatchItem], code: str, address: str | None = None,
            on_result: Callable[[ItemResult], None] = lambda r: None) -> list[ItemResult]:
    """Run items on the Ray cluster at `address` (None: the one already initialised in this
    process, else RAY_ADDRESS, else a new local instance)."""
    try:
        import ray
    except ImportError:
        raise InputError(
            "The Ray executor needs the `ray` package: `pip install ray==2.60.0` "
            "(or install talking-portrait[dev]), or use --executor local."
        ) from None

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        # Never ask for more CPUs than the cluster has, or the tasks would wait forever.
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        task = ray.remote(num_cpus=max(1, min(CPUS_PER_ITEM, cluster_cpus)),
                          max_retries=MAX_RETRIES)(render_item)
        names = {}
        for item in items:
            names[task.remote(item, code)] = item.name
        pending = list(names)
        results: list[ItemResult] = []
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        result = ItemResult(names[ref], FAILED, internal=True,
                                            reason=f"Ray task failed: {type(exc).__name__}: {exc}")
                    results.append(result)
                    on_result(result)
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref)   # a running render is interrupted and removes its partial files
            raise
        return results
    finally:
        if started_here:
            ray.shutdown()
