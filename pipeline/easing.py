"""Easing shared by stages that must not import each other (motion tracks, the eyelid
drawing, the frame fill): one smoothstep, so a fade means the same curve everywhere."""

from __future__ import annotations

import numpy as np


def smoothstep(x: np.ndarray | float) -> np.ndarray | float:
    """0 below 0, 1 above 1, 3x^2 - 2x^3 between: flat at both ends, steepest (1.5) mid-way."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)
