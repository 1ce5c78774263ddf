"""Piper's IPA phoneme alignments folded into ARPAbet phones with exact sample spans.

Piper gives one sample count per espeak symbol, and espeak writes stress, length and
diphthongs as separate symbols. Mouth shapes need real phones, so symbols are merged:
stress marks belong to the vowel they precede, length marks and diacritics to the
phone they follow, and two-symbol diphthongs and affricates become one phone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.types import SILENCE

LOGGER = logging.getLogger(__name__)

# Two-symbol sounds that are one phone (checked before single symbols).
COMBINED = {
    "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "ɔɪ": "OY", "əʊ": "OW", "ɛɪ": "EY",
    "ɑɪ": "AY", "tʃ": "CH", "dʒ": "JH",
}
SINGLE = {
    # vowels
    "a": "AA", "æ": "AE", "ɐ": "AH", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "ə": "AH", "ɘ": "AH", "ɚ": "ER",
    "ɝ": "ER", "ɛ": "EH", "ε": "EH", "ɜ": "ER", "ɞ": "ER", "e": "EH", "i": "IY", "ɪ": "IH", "ɨ": "IH",
    "ᵻ": "IH", "o": "OW", "ø": "ER", "œ": "ER", "ɵ": "ER", "ɶ": "AA", "u": "UW", "ʉ": "UW", "ʊ": "UH",
    "ɯ": "UW", "ʌ": "AH", "ɤ": "AH", "ʏ": "UH", "y": "UW",
    # consonants
    "b": "B", "d": "D", "f": "F", "h": "HH", "j": "Y", "k": "K", "l": "L", "m": "M", "n": "N",
    "p": "P", "s": "S", "t": "T", "v": "V", "w": "W", "z": "Z", "ɡ": "G", "g": "G", "ŋ": "NG",
    "ɹ": "R", "r": "R", "θ": "TH", "ð": "DH", "ʃ": "SH", "ʒ": "ZH", "ɫ": "L",
    # flap ("butter") and glottal stop ("button"): the tongue taps like D, the lips rest like T
    "ɾ": "D", "ʔ": "T",
    # sounds outside English (names, loanwords): the nearest English phone for the mouth
    "ç": "HH", "x": "HH", "χ": "HH", "ħ": "HH", "ʕ": "HH", "ɦ": "HH", "ʜ": "HH", "ʢ": "HH",
    "ʝ": "Y", "ɬ": "L", "ɮ": "L", "ɺ": "L", "ɭ": "L", "ʎ": "L", "ʟ": "L", "ʍ": "W", "ɰ": "W", "ɥ": "W",
    "c": "K", "q": "K", "ɟ": "G", "ɢ": "G", "ɣ": "G", "ɠ": "G", "ʛ": "G", "ʄ": "JH",
    "ʁ": "R", "ʀ": "R", "ɻ": "R", "ɽ": "R", "ɲ": "N", "ɳ": "N", "ɴ": "N", "ɱ": "M",
    "β": "V", "ɸ": "F", "ʋ": "V", "ⱱ": "V", "ʙ": "B", "ʈ": "T", "ɖ": "D", "ɗ": "D", "ɓ": "B",
    "ʂ": "SH", "ʐ": "ZH", "ɕ": "SH", "ʑ": "ZH", "ɧ": "SH", "ʡ": "T",
    "ǀ": "T", "ǁ": "T", "ǂ": "T", "ǃ": "T", "ʘ": "P",
}
# Marks before a vowel: their samples are the start of that vowel.
PREFIX_MARKS = set("ˈˌ")
# Marks after a phone (length, palatalization, aspiration, diacritics, tones): part of that phone.
SUFFIX_MARKS = set("ːˑʲʰˤ˞↓") | set("\u0327\u0303\u032a\u032f\u0329") | set("0123456789")
PAUSES = set(".,!?;:-()'\"#—…") | {"^", "$", "_"}
WORD_BREAK = " "
# A space between words longer than this is a real pause (SIL); a shorter one is the
# coarticulated joint between two words, so half goes to each neighbour (see fold()).
PAUSE_SPACE_S = 0.12


@dataclass
class Segment:
    label: str         # ARPAbet phone or SIL
    samples: int
    word: int | None   # index of the espeak word (space-separated group) it belongs to


def fold(alignments: list[tuple[str, int]], sample_rate_hz: int) -> list[Segment]:
    """(IPA symbol, samples) pairs -> ARPAbet segments with the same total sample count.

    Word-boundary spaces: Piper gives the space between two words its own duration (20-60 ms).
    In the audio there is no pause there, only the transition (a vowel gliding into the next
    onset, or the closure of a following stop), so its samples are split between the two
    neighbouring phones. A SIL there would make the mouth snap toward rest between every word.
    A space after punctuation, or a long one, is a real pause and becomes SIL.
    """
    segments: list[Segment] = []
    pending_prefix = 0          # stress-mark samples waiting for their vowel
    pending_space: int | None = None  # a short word-boundary space waiting for the next phone
    word = 0
    i = 0
    while i < len(alignments):
        symbol, samples = alignments[i]
        pair = symbol + alignments[i + 1][0] if i + 1 < len(alignments) else ""
        if pair in COMBINED:
            label, samples, i = COMBINED[pair], samples + alignments[i + 1][1], i + 2
        elif symbol in SINGLE:
            label, i = SINGLE[symbol], i + 1
        elif symbol in PREFIX_MARKS:
            pending_prefix += samples
            i += 1
            continue
        elif symbol in SUFFIX_MARKS:
            _give(segments, samples, pending_prefix)
            pending_prefix = 0
            if symbol == "˞" and segments and segments[-1].label in ("AH", "ER", "EH"):
                segments[-1].label = "ER"  # rhotic hook: an r-coloured vowel
            i += 1
            continue
        elif symbol == WORD_BREAK:
            samples += pending_prefix
            pending_prefix = 0
            i += 1
            word += 1 if segments and segments[-1].label != SILENCE else 0
            if segments and segments[-1].label != SILENCE and samples < PAUSE_SPACE_S * sample_rate_hz:
                half = samples // 2
                segments[-1].samples += half
                pending_space = (pending_space or 0) + samples - half
            else:
                _add_silence(segments, samples + (pending_space or 0))
                pending_space = None
            continue
        elif symbol in PAUSES:
            if segments and segments[-1].label != SILENCE:
                word += 1
            _add_silence(segments, samples + pending_prefix + (pending_space or 0))
            pending_prefix, pending_space = 0, None
            i += 1
            continue
        else:
            LOGGER.warning("Unknown phoneme symbol %r from Piper; treated as a neutral vowel (AH).", symbol)
            label, i = "AH", i + 1
        samples += pending_prefix + (pending_space or 0)
        pending_prefix, pending_space = 0, None
        segments.append(Segment(label, samples, word))
    # Marks with nothing after them belong to what came before.
    _give(segments, pending_prefix + (pending_space or 0), 0)
    return segments


def _give(segments: list[Segment], samples: int, extra: int) -> None:
    if not samples and not extra:
        return
    if segments:
        segments[-1].samples += samples + extra
    else:
        segments.append(Segment(SILENCE, samples + extra, None))


def _add_silence(segments: list[Segment], samples: int) -> None:
    if segments and segments[-1].label == SILENCE:
        segments[-1].samples += samples
    elif samples:
        segments.append(Segment(SILENCE, samples, None))


def known_symbols() -> set[str]:
    """Every single symbol the folding understands (for coverage checks)."""
    parts = {c for pair in COMBINED for c in pair}
    return set(SINGLE) | PREFIX_MARKS | SUFFIX_MARKS | PAUSES | {WORD_BREAK} | parts

