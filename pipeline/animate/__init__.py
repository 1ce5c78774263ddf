"""animate: the portrait brought to life one frame at a time (where the mouth is drawn)."""

from pipeline.animate.renderer import Renderer, frames

__all__ = ["Renderer", "frames"]
