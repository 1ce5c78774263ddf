"""render: the portrait animated, one full RGB frame per track frame (render.frames)."""

from pipeline.render.renderer import Renderer, frames

__all__ = ["Renderer", "frames"]
