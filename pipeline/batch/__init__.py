"""Batch rendering of a course manifest, locally or on Ray, skipping unchanged items."""

from pipeline.batch.item import DONE, FAILED, SKIPPED, ItemResult, render_item
from pipeline.batch.manifest import BatchItem, ItemProblem, resolve_items
from pipeline.batch.run import REPORT_NAME, BatchReport, run_batch

__all__ = [
    "run_batch", "render_item", "resolve_items", "BatchItem", "ItemProblem", "ItemResult",
    "BatchReport", "REPORT_NAME", "DONE", "SKIPPED", "FAILED",
]
