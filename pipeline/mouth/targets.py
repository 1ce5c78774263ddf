"""Phone -> mouth-shape targets, dominance and hard constraints (DESIGN.md "Articulation").

Every ARPAbet phone of `types.PHONES` gets a target value per articulation parameter and a
dominance per parameter: how strongly that phone pulls the parameter towards its target when
blended with its neighbours (Cohen & Massaro 1993). Phones whose articulation does not involve
a parameter (the lips during /t/ or /k/) get a low dominance there, so the lips carry over the
neighbouring vowels' shape: "k" in "coo" is rounded, in "key" spread.

Diphthongs are split in two halves with their own targets (AY = AA then IY).
"""

from __future__ import annotations

import numpy as np

from pipeline.types import ARTICULATION, PHONES, SILENCE

K = len(ARTICULATION)
_INDEX = {name: k for k, name in enumerate(ARTICULATION)}

# Rest: jaw up, lips together but not pressed, neutral width.
REST = np.zeros(K, dtype=np.float32)

# Targets, as {parameter: value}; anything unnamed is 0 (rest).
_VOWELS: dict[str, dict[str, float]] = {
    # open vowels: the widest jaw
    "AA": dict(jaw_open=0.90, lip_open=0.70, lip_width=0.30, teeth_show=0.35),
    "AE": dict(jaw_open=0.80, lip_open=0.65, lip_width=0.60, upper_lip_raise=0.30, teeth_show=0.50),
    "AH": dict(jaw_open=0.55, lip_open=0.50, lip_width=0.30, teeth_show=0.35),
    "AO": dict(jaw_open=0.75, lip_open=0.55, lip_width=0.05, lip_round=0.50, teeth_show=0.25),
    "EH": dict(jaw_open=0.55, lip_open=0.50, lip_width=0.50, teeth_show=0.50),
    "ER": dict(jaw_open=0.35, lip_open=0.30, lip_width=0.10, lip_round=0.40, teeth_show=0.30),
    # close front vowels: spread and small
    "IH": dict(jaw_open=0.30, lip_open=0.30, lip_width=0.60, teeth_show=0.50),
    "IY": dict(jaw_open=0.18, lip_open=0.22, lip_width=0.85, upper_lip_raise=0.20, teeth_show=0.60),
    # close back vowels: rounded
    "UH": dict(jaw_open=0.35, lip_open=0.28, lip_round=0.55, teeth_show=0.15),
    "UW": dict(jaw_open=0.22, lip_open=0.18, lip_round=0.90, teeth_show=0.05),
}

# Diphthongs: (first half, second half) as targets of the monophthongs above, adjusted.
_DIPHTHONGS: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "AW": (dict(_VOWELS["AA"], jaw_open=0.85), dict(_VOWELS["UH"], lip_round=0.75)),
    "AY": (dict(_VOWELS["AA"], jaw_open=0.85), dict(_VOWELS["IH"], lip_width=0.70)),
    "EY": (dict(_VOWELS["EH"]), dict(_VOWELS["IY"], jaw_open=0.25)),
    "OW": (dict(_VOWELS["AO"], jaw_open=0.60, lip_round=0.65), dict(_VOWELS["UW"], lip_round=0.80)),
    "OY": (dict(_VOWELS["AO"], lip_round=0.65), dict(_VOWELS["IY"], jaw_open=0.25)),
}

_CONSONANTS: dict[str, dict[str, float]] = {
    # bilabials: full closure
    "P": dict(jaw_open=0.04, lip_press=1.0),
    "B": dict(jaw_open=0.04, lip_press=1.0),
    "M": dict(jaw_open=0.04, lip_press=1.0),
    # labiodentals: lower lip under the upper teeth
    "F": dict(jaw_open=0.12, lip_open=0.10, lower_lip_tuck=1.0, upper_lip_raise=0.30, teeth_show=0.60),
    "V": dict(jaw_open=0.12, lip_open=0.10, lower_lip_tuck=1.0, upper_lip_raise=0.25, teeth_show=0.55),
    # dentals and laterals: tongue tip visible
    "TH": dict(jaw_open=0.20, lip_open=0.25, teeth_show=0.50, tongue_show=0.80),
    "DH": dict(jaw_open=0.20, lip_open=0.22, teeth_show=0.50, tongue_show=0.70),
    "L": dict(jaw_open=0.30, lip_open=0.28, teeth_show=0.30, tongue_show=0.45),
    # sibilants: teeth together, lips apart. The tongue makes the sound, so the lips stay parted
    # over the closed teeth: in real faces (FaceMesh inner-lip gap, both eval videos) the lip gap
    # during s/z is as wide as the speech average, not shut like a p.
    "S": dict(jaw_open=0.08, lip_open=0.35, lip_width=0.50, upper_lip_raise=0.30, teeth_show=0.80),
    "Z": dict(jaw_open=0.08, lip_open=0.35, lip_width=0.45, upper_lip_raise=0.30, teeth_show=0.80),
    # post-alveolars: teeth close, lips protruded and flared apart (a funnel, wider than for s)
    "SH": dict(jaw_open=0.12, lip_open=0.45, lip_round=0.55, upper_lip_raise=0.50, teeth_show=0.70),
    "ZH": dict(jaw_open=0.12, lip_open=0.45, lip_round=0.50, upper_lip_raise=0.45, teeth_show=0.70),
    "CH": dict(jaw_open=0.12, lip_open=0.45, lip_round=0.50, upper_lip_raise=0.45, teeth_show=0.70),
    "JH": dict(jaw_open=0.14, lip_open=0.45, lip_round=0.45, upper_lip_raise=0.40, teeth_show=0.65),
    # alveolar stops and nasal: jaw fairly high, lips free
    "T": dict(jaw_open=0.18, lip_open=0.20, teeth_show=0.45, tongue_show=0.10),
    "D": dict(jaw_open=0.18, lip_open=0.20, teeth_show=0.40, tongue_show=0.10),
    "N": dict(jaw_open=0.18, lip_open=0.18, teeth_show=0.35, tongue_show=0.10),
    # velars: lips free, jaw medium
    "K": dict(jaw_open=0.28, lip_open=0.25, teeth_show=0.25),
    "G": dict(jaw_open=0.28, lip_open=0.25, teeth_show=0.25),
    "NG": dict(jaw_open=0.25, lip_open=0.22, teeth_show=0.25),
    # approximants
    "R": dict(jaw_open=0.22, lip_open=0.20, lip_round=0.50, teeth_show=0.20),
    "W": dict(jaw_open=0.12, lip_open=0.10, lip_round=1.00),
    "Y": dict(jaw_open=0.18, lip_open=0.20, lip_width=0.60, teeth_show=0.40),
    # /h/ is the following vowel, breathed: a weak, mid target that neighbours override
    "HH": dict(jaw_open=0.40, lip_open=0.35, teeth_show=0.30),
    SILENCE: {},
}

# Dominance per parameter group. Phones not listed use 1.0 everywhere.
_LIPS = ("lip_open", "lip_press", "jaw_open")
_SHAPE = ("lip_width", "lip_round")
_DOMINANCE_BY_CLASS: dict[str, dict[str, float]] = {
    # closures win over their neighbours for the opening, but let rounding coarticulate ("boo")
    "bilabial": {**dict.fromkeys(_LIPS, 1.5), **dict.fromkeys(_SHAPE, 0.3), "teeth_show": 2.0,
                 "tongue_show": 2.0, "upper_lip_raise": 1.0, "lower_lip_tuck": 2.0},
    "labiodental": {"lower_lip_tuck": 2.5, "lip_open": 1.5, "jaw_open": 1.5,
                    **dict.fromkeys(_SHAPE, 0.3), "teeth_show": 2.0, "upper_lip_raise": 1.5},
    "dental": {"tongue_show": 3.0, "jaw_open": 1.5, "lip_open": 1.0, **dict.fromkeys(_SHAPE, 0.2)},
    "sibilant": {"jaw_open": 2.5, "lip_open": 1.5, "teeth_show": 2.0, "upper_lip_raise": 1.5,
                 "lip_width": 0.3, "lip_round": 0.3, "tongue_show": 1.0},
    "postalveolar": {"jaw_open": 2.0, "lip_open": 1.2, "lip_round": 2.0, "lip_width": 1.5,
                     "teeth_show": 1.5, "upper_lip_raise": 1.5},
    "lingual": {"jaw_open": 0.8, "lip_open": 0.6, **dict.fromkeys(_SHAPE, 0.15),
                "teeth_show": 0.5, "upper_lip_raise": 0.5, "tongue_show": 0.6,
                "lower_lip_tuck": 1.0, "lip_press": 1.0},
    # w and r narrow the lip opening itself (w nearly as much as a closure): their lip gap must
    # win over the open vowels around them, as their rounding does. Real lips during w/r show
    # 0.1-0.5 of the speech-average gap (both eval videos); at 1.5 the vowels kept them open.
    "rounded": {"lip_round": 3.0, "lip_width": 2.0, "lip_open": 3.0, "jaw_open": 2.0},
    "glide": {"lip_width": 1.5, "jaw_open": 0.8, "lip_open": 0.8},
    "aspirate": dict.fromkeys(ARTICULATION, 0.1),
    "vowel": {},
}
_CLASS_OF: dict[str, str] = {
    **dict.fromkeys(("P", "B", "M"), "bilabial"),
    **dict.fromkeys(("F", "V"), "labiodental"),
    **dict.fromkeys(("TH", "DH", "L"), "dental"),
    **dict.fromkeys(("S", "Z"), "sibilant"),
    **dict.fromkeys(("SH", "ZH", "CH", "JH"), "postalveolar"),
    **dict.fromkeys(("T", "D", "N", "K", "G", "NG"), "lingual"),
    **dict.fromkeys(("W", "R"), "rounded"),
    "Y": "glide",
    "HH": "aspirate",
}
# Rounded vowels pull rounding harder than other vowels pull spreading: rounding anticipates.
_VOWEL_ROUND_DOMINANCE = 1.8
# Rounding purses the lips into a small opening, so a rounded vowel parts the lips less than an
# unrounded one with the same jaw: its lip gap and the lower lip's drop with the jaw shrink by
# these fractions at lip_round = 1. On both eval videos the real inner-lip gap during rounded
# vowels (er, ao) was half of what the unrounded tables gave relative to the other vowels.
ROUND_NARROWS_LIP_OPEN = 0.6
ROUND_NARROWS_JAW_OPEN = 0.3

# Hard constraints re-imposed after blending and smoothing, so no blur can hide them:
# {phone: {parameter: (low, high)}} for every frame inside the phone (at least one frame).
BILABIAL_CLOSURE = {"lip_press": (1.0, 1.0), "lip_open": (0.0, 0.0), "jaw_open": (0.0, 0.05),
                    "teeth_show": (0.0, 0.0), "tongue_show": (0.0, 0.0),
                    "lower_lip_tuck": (0.0, 0.0)}
CONSTRAINTS: dict[str, dict[str, tuple[float, float]]] = {
    "P": BILABIAL_CLOSURE,
    "B": BILABIAL_CLOSURE,
    "M": BILABIAL_CLOSURE,
    "F": {"lower_lip_tuck": (0.85, 1.0), "lip_open": (0.0, 0.15), "lip_press": (0.0, 0.0)},
    "V": {"lower_lip_tuck": (0.85, 1.0), "lip_open": (0.0, 0.15), "lip_press": (0.0, 0.0)},
}


def _vector(values: dict[str, float]) -> np.ndarray:
    out = REST.copy()
    for name, value in values.items():
        out[_INDEX[name]] = value
    return out


def _dominance(phone: str, target: dict[str, float]) -> np.ndarray:
    dom = np.ones(K, dtype=np.float32)
    for name, value in _DOMINANCE_BY_CLASS[_CLASS_OF.get(phone, "vowel")].items():
        dom[_INDEX[name]] = value
    if phone not in _CLASS_OF and target.get("lip_round", 0.0) >= 0.5:
        dom[_INDEX["lip_round"]] = _VOWEL_ROUND_DOMINANCE
    return dom


def _rounded(vowel: dict[str, float]) -> dict[str, float]:
    """A vowel target with its opening narrowed by its own rounding."""
    r = vowel.get("lip_round", 0.0)
    return vowel | {"lip_open": vowel.get("lip_open", 0.0) * (1.0 - ROUND_NARROWS_LIP_OPEN * r),
                    "jaw_open": vowel.get("jaw_open", 0.0) * (1.0 - ROUND_NARROWS_JAW_OPEN * r)}


def _build() -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    table: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for phone, target in _VOWELS.items():
        table[phone] = [(_vector(_rounded(target)), _dominance(phone, target))]
    for phone, target in _CONSONANTS.items():
        table[phone] = [(_vector(target), _dominance(phone, target))]
    for phone, halves in _DIPHTHONGS.items():
        table[phone] = [(_vector(_rounded(h)), _dominance(phone, h)) for h in halves]
    return table


# phone -> one (target, dominance) per sub-segment (two for diphthongs)
TABLE: dict[str, list[tuple[np.ndarray, np.ndarray]]] = _build()
assert set(TABLE) == set(PHONES), set(PHONES) ^ set(TABLE)


def normalize_label(label: str) -> str:
    """ARPAbet without stress digits, upper case; anything unknown reads as the neutral AH."""
    phone = label.strip().upper().rstrip("012")
    if phone in ("", "SP", "SPN", "PAU", "<SIL>", "SIL", "_"):
        return SILENCE
    return phone if phone in TABLE else "AH"
