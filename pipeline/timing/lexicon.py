"""Pronunciations for forced alignment: CMUdict first, simple spelling rules for the rest."""

from __future__ import annotations

import re

from pipeline.types import PHONES

_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TOKEN = re.compile(r"[a-z0-9']+")
# Written forms a speaker reads as other words: "$5", "1990", "5%", "21st", "&".
_WRITTEN = re.compile(r"[0-9$€£¥%&@+]")

# Letter groups first (longest match wins), then single letters. Crude on purpose: a word
# missing from a 134k-word dictionary is a name or a coinage, and a plausible sequence of the
# right length is all alignment needs to place its neighbours.
_GRAPHEMES = {
    "tch": "CH", "sch": "S K", "igh": "AY", "eau": "OW",
    "sh": "SH", "ch": "CH", "th": "TH", "ph": "F", "wh": "W", "ng": "NG", "ck": "K", "qu": "K W",
    "gh": "", "kn": "N", "wr": "R", "ee": "IY", "ea": "IY", "oo": "UW", "ai": "EY", "ay": "EY",
    "ey": "EY", "ie": "IY", "ou": "AW", "ow": "OW", "oi": "OY", "oy": "OY", "au": "AO", "aw": "AO",
    "er": "ER", "ir": "ER", "ur": "ER", "ar": "AA R", "or": "AO R", "oa": "OW", "ue": "UW",
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH", "i": "IH",
    "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K", "r": "R",
    "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "Y", "z": "Z",
}
_LONGEST = max(len(g) for g in _GRAPHEMES)


def tokens(word: str) -> list[str]:
    """Dictionary keys for one caption word, as spoken.

    "Well-known," -> ["well", "known"]; "42" -> ["forty", "two"]; "$5" -> ["five", "dollars"].
    Numbers and symbols are read by the script normalizer (the same words the TTS would say);
    any digit it leaves is read one by one.
    """
    if _WRITTEN.search(word):
        from pipeline.text.normalize import normalize  # only for the rare written forms

        word = normalize(word)
    out = []
    for tok in _TOKEN.findall(word.lower()):
        tok = tok.strip("'")
        if tok.isdigit():
            out.extend(_DIGITS[int(d)] for d in tok)
        elif tok:
            out.append(tok)
    return out


def spell_out(token: str) -> list[str]:
    """ARPAbet guessed from spelling, for words the dictionary lacks."""
    word = re.sub(r"[^a-z]", "", token.lower())
    if len(word) > 2 and word.endswith("e") and word[-2] not in "aeiou":
        word = word[:-1]  # silent final e
    word = re.sub(r"([b-df-hj-np-tv-z])\1", r"\1", word)  # doubled consonants sound once
    phones: list[str] = []
    i = 0
    while i < len(word):
        for n in range(min(_LONGEST, len(word) - i), 0, -1):
            chunk = word[i:i + n]
            if chunk in _GRAPHEMES:
                if chunk == "y" and i > 0:
                    phones.append("IY")  # y after the first letter is a vowel ("happy", "gym")
                else:
                    phones.extend(_GRAPHEMES[chunk].split())
                i += n
                break
        else:
            i += 1
    return phones or ["AH"]


def strip_stress(phones: str) -> list[str]:
    """ "AH0 B AW1 T" -> ["AH", "B", "AW", "T"], keeping only labels of types.PHONES."""
    out = []
    for p in phones.split():
        p = p.rstrip("012").upper()
        if p in PHONES:
            out.append(p)
    return out
