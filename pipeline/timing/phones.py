"""Phone timing for audio the TTS did not make: pocketsphinx forced alignment of the transcript.

Long audio is cut at pauses into chunks of at most MAX_CHUNK_S: the aligner's search grows with
frames x states, and a chunk that fails to align only degrades itself (its phones are then spread
evenly over the words' rough spans).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from pipeline.timing import lexicon
from pipeline.timing.audio import FRAME_S, SAMPLE_RATE_HZ, frame_db, to_pcm16
from pipeline.types import PHONES, SILENCE, Phone, Word

log = logging.getLogger(__name__)

MAX_CHUNK_S = 25.0       # alignment memory/time grows with frames x states; keep chunks modest
MIN_CHUNK_S = 8.0        # below this, a cut costs more context than it saves
CUT_SEARCH_S = 0.25      # how far past Whisper's word edges to look for the quietest frame
MIN_PHONE_S = 0.01


def make_decoder():
    from pocketsphinx import Decoder

    # bestpath=False: the second-pass lattice search can leave zero-length words, which the
    # phone-level pass then rejects ("impossible duration").
    return Decoder(lm=None, samprate=SAMPLE_RATE_HZ, bestpath=False, loglevel="FATAL")


def pronunciation(decoder, token: str) -> list[str]:
    found = decoder.lookup_word(token)
    return lexicon.strip_stress(found) if found else lexicon.spell_out(token)


def contiguous(phones: list[Phone], duration_s: float) -> list[Phone]:
    """Sorted, gap-free phones covering exactly [0, duration_s]; gaps become SIL, SILs merge."""
    out: list[Phone] = []
    t = 0.0
    for p in sorted(phones, key=lambda p: p.start_s):
        label = p.label if p.label in PHONES else SILENCE
        start, end = max(p.start_s, t), min(p.end_s, duration_s)
        if end - start < 1e-6:
            continue
        if start > t + 1e-6:
            out.append(Phone(SILENCE, t, start))
        out.append(Phone(label, start, end))
        t = end
    if t < duration_s - 1e-6 or not out:
        out.append(Phone(SILENCE, t, duration_s))
    merged: list[Phone] = []
    for p in out:
        if merged and p.label == SILENCE and merged[-1].label == SILENCE:
            merged[-1] = Phone(SILENCE, merged[-1].start_s, p.end_s)
        else:
            merged.append(p)
    return merged


def chunks(words: list[Word], audio_16k: np.ndarray, duration_s: float) -> list[tuple[float, float, range]]:
    """(start_s, end_s, word indices) pieces cut in the quietest frame near a word boundary."""
    if duration_s <= MAX_CHUNK_S or len(words) < 2:
        return [(0.0, duration_s, range(len(words)))]
    db = frame_db(audio_16k)
    out = []
    start_s, first = 0.0, 0
    while duration_s - start_s > MAX_CHUNK_S:
        best = None  # (level_db, cut_s, last word index)
        for k in range(first, len(words) - 1):
            length_s = words[k + 1].start_s - start_s
            if length_s < MIN_CHUNK_S:
                continue
            if length_s > MAX_CHUNK_S and best is not None:
                break
            lo = int(max(words[k].end_s - CUT_SEARCH_S, start_s) / FRAME_S)
            hi = int((words[k + 1].start_s + CUT_SEARCH_S) / FRAME_S) + 1
            if hi <= lo or lo >= len(db):
                continue
            i = lo + int(np.argmin(db[lo:hi]))
            if best is None or db[i] < best[0]:
                best = (float(db[i]), (i + 0.5) * FRAME_S, k)
            if length_s > MAX_CHUNK_S:
                break
        if best is None:
            break
        _, cut_s, k = best
        out.append((start_s, cut_s, range(first, k + 1)))
        start_s, first = cut_s, k + 1
    out.append((start_s, duration_s, range(first, len(words))))
    return out


def _align_chunk(decoder, pcm: bytes, offset_s: float, word_tokens: list[list[str]]):
    """Pocketsphinx's phones and per-word spans for one chunk; raises RuntimeError on failure."""
    flat = [tok for toks in word_tokens for tok in toks]
    for tok in set(flat):
        if decoder.lookup_word(tok) is None:
            decoder.add_word(tok, " ".join(lexicon.spell_out(tok)), True)
    decoder.set_align_text(" ".join(flat))
    for second_pass in (False, True):
        if second_pass:
            decoder.set_alignment()  # phone-level alignment needs its own pass over the audio
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
    alignment = decoder.get_alignment()
    if alignment is None:
        raise RuntimeError("no alignment")
    phones: list[Phone] = []
    token_spans: list[tuple[float, float]] = []
    for entry in alignment:
        start_s = offset_s + entry.start * FRAME_S
        end_s = start_s + entry.duration * FRAME_S
        name = entry.name.split("(")[0]
        if name.startswith(("<", "[", "+")):   # fillers: silence, breath, noise
            phones.append(Phone(SILENCE, start_s, end_s))
            continue
        if len(token_spans) >= len(flat) or name != flat[len(token_spans)]:
            raise RuntimeError(f"alignment word {name!r} out of step with the transcript")
        token_spans.append((start_s, end_s))
        for p in entry:
            label = p.name.rstrip("012").upper()
            p_start = offset_s + p.start * FRAME_S
            p_end = p_start + p.duration * FRAME_S
            phones.append(Phone(label if label in PHONES else SILENCE, p_start, p_end))
    if len(token_spans) != len(flat):
        raise RuntimeError("alignment lost words")
    spans, i = [], 0
    for toks in word_tokens:
        spans.append((token_spans[i][0], token_spans[i + len(toks) - 1][1]) if toks else None)
        i += len(toks)
    return phones, spans


def spread_evenly(decoder, words: list[Word], word_tokens: list[list[str]]) -> list[Phone]:
    """Degraded phones: each word's pronunciation spread evenly over its rough span."""
    phones = []
    for w, toks in zip(words, word_tokens, strict=True):
        labels = [p for tok in toks for p in pronunciation(decoder, tok)]
        if not labels or w.end_s - w.start_s < MIN_PHONE_S:
            continue
        edges = np.linspace(w.start_s, w.end_s, len(labels) + 1)
        for label, a, b in zip(labels, edges[:-1], edges[1:], strict=True):
            phones.append(Phone(label, float(a), float(b)))
    return phones


def force_align(
    audio_16k: np.ndarray, words: list[Word], duration_s: float,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[list[Phone], list[Word]]:
    """Phones covering [0, duration_s] and the words retimed by the aligner (text unchanged)."""
    decoder = make_decoder()
    word_tokens = [lexicon.tokens(w.text) for w in words]
    phones: list[Phone] = []
    retimed = list(words)
    for start_s, end_s, idx in chunks(words, audio_16k, duration_s):
        chunk_tokens = [word_tokens[i] for i in idx]
        if any(chunk_tokens):
            pcm = to_pcm16(audio_16k[int(start_s * SAMPLE_RATE_HZ): int(end_s * SAMPLE_RATE_HZ)])
            try:
                chunk_phones, spans = _align_chunk(decoder, pcm, start_s, chunk_tokens)
            except RuntimeError as err:
                log.warning("forced alignment failed for %.1f-%.1f s (%s); spreading phones evenly "
                            "over Whisper's word times instead", start_s, end_s, err)
                chunk_phones = spread_evenly(decoder, [words[i] for i in idx], chunk_tokens)
                spans = [None] * len(idx)
            phones.extend(chunk_phones)
            for i, span in zip(idx, spans, strict=True):
                if span is not None:
                    retimed[i] = Word(words[i].text, span[0], span[1], words[i].probability)
        if on_progress is not None:
            on_progress(end_s - start_s)
    return contiguous(phones, duration_s), retimed
