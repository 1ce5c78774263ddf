"""The timing stage: words and phones on the clock of the actual audio."""

from __future__ import annotations

import numpy as np

from pipeline.errors import AudioError
from pipeline.progress import SILENT, Progress
from pipeline.timing.audio import FRAME_S, frame_db, speech_span_s, to_16k
from pipeline.timing.phones import contiguous, force_align
from pipeline.timing.sentences import sentence_spans
from pipeline.timing.whisper import transcribe_16k
from pipeline.timing.words import align_words, tidy
from pipeline.types import Speech, Timing, Word

MIN_SPEECH_CHECK_S = 1.0  # shorter clips may hold a single short word Whisper misses
AUDIBLE_DB = -55.0        # dBFS; tiny.en "hears" words ("You") in digital silence: drop those


def _audible(words: list[Word], audio_16k: np.ndarray) -> list[Word]:
    db = frame_db(audio_16k)
    out = []
    for w in words:
        lo, hi = int(w.start_s / FRAME_S), int(np.ceil(w.end_s / FRAME_S))
        if hi > lo and lo < len(db) and db[lo:hi].max() >= AUDIBLE_DB:
            out.append(w)
    return out


def transcribe(speech: Speech) -> list[Word]:
    """Whisper's own words for the audio (its spelling and punctuation), for checks and diagnostics."""
    audio_16k = to_16k(speech.audio, speech.sample_rate_hz)
    return tidy(_audible(transcribe_16k(audio_16k), audio_16k), speech.duration_s)


def align(speech: Speech, script_words: list[str] | None = None, progress: Progress = SILENT) -> Timing:
    """Words (the script's own, when given) and phones aligned to `speech.audio`.

    Words: the TTS's word spans when it reports them (they are exact, being cut from the very
    samples it produced, so Whisper would only add error); otherwise Whisper's word timestamps on
    the audio, refined by the forced alignment below. Either way, with a script, the caption text
    is the script's and only the timing comes from elsewhere.
    Phones: the TTS's when it reports them, else pocketsphinx forced alignment of the transcript.
    Raises AudioError when no speech is found in a clip with no script.
    """
    duration_s = speech.duration_s
    # Seconds of audio transcribed, then aligned; rounded so the bar shows tidy numbers.
    steps = round(2.0 * max(duration_s, 0.01), 2)
    with progress.bar("timing", total=steps, unit="s") as bar:
        done = [0.0]

        def advance(to_s: float) -> None:
            to_s = min(to_s, steps)
            if to_s > done[0]:
                done[0] = to_s
                # Set rather than add: summed float increments can overshoot the total.
                bar.n = round(to_s, 2)
                bar.refresh()

        if speech.words:
            words = list(speech.words)
            if script_words is not None and [w.text for w in words] != list(script_words):
                words = align_words(list(script_words), words, duration_s)
            words = tidy(words, duration_s)
            if speech.phones:
                phones = contiguous(list(speech.phones), duration_s)
            else:
                # Only the phones are missing: align them, but keep the TTS's exact word spans.
                audio_16k = to_16k(speech.audio, speech.sample_rate_hz)
                phones, _ = force_align(audio_16k, words, duration_s)
            advance(steps)
            return Timing(words, phones, sentence_spans(words))

        audio_16k = to_16k(speech.audio, speech.sample_rate_hz)
        heard = tidy(_audible(transcribe_16k(audio_16k, on_progress=advance), audio_16k), duration_s)
        advance(duration_s)
        if script_words:
            if not heard:
                heard = _script_over_loud_span(script_words, audio_16k, duration_s)
            words = align_words(list(script_words), heard, duration_s)
        else:
            if not heard and duration_s > MIN_SPEECH_CHECK_S:
                raise AudioError(
                    f"No speech was found in the narration audio ({duration_s:.1f} s). Check that it is "
                    "the right file and not silent or music only, or give the script as well so the "
                    "words can be placed anyway."
                )
            words = heard

        if speech.phones:
            phones = contiguous(list(speech.phones), duration_s)
        elif words:
            phones, aligned = force_align(
                audio_16k, words, duration_s, on_progress=lambda d: advance(done[0] + d)
            )
            words = tidy(aligned, duration_s)
        else:
            phones = contiguous([], duration_s)
        advance(steps)
        return Timing(words, phones, sentence_spans(words))


def _script_over_loud_span(script_words: list[str], audio_16k: np.ndarray, duration_s: float) -> list[Word]:
    """When Whisper hears nothing, lay the script over the audible part of the clip as one word."""
    span = speech_span_s(audio_16k) or (0.0, duration_s)
    return [Word(" ".join(script_words), span[0], span[1], 0.0)]


__all__ = ["align", "transcribe"]
