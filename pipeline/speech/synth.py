"""Sentences -> speech audio with exact phone and word timing from Piper's alignments."""

from __future__ import annotations

import logging
import re

import numpy as np

from pipeline.progress import SILENT, Progress
from pipeline.speech.phones import Segment, fold
from pipeline.speech.voices import Voice
from pipeline.text import words_of
from pipeline.types import SILENCE, Phone, Speech, Word

LOGGER = logging.getLogger(__name__)

EDGE_SILENCE_S = 0.15   # lead-in and lead-out, so the first phone is not cut by the video start
PEAK_LEVEL = 0.9        # the whole speech is scaled once to this peak (-0.9 dBFS)
ESTIMATED_WORD_PROBABILITY = 0.0  # words whose span is spread by letter count, not measured


def _synthesis_config(voice: Voice):
    from piper import SynthesisConfig

    p = voice.profile
    # Piper normalises each sentence to full scale by default, which makes loudness jump
    # between sentences; one gain for the whole speech keeps the voice's own dynamics.
    return SynthesisConfig(
        speaker_id=p.speaker, length_scale=p.length_scale, noise_scale=p.noise_scale,
        noise_w_scale=p.noise_w, normalize_audio=False,
    )


def _bare(word: str) -> str:
    return re.sub(r"^[^\w]+|[^\w]+$", "", word)


def _labels(voice: Voice, text: str) -> list[str]:
    """The phones espeak gives a text on its own (durations are not needed, so all 1)."""
    symbols = [s for sentence in voice.model.phonemize(text) for s in sentence]
    return [s.label for s in fold([(s, 1) for s in symbols], 1) if s.label != SILENCE]


def _align_labels(spoken: list[str], reference: list[str]) -> list[int | None]:
    """Levenshtein alignment: for each spoken phone, the index of its reference phone (or None)."""
    n, m = len(spoken), len(reference)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + (spoken[i - 1] != reference[j - 1]),
                             cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    match: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        if cost[i, j] == cost[i - 1, j - 1] + (spoken[i - 1] != reference[j - 1]):
            match[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return match


def _word_of_segments(voice: Voice, segments: list[Segment], words: list[str]) -> list[int | None] | None:
    """For each segment, the index of the caption word it belongs to (None for pauses).

    espeak joins some words ("of the" -> one group) and splits others, so when its word
    count differs from the caption's, the phones are matched to each caption word's own
    phonemization. Returns None when the words cannot be placed.
    """
    espeak_words = sorted({s.word for s in segments if s.label != SILENCE and s.word is not None})
    if len(espeak_words) == len(words):
        index = {w: k for k, w in enumerate(espeak_words)}
        return [index[s.word] if s.label != SILENCE else None for s in segments]
    reference, owner = [], []
    for k, word in enumerate(words):
        labels = _labels(voice, _bare(word)) if _bare(word) else []
        reference += labels
        owner += [k] * len(labels)
    speech_idx = [i for i, s in enumerate(segments) if s.label != SILENCE]
    match = _align_labels([segments[i].label for i in speech_idx], reference)
    assigned: list[int | None] = [owner[j] if j is not None else None for j in match]
    # Unmatched phones join the word before them (else the word after).
    for k in range(len(assigned)):
        if assigned[k] is None and k > 0:
            assigned[k] = assigned[k - 1]
    for k in reversed(range(len(assigned))):
        if assigned[k] is None and k + 1 < len(assigned):
            assigned[k] = assigned[k + 1]
    if len(set(assigned)) != len(words) or assigned != sorted(assigned):
        return None
    result: list[int | None] = [None] * len(segments)
    for i, k in zip(speech_idx, assigned, strict=True):
        result[i] = k
    return result


def _estimate_words(words: list[str], start_s: float, end_s: float) -> list[Word]:
    """Word spans spread over the sentence by letter count, flagged with probability 0."""
    weights = np.array([max(len(_bare(w)), 1) for w in words], dtype=float)
    edges = start_s + (end_s - start_s) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    return [Word(w, float(a), float(b), ESTIMATED_WORD_PROBABILITY)
            for w, a, b in zip(words, edges[:-1], edges[1:], strict=True)]


def _sentence_words(voice: Voice, segments: list[Segment], words: list[str], offset: int,
                    rate: int) -> list[Word]:
    owners = _word_of_segments(voice, segments, words)
    starts = offset + np.concatenate([[0], np.cumsum([s.samples for s in segments])])
    if owners is None:
        speech = [k for k, s in enumerate(segments) if s.label != SILENCE]
        LOGGER.info("Word timing from letter counts for: %s", " ".join(words))
        first, last = (speech[0], speech[-1]) if speech else (0, len(segments) - 1)
        return _estimate_words(words, starts[first] / rate, starts[last + 1] / rate)
    spans: dict[int, list[int]] = {}
    for k, owner in enumerate(owners):
        if owner is not None:
            spans.setdefault(owner, [k, k])[1] = k
    return [Word(w, float(starts[spans[k][0]] / rate), float(starts[spans[k][1] + 1] / rate))
            for k, w in enumerate(words)]


def synthesize(sentences: list[str], voice: Voice, progress: Progress = SILENT) -> Speech:
    """Speak normalized sentences; phones and caption-word spans come from Piper's own durations."""
    rate = voice.sample_rate_hz
    config = _synthesis_config(voice)
    edge = np.zeros(int(round(EDGE_SILENCE_S * rate)), dtype=np.float32)
    pause = np.zeros(int(round(voice.profile.sentence_pause_s * rate)), dtype=np.float32)
    pieces: list[np.ndarray] = [edge]
    segments: list[Segment] = [Segment(SILENCE, len(edge), None)]
    words: list[Word] = []
    aligned = True
    offset = len(edge)
    for n, sentence in enumerate(progress.iterate(sentences, desc="speech", total=len(sentences),
                                                  unit="sentence")):
        if n:
            pieces.append(pause)
            segments.append(Segment(SILENCE, len(pause), None))
            offset += len(pause)
        sentence_segments: list[Segment] = []
        sentence_start = offset
        for chunk in voice.model.synthesize(sentence, config, include_alignments=True):
            audio = np.asarray(chunk.audio_float_array, dtype=np.float32).reshape(-1)
            alignments = chunk.phoneme_alignments
            if alignments is None or sum(a.num_samples for a in alignments) != len(audio):
                LOGGER.warning("Piper gave no phone alignment for: %s", sentence)
                aligned = False
                chunk_segments = [Segment(SILENCE, len(audio), None)]
            else:
                chunk_segments = fold([(a.phoneme, a.num_samples) for a in alignments], rate)
            # espeak may cut one of our sentences into several; keep their word numbers apart.
            base = 1 + max((s.word for s in sentence_segments if s.word is not None), default=-1)
            sentence_segments += [Segment(s.label, s.samples, None if s.word is None else s.word + base)
                                  for s in chunk_segments]
            pieces.append(audio)
            offset += len(audio)
        caption_words = words_of(sentence)
        if caption_words:
            words += _sentence_words(voice, sentence_segments, caption_words, sentence_start, rate)
        segments += sentence_segments
    pieces.append(edge)
    segments.append(Segment(SILENCE, len(edge), None))
    audio = np.concatenate(pieces)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio *= PEAK_LEVEL / peak
    return Speech(
        audio=audio, sample_rate_hz=rate, text=" ".join(sentences),
        phones=to_phones(segments, rate) if aligned else None, words=words,
    )


def to_phones(segments: list[Segment], rate: int) -> list[Phone]:
    """Contiguous phones; adjacent silences merged. Times come from integer sample counts."""
    merged: list[list] = []
    for s in segments:
        if s.samples <= 0:
            continue
        if merged and merged[-1][0] == SILENCE == s.label:
            merged[-1][1] += s.samples
        else:
            merged.append([s.label, s.samples])
    phones, start = [], 0
    for label, samples in merged:
        phones.append(Phone(label, start / rate, (start + samples) / rate))
        start += samples
    return phones
