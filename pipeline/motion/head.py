"""Head pose and brows: slow sway, nods and brow raises on pitch accents or emphasised words.

Sway is a few sinusoids per channel at random low frequencies (0.05-0.4 Hz) and phases: smooth,
never repeating within a clip, bounded by the sum of their amplitudes (for a loop, each
frequency is rounded to a whole number of cycles per clip, so the sway is periodic). With the
speech audio, nods and brow raises follow its pitch accents (prosody.py) on content words,
the head lagging the voice by ~30 ms (DESIGN.md); without it, emphasis guessed from the words
(long or first content words) brings them. In long silences the sway settles towards stillness.
"""

from __future__ import annotations

import numpy as np

from pipeline.motion.prosody import ACCENT_FALL_S, ACCENT_RISE_S, Accent
from pipeline.motion.shapes import bump, bump_span, pauses
from pipeline.types import Word

SWAY_HZ = (0.05, 0.4)
SWAY_COMPONENTS = 3
# Peak sway per channel at style 1.0 (the sum of the component amplitudes).
SWAY_PEAK = {
    "head_yaw_deg": 2.2,
    "head_pitch_deg": 1.5,
    "head_roll_deg": 1.0,
    "head_dx": 0.008,          # fraction of face width
    "head_dy": 0.005,
}
# Hard limits at style 1.0, applied softly (tanh) after nods are added.
LIMITS = {
    "head_yaw_deg": 3.0,
    "head_pitch_deg": 3.5,
    "head_roll_deg": 1.5,
    "head_dx": 0.015,
    "head_dy": 0.015,
}
# Absolute ceilings whatever the style and --motion-scale: a single photo warped further than
# this shows its flatness. Values are left alone up to CEILING_KNEE of them, then eased in.
CEILINGS = {
    "head_yaw_deg": 7.0,
    "head_pitch_deg": 6.0,
    "head_roll_deg": 3.5,
    "head_dx": 0.03,
    "head_dy": 0.03,
}
CEILING_KNEE = 0.6
HEAD_LAG_S = 0.03
NOD_DEG = (1.5, 3.0)          # chin down
NOD_RISE_S, NOD_FALL_S = 0.2, 0.4
NOD_DY = 0.002                # a nod also drops the head a little, fraction of face width
NOD_PROBABILITY = 0.55        # of an emphasised word
MIN_NOD_GAP_S = 1.5
BROW_PROBABILITY = 0.35       # of a nod
BROW_PEAK = (0.3, 0.5)           # lifted brows also widen the eyes: identity suffers beyond ~0.5
BROW_RISE_S, BROW_FALL_S = 0.12, 0.35
# Accent-driven nods (with audio): the strongest accents, at least this strong and this far apart.
ACCENT_NOD_MIN_STRENGTH = 0.3
ACCENT_NOD_GAP_S = 0.9
ACCENT_BROW_MIN_STRENGTH = 0.55
ACCENT_BROW_PROBABILITY = 0.6
ACCENT_WORD_SLACK_S = 0.05    # an F0 peak this close outside a word still belongs to it
EMPHASIS_LENGTH_RATIO = 1.25  # a content word this much longer than the median is stressed
LONG_WORD_LETTERS = 7
SETTLE_AFTER_S = 0.8          # a pause longer than this starts to calm the sway...
SETTLE_TAU_S = 1.0            # ...with this time constant...
SETTLED_SCALE = 0.45          # ...down to this fraction of the speaking sway

FUNCTION_WORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been am "
    "it its this that these those i you he she we they me him her us them my your his our "
    "their not no so do does did have has had will would can could should may might must "
    "there here than then just very also up out about into over".split()
)


def sway(times_s: np.ndarray, rng: np.random.Generator, peak: float,
         period_s: float | None = None) -> np.ndarray:
    """Sum of SWAY_COMPONENTS sinusoids, |value| <= peak; periodic in period_s when given."""
    freqs = np.exp(rng.uniform(np.log(SWAY_HZ[0]), np.log(SWAY_HZ[1]), SWAY_COMPONENTS))
    phases = rng.uniform(0.0, 2 * np.pi, SWAY_COMPONENTS)
    weights = rng.dirichlet(np.full(SWAY_COMPONENTS, 2.0))
    # slower components carry more of the amplitude, as in real head motion
    weights = weights / np.sqrt(freqs / SWAY_HZ[0])
    weights *= peak / weights.sum()
    if period_s:
        freqs = np.maximum(np.round(freqs * period_s), 1.0) / period_s
    return np.sin(2 * np.pi * freqs[None, :] * times_s[:, None] + phases).dot(weights)


def soft_ceiling(x: np.ndarray, ceiling: float) -> np.ndarray:
    """x unchanged up to CEILING_KNEE * ceiling, then eased so |x| never reaches the ceiling."""
    knee = CEILING_KNEE * ceiling
    over = np.maximum(np.abs(x) - knee, 0.0)
    eased = knee + (ceiling - knee) * np.tanh(over / (ceiling - knee))
    return np.where(np.abs(x) <= knee, x, np.sign(x) * eased)


def _token(word: Word) -> str:
    return "".join(c for c in word.text.lower() if c.isalpha() or c == "'")


def emphasised(words: list[Word]) -> list[Word]:
    """Stressed-looking content words: long for their kind, long in letters, or sentence-first."""
    if not words:
        return []
    lengths = np.array([w.end_s - w.start_s for w in words])
    median_s = float(np.median(lengths))
    out = []
    previous_end = -np.inf
    for w, length in zip(words, lengths, strict=True):
        token = _token(w)
        after_pause = w.start_s - previous_end > 0.3
        previous_end = w.end_s
        if not token or token in FUNCTION_WORDS:
            continue
        if (length >= EMPHASIS_LENGTH_RATIO * median_s or len(token) >= LONG_WORD_LETTERS
                or after_pause):
            out.append(w)
    return out


def activity(times_s: np.ndarray, words: list[Word] | None, duration_s: float) -> np.ndarray:
    """1 while speaking, easing towards SETTLED_SCALE in long silences."""
    out = np.ones(len(times_s))
    for start, end in pauses(words, duration_s):
        if end - start <= SETTLE_AFTER_S:
            continue
        # calm down after SETTLE_AFTER_S, come back up in time for the next word
        settle = 1.0 - np.exp(-np.maximum(times_s - start - SETTLE_AFTER_S, 0.0) / SETTLE_TAU_S)
        recover = 1.0 - np.exp(-np.maximum(end - times_s, 0.0) / (0.5 * SETTLE_TAU_S))
        inside = (times_s >= start) & (times_s < end)
        out[inside] = 1.0 - (1.0 - SETTLED_SCALE) * (settle * recover)[inside]
    return out


def _words_at(words: list[Word], starts_s: np.ndarray, time_s: float, slack_s: float) -> list[Word]:
    """The words (sorted by start, at most a few overlapping) around time_s, within slack_s."""
    i = int(np.searchsorted(starts_s, time_s + slack_s, side="right"))
    return [w for w in words[max(0, i - 3):i] if w.end_s + slack_s >= time_s]


def stressed_accents(accents: list[Accent], words: list[Word] | None) -> list[Accent]:
    """Accents on content words (any accent when the words are unknown); stressed words
    (long for their kind) count a little stronger."""
    if words is None:
        return list(accents)
    if not words:
        return []
    words = sorted(words, key=lambda w: w.start_s)
    starts_s = np.array([w.start_s for w in words])
    median_s = float(np.median([w.end_s - w.start_s for w in words]))
    out = []
    for a in accents:
        on = _words_at(words, starts_s, a.time_s, ACCENT_WORD_SLACK_S)
        content = [w for w in on if _token(w) and _token(w) not in FUNCTION_WORDS]
        if not content:
            continue
        long_word = max(w.end_s - w.start_s for w in content) >= EMPHASIS_LENGTH_RATIO * median_s
        strength = min(1.0, a.strength * (1.25 if long_word else 1.0))
        out.append(Accent(a.time_s, strength, a.prominence_st))
    return out


def _pick(accents: list[Accent], min_strength: float, gap_s: float) -> list[Accent]:
    """The strongest accents, no two closer than gap_s."""
    kept_s: list[float] = []
    out = []
    for a in sorted(accents, key=lambda a: -a.strength):
        if a.strength < min_strength:
            break
        i = int(np.searchsorted(kept_s, a.time_s))
        if all(abs(a.time_s - kept_s[j]) >= gap_s for j in (i - 1, i) if 0 <= j < len(kept_s)):
            kept_s.insert(i, a.time_s)
            out.append(a)
    return sorted(out, key=lambda a: a.time_s)


def accent_nods(times_s: np.ndarray, rng: np.random.Generator, accents: list[Accent],
                words: list[Word] | None) -> tuple[np.ndarray, np.ndarray]:
    """Nod (degrees, chin down) and brow raise (0..1) following the accents, lagged HEAD_LAG_S.

    Each nod has the shape of its accent in `prosody.accent_signal`, apex HEAD_LAG_S after the
    F0 peak; brows rise into the peak and hold through the word.
    """
    nod = np.zeros(len(times_s))
    brow = np.zeros(len(times_s))
    words = sorted(words or [], key=lambda w: w.start_s)
    starts_s = np.array([w.start_s for w in words])
    for a in _pick(stressed_accents(accents, words or None), ACCENT_NOD_MIN_STRENGTH, ACCENT_NOD_GAP_S):
        apex_s = a.time_s + HEAD_LAG_S
        size = NOD_DEG[0] + (NOD_DEG[1] - NOD_DEG[0]) * a.strength * rng.uniform(0.7, 1.0)
        span, shape = bump_span(times_s, apex_s - ACCENT_RISE_S, ACCENT_RISE_S, 0.0, ACCENT_FALL_S)
        nod[span] += size * shape
        if a.strength >= ACCENT_BROW_MIN_STRENGTH and rng.random() < ACCENT_BROW_PROBABILITY:
            word = _words_at(words, starts_s, a.time_s, 0.0)
            hold = max(0.0, word[-1].end_s - apex_s) if word else 0.1
            peak = BROW_PEAK[0] + (BROW_PEAK[1] - BROW_PEAK[0]) * a.strength
            span, shape = bump_span(times_s, apex_s - BROW_RISE_S, BROW_RISE_S, hold, BROW_FALL_S)
            brow[span] = np.maximum(brow[span], peak * shape)
    return nod, brow


def head_and_brows(times_s: np.ndarray, rng: np.random.Generator, duration_s: float,
                   words: list[Word] | None, scale: float, accents: list[Accent] | None = None,
                   period_s: float | None = None) -> dict[str, np.ndarray]:
    """Head channels (degrees / face widths) and brow_raise at the given times.

    `accents` (from the audio) drive the nods and brows; without them, emphasised words do.
    `period_s` makes the sway periodic (loops). `scale` multiplies every amplitude.
    """
    calm = activity(times_s, words, duration_s)
    out = {name: sway(times_s, rng, peak, period_s) * calm for name, peak in SWAY_PEAK.items()}
    if accents is not None:
        nod, brow = accent_nods(times_s, rng, accents, words)
        out["head_pitch_deg"] += nod
        out["head_dy"] += NOD_DY / NOD_DEG[1] * nod
    else:
        brow = np.zeros(len(times_s))
        last_nod = -np.inf
        for w in emphasised(words or []):
            if w.start_s - last_nod < MIN_NOD_GAP_S or rng.random() > NOD_PROBABILITY:
                continue
            last_nod = w.start_s
            onset = w.start_s + HEAD_LAG_S
            nod = bump(times_s, onset, NOD_RISE_S, 0.0, NOD_FALL_S)
            out["head_pitch_deg"] += rng.uniform(*NOD_DEG) * nod
            out["head_dy"] += NOD_DY * nod
            if rng.random() < BROW_PROBABILITY:
                hold = max(0.0, (w.end_s - w.start_s) - BROW_RISE_S)
                brow = np.maximum(brow, rng.uniform(*BROW_PEAK)
                                  * bump(times_s, onset, BROW_RISE_S, hold, BROW_FALL_S))
    for name, limit in LIMITS.items():
        out[name] = soft_ceiling(scale * limit * np.tanh(out[name] / limit), CEILINGS[name])
    out["brow_raise"] = np.clip(scale * brow, 0.0, 1.0)
    return out
