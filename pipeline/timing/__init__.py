"""Timing: words and phones aligned to the actual audio (Whisper words, pocketsphinx phones)."""

from pipeline.timing.align import align, transcribe

__all__ = ["align", "transcribe"]
