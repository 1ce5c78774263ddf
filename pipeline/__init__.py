"""talking-portrait: a script plus one selfie in, a captioned talking video out, offline."""

import os

# OpenBLAS's worker threads spin between the small matrix products of each frame and took a
# whole core from x264 (render+encode of a 10 s clip: 7.9 s with them, 6.2 s without). Set
# before numpy loads; a value the user set wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pipeline.api import RenderResult, render  # noqa: E402 - after the thread setting
from pipeline.config import PRESETS, RenderConfig, preset  # noqa: E402

__all__ = ["render", "RenderResult", "RenderConfig", "PRESETS", "preset"]
__version__ = "0.1.0"
