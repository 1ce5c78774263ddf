"""Progress bars per stage, silent with --quiet or when nobody is watching."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


class Progress:
    """Hands out one tqdm bar per stage. `quiet=True` shows nothing."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    def bar(self, desc: str, total: float | None = None, unit: str = "it") -> tqdm:
        return tqdm(
            total=total,
            desc=f"{desc:<10}",
            unit=unit,
            disable=self.quiet,
            file=sys.stderr,
            leave=True,
            dynamic_ncols=True,
        )

    def iterate(self, items: Iterable[T], desc: str, total: int | None = None,
                unit: str = "it") -> Iterator[T]:
        with self.bar(desc, total=total, unit=unit) as bar:
            for item in items:
                yield item
                bar.update(1)


SILENT = Progress(quiet=True)
