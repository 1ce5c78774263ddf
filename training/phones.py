"""Piper's IPA phoneme alignments folded into timed ARPAbet phones (`types.Phone`).

Piper (espeak-ng en-us) emits one IPA symbol per phoneme id, each with a sample count.
Symbols that are not phones carry time too: stress marks belong to the vowel they stress
(the next phone), length marks and combining diacritics to the previous one, a word
space is coarticulation split between its neighbours (its excess over MAX_SPACE_S is a
pause), and punctuation and the sentence start/end are silence.
"""

from __future__ import annotations

from pipeline.types import SILENCE, Phone

# Two-symbol phones first (longest match).
PAIRS = {
    ("a", "ɪ"): "AY", ("a", "ʊ"): "AW", ("e", "ɪ"): "EY", ("o", "ʊ"): "OW", ("ɔ", "ɪ"): "OY",
    ("t", "ʃ"): "CH", ("d", "ʒ"): "JH", ("ɜ", "ː"): "ER", ("ə", "ʊ"): "OW",
}
SINGLE = {
    "ɑ": "AA", "ɒ": "AA", "a": "AA", "æ": "AE", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɔ": "AO",
    "ɛ": "EH", "e": "EY", "ɜ": "ER", "ɚ": "ER", "ɝ": "ER", "ɪ": "IH", "ᵻ": "IH", "i": "IY",
    "o": "OW", "ʊ": "UH", "u": "UW", "ɯ": "UW", "y": "UW",
    "b": "B", "d": "D", "ð": "DH", "f": "F", "g": "G", "ɡ": "G", "h": "HH", "x": "HH",
    "j": "Y", "k": "K", "l": "L", "ɫ": "L", "ɬ": "L", "m": "M", "n": "N", "ŋ": "NG",
    "p": "P", "ɹ": "R", "r": "R", "ɾ": "D", "ʔ": "T", "s": "S", "ʃ": "SH", "t": "T",
    "θ": "TH", "v": "V", "w": "W", "z": "Z", "ʒ": "ZH", "ç": "HH", "ʍ": "W",
}
STRESS = {"ˈ", "ˌ"}
ATTACH_PREVIOUS = {"ː", "ˑ", "\u0329", "\u0303", "\u032a", "ʰ", "ʲ", "ʷ"}
SPACE = " "
SILENT = {"^", "$", "_", ".", ",", "?", "!", ";", ":", "-", "…", "—", "(", ")", "\"", "'"}
MAX_SPACE_S = 0.06


def fold(alignments: list[tuple[str, int]], sample_rate_hz: int, offset_s: float = 0.0) -> list[Phone]:
    """[(ipa_symbol, num_samples)] in order -> contiguous ARPAbet phones from offset_s."""
    # 1. durations in seconds, one entry per symbol
    items = [(sym, n / sample_rate_hz) for sym, n in alignments]
    # 2. group symbols into phones: (label, duration_s)
    spans: list[list] = []          # [label, duration_s]
    pending_s = 0.0                 # stress time waiting for the next phone
    i = 0
    while i < len(items):
        sym, dur = items[i]
        if sym in STRESS:
            pending_s += dur
            i += 1
            continue
        if sym in ATTACH_PREVIOUS and spans and spans[-1][0] != SILENCE:
            spans[-1][1] += dur
            i += 1
            continue
        if sym == SPACE:
            spans.append([SPACE, dur])
            i += 1
            continue
        if sym in SILENT or sym in ATTACH_PREVIOUS:
            spans.append([SILENCE, dur + pending_s])
            pending_s = 0.0
            i += 1
            continue
        if i + 1 < len(items) and (sym, items[i + 1][0]) in PAIRS:
            spans.append([PAIRS[(sym, items[i + 1][0])], dur + items[i + 1][1] + pending_s])
            i += 2
        else:
            spans.append([SINGLE.get(sym, "AH"), dur + pending_s])
            i += 1
        pending_s = 0.0
    if pending_s and spans:
        spans[-1][1] += pending_s
    # 3. spaces: up to MAX_SPACE_S shared by the neighbouring phones, the rest is a pause
    resolved: list[list] = []
    for k, (label, dur) in enumerate(spans):
        if label != SPACE:
            resolved.append([label, dur])
            continue
        shared = min(dur, MAX_SPACE_S)
        before = resolved[-1] if resolved and resolved[-1][0] != SILENCE else None
        after = spans[k + 1] if k + 1 < len(spans) and spans[k + 1][0] not in (SILENCE, SPACE) else None
        if before is not None and after is not None:
            before[1] += shared / 2
            after[1] += shared / 2
        elif before is not None:
            before[1] += shared
        elif after is not None:
            after[1] += shared
        else:
            resolved.append([SILENCE, shared])
        if dur > shared:
            resolved.append([SILENCE, dur - shared])
    # 4. merge silences, lay out in time
    phones: list[Phone] = []
    t = offset_s
    for label, dur in resolved:
        if dur <= 0:
            continue
        if phones and label == SILENCE and phones[-1].label == SILENCE:
            phones[-1] = Phone(SILENCE, phones[-1].start_s, t + dur)
        else:
            phones.append(Phone(label, t, t + dur))
        t += dur
    return phones
