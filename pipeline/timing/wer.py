"""Word error rate: how far a transcript is from the words that were meant to be spoken."""

from __future__ import annotations

import numpy as np


def word_error_rate(ref: list[str], hyp: list[str]) -> float:
    """Edits (substitutions, insertions, deletions) to turn `hyp` into `ref`, per word of `ref`."""
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d[0] = d.copy(), i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return float(d[len(hyp)]) / max(1, len(ref))
