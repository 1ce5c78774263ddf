"""Phone timing for audio the TTS did not make: pocketsphinx forced alignment of the transcript.

Long audio is cut at pauses into chunks of at most MAX_CHUNK_S: the aligner's search grows with
frames x states. Every piece is aligned with silence padded around it (so a word cut off at a
clip's edge still fits). A piece that fails is split at its quietest word boundary and each part
retried, down to single words; only a word that fails on its own degrades (its phones spread
evenly over Whisper's rough span for it).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.timing import lexicon
from pipeline.timing.audio import FRAME_S, SAMPLE_RATE_HZ, frame_db, to_pcm16
from pipeline.types import PHONES, SILENCE, Phone, Word

log = logging.getLogger(__name__)

MAX_CHUNK_S = 25.0       # alignment memory/time grows with frames x states; keep chunks modest
MIN_CHUNK_S = 8.0        # below this, a cut costs more context than it saves
CUT_SEARCH_S = 0.25      # how far past Whisper's word edges to look for the quietest frame
MIN_PHONE_S = 0.01
PAD_S = 0.3              # silence around every aligned piece: room for a word cut off at an edge
MIN_WORD_INSIDE = 0.5    # a word aligned mostly into the padding was not in the piece's audio
MIN_PART_S = 0.05        # a split never leaves a part shorter than this
BALANCE_DB = 3.0         # a split at the piece's very edge must be this much quieter than mid-way
# Pocketsphinx dates a phone by the first 10 ms frame it owns, but frame i is analysed over a
# 25.6 ms window starting at i x 10 ms. On held-out Piper speech (benchmarks/eval_lipsync.py,
# synthetic part: 303 boundaries, 12 clips) its boundaries came out 24 ms (median) before
# Piper's own exact ones, every clip between 10 and 30 ms early: move them by that much.
ALIGN_DELAY_S = 0.02
# Pocketsphinx's defaults (beam 1e-48, word beam 7e-29). Forcing the path through a word the
# audio barely holds (cut off, mumbled) can fall outside them, and the search then ends with no
# path at all ("Failed to set up sub-word alignment"); a single word that failed is retried
# with a far wider beam (slower, but only ever on failures) before it degrades.
DEFAULT_BEAM = 1e-48
WORD_BEAM_RATIO = 7e19
WIDE_BEAM = 1e-200


def make_decoder(beam: float = DEFAULT_BEAM):
    from pocketsphinx import Decoder

    # bestpath=False: the second-pass lattice search can leave zero-length words, which the
    # phone-level pass then rejects ("impossible duration").
    return Decoder(lm=None, samprate=SAMPLE_RATE_HZ, bestpath=False, loglevel="FATAL",
                   beam=beam, pbeam=beam, wbeam=beam * WORD_BEAM_RATIO)


class Decoders:
    """The decoders of one alignment run: pocketsphinx's usual beam, and a wide one on demand."""

    def __init__(self) -> None:
        self.normal = make_decoder()

    @functools.cached_property
    def wide(self):
        return make_decoder(WIDE_BEAM)


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


@dataclass(frozen=True)
class Piece:
    """One stretch of audio and the words in it, as it finally came out of the aligner."""

    start_s: float
    end_s: float
    words: range                                  # indices into the word list
    phones: tuple[Phone, ...]
    spans: tuple[tuple[float, float] | None, ...]  # aligned span per word; None: not aligned
    aligned: bool                                 # False: phones spread evenly (degraded)
    failures: tuple[str, ...] = ()                # why the larger pieces around it failed


def _align_chunk(decoder, pcm: bytes, offset_s: float, word_tokens: list[list[str]]):
    """Pocketsphinx's phones and per-word spans for one chunk; raises RuntimeError on failure."""
    flat = [tok for toks in word_tokens for tok in toks]
    for tok in set(flat):
        if decoder.lookup_word(tok) is None:
            decoder.add_word(tok, " ".join(lexicon.spell_out(tok)), True)
    decoder.set_align_text(" ".join(flat))
    for second_pass in (False, True):
        if second_pass:
            # Phone-level alignment needs its own pass over the audio. Pocketsphinx raises
            # RuntimeError ("Failed to set up sub-word alignment") when the word pass found no path.
            decoder.set_alignment()
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


def align_span(decoder, audio_16k: np.ndarray, start_s: float, end_s: float,
               word_tokens: list[list[str]]) -> tuple[list[Phone], list[tuple[float, float] | None]]:
    """Align words to audio[start_s:end_s], padded with silence; phones and spans clipped to it.

    The padding lets a word cut off at the edge (a clip that starts or ends mid-word, or a cut
    placed inside a word) still fit: the aligner needs a few frames per phone state and
    otherwise finds no path at all. At the clip's own start and end a word may run past the
    edge (the recording cut it off); at a cut inside the clip, a word left mostly in the
    padding was not in this piece's audio, which raises RuntimeError like any other failure.
    """
    clip_end_s = len(audio_16k) / SAMPLE_RATE_HZ
    pad = np.zeros(int(round(PAD_S * SAMPLE_RATE_HZ)), dtype=np.float32)
    piece = audio_16k[int(round(start_s * SAMPLE_RATE_HZ)): int(round(end_s * SAMPLE_RATE_HZ))]
    offset_s = start_s - len(pad) / SAMPLE_RATE_HZ + ALIGN_DELAY_S
    raw_phones, raw_spans = _align_chunk(decoder, to_pcm16(np.concatenate([pad, piece, pad])),
                                         offset_s, word_tokens)
    phones = [Phone(p.label, max(p.start_s, start_s), min(p.end_s, end_s)) for p in raw_phones
              if min(p.end_s, end_s) - max(p.start_s, start_s) > 1e-6]
    spans: list[tuple[float, float] | None] = []
    for toks, span in zip(word_tokens, raw_spans, strict=True):
        if span is None:
            spans.append(None)
            continue
        a, b = max(span[0], start_s), min(span[1], end_s)
        # How much of the word should lie inside: all of it, less what runs past a clip edge.
        expected_s = (min(span[1], end_s if end_s < clip_end_s - 1e-6 else np.inf)
                      - max(span[0], start_s if start_s > 1e-6 else -np.inf))
        if b - a < max(MIN_WORD_INSIDE * expected_s, MIN_PHONE_S):
            raise RuntimeError(f"word {' '.join(toks)!r} placed outside the audio "
                               f"({span[0]:.2f}-{span[1]:.2f} s)")
        spans.append((a, b))
    return phones, spans


def split_point(words: list[Word], idx: range, db: np.ndarray,
                start_s: float, end_s: float) -> tuple[int, float] | None:
    """(last word of the left part, cut time) at the quietest word boundary of a piece.

    Each boundary is searched between the two words' rough edges (Whisper's; they may overlap
    or be empty) widened by CUT_SEARCH_S but not past either word's middle, never closer than
    MIN_PART_S to the piece's edges.
    Quieter wins; among near-equals the more even split (a small penalty away from the middle).
    """
    best = None   # (score, cut_s, k)
    length_s = max(end_s - start_s, 1e-9)
    for k in list(idx)[:-1]:
        left, right = words[k], words[k + 1]
        # Never past either word's middle: a word's own onset is often the quietest frame near it.
        lo_s = max(min(left.end_s, right.start_s) - CUT_SEARCH_S, 0.5 * (left.start_s + left.end_s),
                   start_s + MIN_PART_S)
        hi_s = min(max(left.end_s, right.start_s) + CUT_SEARCH_S, 0.5 * (right.start_s + right.end_s),
                   end_s - MIN_PART_S)
        lo, hi = int(lo_s / FRAME_S), int(np.ceil(hi_s / FRAME_S))
        hi = min(hi, len(db))
        if hi <= lo:
            continue
        i = lo + int(np.argmin(db[lo:hi]))
        cut_s = (i + 0.5) * FRAME_S
        score = float(db[i]) + BALANCE_DB * abs((cut_s - start_s) / length_s - 0.5) * 2.0
        if best is None or score < best[0]:
            best = (score, cut_s, k)
    if best is None and len(idx) > 1:
        # Whisper's spans give no room to search (squeezed or overlapping words): cut in
        # proportion to the words' letters, a rough stand-in for their durations.
        k = idx.start + (len(idx) - 1) // 2
        letters = [max(len(words[i].text), 1) for i in idx]
        share = sum(letters[: k - idx.start + 1]) / sum(letters)
        return k, start_s + share * (end_s - start_s)
    return None if best is None else (best[2], best[1])


def align_pieces(decoders: Decoders, audio_16k: np.ndarray, words: list[Word],
                 word_tokens: list[list[str]], start_s: float, end_s: float, idx: range,
                 db: np.ndarray | None = None, failures: tuple[str, ...] = ()) -> list[Piece]:
    """Align a stretch; when it fails, split it at its quietest word boundary and retry each part.

    Recursion ends at a single word (with a margin: the cuts around it), which is tried with the
    usual beam and then a wide one; when even that fails, it is the only piece that degrades to
    phones spread evenly over Whisper's span. Only single words get the wide beam: on several
    words it also "succeeds" on a transcript the audio does not hold (a misheard word) by
    squeezing the neighbours, where splitting finds the one word that is wrong. Deterministic.
    """
    if db is None:
        db = frame_db(audio_16k)
    toks = [word_tokens[i] for i in idx]
    if not any(toks):
        return [Piece(start_s, end_s, idx, (), (None,) * len(idx), True, failures)]
    text = _clip(" ".join(words[i].text for i in idx))
    single = sum(map(bool, toks)) == 1
    tries = ((decoders.normal, "usual"), (decoders.wide, "wide")) if single else ((decoders.normal, "usual"),)
    for decoder, beam in tries:
        try:
            phones, spans = align_span(decoder, audio_16k, start_s, end_s, toks)
            return [Piece(start_s, end_s, idx, tuple(phones), tuple(spans), True, failures)]
        except RuntimeError as err:
            why = f"{start_s:.2f}-{end_s:.2f} s ({len(idx)} words: {text!r}), {beam} beam: {err}"
            failures = (*failures, why)
            log.info("forced alignment failed for %s", why)
    cut = None if single else split_point(words, idx, db, start_s, end_s)
    if cut is None:
        log.warning("forced alignment failed for %s (%.2f-%.2f s); spreading its phones evenly "
                    "over Whisper's word times", text, start_s, end_s)
        phones = spread_evenly(decoders.normal, [words[i] for i in idx], toks, start_s, end_s)
        return [Piece(start_s, end_s, idx, tuple(phones), (None,) * len(idx), False, failures)]
    k, cut_s = cut
    log.info("retrying %.2f-%.2f s in two parts cut at %.2f s", start_s, end_s, cut_s)
    left, right = range(idx.start, k + 1), range(k + 1, idx.stop)
    return (align_pieces(decoders, audio_16k, words, word_tokens, start_s, cut_s, left, db, failures)
            + align_pieces(decoders, audio_16k, words, word_tokens, cut_s, end_s, right, db, failures))


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def spread_evenly(decoder, words: list[Word], word_tokens: list[list[str]],
                  start_s: float = 0.0, end_s: float = np.inf) -> list[Phone]:
    """Degraded phones: each word's pronunciation spread evenly over its rough span (clipped)."""
    phones = []
    for w, toks in zip(words, word_tokens, strict=True):
        labels = [p for tok in toks for p in pronunciation(decoder, tok)]
        a, b = max(w.start_s, start_s), min(w.end_s, end_s)
        if not labels or b - a < MIN_PHONE_S:
            continue
        edges = np.linspace(a, b, len(labels) + 1)
        for label, p0, p1 in zip(labels, edges[:-1], edges[1:], strict=True):
            phones.append(Phone(label, float(p0), float(p1)))
    return phones


def force_align_pieces(
    audio_16k: np.ndarray, words: list[Word], duration_s: float,
    on_progress: Callable[[float], None] | None = None,
) -> list[Piece]:
    """Every piece the alignment ended with, in order: what was aligned and what degraded."""
    decoders = Decoders()
    word_tokens = [lexicon.tokens(w.text) for w in words]
    db = frame_db(audio_16k)
    pieces: list[Piece] = []
    for start_s, end_s, idx in chunks(words, audio_16k, duration_s):
        pieces += align_pieces(decoders, audio_16k, words, word_tokens, start_s, end_s, idx, db)
        if on_progress is not None:
            on_progress(end_s - start_s)
    return pieces


def force_align(
    audio_16k: np.ndarray, words: list[Word], duration_s: float,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[list[Phone], list[Word]]:
    """Phones covering [0, duration_s] and the words retimed by the aligner (text unchanged)."""
    pieces = force_align_pieces(audio_16k, words, duration_s, on_progress)
    phones: list[Phone] = []
    retimed = list(words)
    for piece in pieces:
        phones.extend(piece.phones)
        for i, span in zip(piece.words, piece.spans, strict=True):
            if span is not None:
                retimed[i] = Word(words[i].text, span[0], span[1], words[i].probability)
    degraded = [i for p in pieces if not p.aligned for i in p.words]
    if degraded:
        log.warning("forced alignment: %d of %d words not aligned (%s); their phones are spread "
                    "evenly over Whisper's word times", len(degraded), len(words),
                    _clip(" ".join(words[i].text for i in degraded), 60))
    return contiguous(phones, duration_s), retimed
