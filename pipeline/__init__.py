"""talking-portrait: a script plus one selfie in, a captioned talking video out, offline."""

from pipeline.api import RenderResult, render
from pipeline.config import PRESETS, RenderConfig, preset

__all__ = ["render", "RenderResult", "RenderConfig", "PRESETS", "preset"]
__version__ = "0.1.0"
