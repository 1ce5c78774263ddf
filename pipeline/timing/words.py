"""Putting the script's own words on the audio's clock.

Whisper tiny.en mishears ("met Pam" -> "McPam"), so captions never show its guesses when the
script is known. The script and the heard words are aligned at the word level first (exact
matches anchor everything, cheaply, however long the script), and the stretches in between
at the character level, which handles merges and splits ("met Pam" <-> "McPam") for free:
each script character borrows the time of the heard character it lines up with, and characters
nothing lines up with are interpolated between their neighbours.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import numpy as np

from pipeline.types import Word

MAX_CHAR_S = 0.12        # a character is rarely spoken slower; caps interpolated words at pauses
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def norm(text: str) -> str:
    """The letters and digits of a word, lowercase: what alignment compares."""
    return _NOT_ALNUM.sub("", text.lower())


def _char_times(heard: list[Word], tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Start/end of every character of the heard words, splitting each word's span evenly."""
    starts, ends = [], []
    for w, tok in zip(heard, tokens, strict=True):
        n = max(len(tok), 1)
        edges = np.linspace(w.start_s, w.end_s, n + 1)
        starts.extend(edges[:-1][: len(tok)])
        ends.extend(edges[1:][: len(tok)])
    return np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)


def _offsets(tokens: list[str]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(t) for t in tokens])]).astype(int)


def _fill_unmatched(start: np.ndarray, end: np.ndarray, duration_s: float) -> None:
    """Interpolate characters with no time (NaN) from their matched neighbours, in place."""
    n = len(start)
    i = 0
    while i < n:
        if not np.isnan(start[i]):
            i += 1
            continue
        j = i
        while j < n and np.isnan(start[j]):
            j += 1
        run = j - i
        left = end[i - 1] if i > 0 else None
        right = start[j] if j < n else None
        if left is not None and right is not None:
            lo, hi = left, min(right, left + run * MAX_CHAR_S)
        elif left is not None:
            lo, hi = left, min(duration_s, left + run * MAX_CHAR_S)
        elif right is not None:
            lo, hi = max(0.0, right - run * MAX_CHAR_S), right
        else:
            lo, hi = 0.0, duration_s
        edges = np.linspace(lo, max(lo, hi), run + 1)
        start[i:j], end[i:j] = edges[:-1], edges[1:]
        i = j


def align_words(script_words: list[str], heard: list[Word], duration_s: float) -> list[Word]:
    """The script's words (text untouched) timed by the heard words (e.g. Whisper's)."""
    s_tok = [norm(w) for w in script_words]
    h_tok = [norm(w.text) for w in heard]
    keep = [i for i, t in enumerate(h_tok) if t]
    heard = [heard[i] for i in keep]
    h_tok = [h_tok[i] for i in keep]
    # Words with no letters or digits (a lone "&") still need a slot: give them one character.
    s_len = [t if t else "_" for t in s_tok]
    s_off, h_off = _offsets(s_len), _offsets(h_tok)
    h_start, h_end = _char_times(heard, h_tok)
    c_start = np.full(s_off[-1], np.nan)
    c_end = np.full(s_off[-1], np.nan)
    h_prob = np.asarray([w.probability for w, t in zip(heard, h_tok, strict=True) for _ in t])
    c_prob = np.zeros(s_off[-1])

    def link(si: int, hi: int, n: int) -> None:
        c_start[si:si + n], c_end[si:si + n] = h_start[hi:hi + n], h_end[hi:hi + n]
        c_prob[si:si + n] = h_prob[hi:hi + n]

    def align_chars(i0: int, i1: int, j0: int, j1: int) -> None:
        a = "".join(s_len[i0:i1])
        b = "".join(h_tok[j0:j1])
        if not a or not b:
            return
        for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
            if block.size:
                link(s_off[i0] + block.a, h_off[j0] + block.b, block.size)

    i_prev = j_prev = 0
    blocks = SequenceMatcher(None, s_tok, h_tok, autojunk=False).get_matching_blocks()
    for block in blocks:
        align_chars(i_prev, block.a, j_prev, block.b)
        for k in range(block.size):
            si, hi = block.a + k, block.b + k
            link(s_off[si], h_off[hi], len(h_tok[hi]))
        i_prev, j_prev = block.a + block.size, block.b + block.size

    matched = ~np.isnan(c_start)
    _fill_unmatched(c_start, c_end, duration_s)
    out = []
    for i, text in enumerate(script_words):
        lo, hi = s_off[i], s_off[i + 1]
        hit = matched[lo:hi]
        # Heard confidence on the characters that lined up, discounted by the share that did.
        prob = float(c_prob[lo:hi][hit].mean() * hit.mean()) if hit.any() else 0.0
        out.append(Word(text, float(c_start[lo]), float(c_end[hi - 1]), prob))
    return tidy(out, duration_s)


def tidy(words: list[Word], duration_s: float) -> list[Word]:
    """Monotonic, non-overlapping, inside [0, duration_s]."""
    out, t = [], 0.0
    for w in words:
        start = min(max(w.start_s, t), duration_s)
        end = min(max(w.end_s, start), duration_s)
        out.append(Word(w.text, start, end, w.probability))
        t = end
    return out
