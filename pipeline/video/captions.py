"""Captions: words grouped into short phrases, written as SRT, WebVTT and ASS.

The ASS file is burned into the video by ffmpeg's `ass` filter (libass). It shows
each phrase whole, with the word being spoken highlighted, one event per word span.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.types import Word

SENTENCE_END = (".", "!", "?", "…", ".\"", "!\"", "?\"", ".”", "!”", "?”", ".)", "!)", "?)")
CLAUSE_END = (",", ";", ":", "—", "–", ",\"", ",”")

# A phrase stays up until the next one starts when the silence between them is this short,
# so captions don't flicker off and on between phrases.
HOLD_GAP_S = 0.3
# A cue shorter than this cannot be read; lengthen it where the next phrase leaves room.
MIN_CUE_S = 0.25

# Costs of the phrase-grouping search (lower is better). A sentence end inside a phrase
# costs more than a 1-word orphan; a comma inside costs less, so "Well, I think so."
# stays together rather than leaving "Well," alone.
COST_SENTENCE_INSIDE = 12.0
COST_CLAUSE_INSIDE = 4.0
COST_ORPHAN = 8.0
COST_BREAK_MID_CLAUSE = 1.0   # a break where there is neither punctuation nor a pause
COST_PER_WORD_OFF_TARGET = 0.3
TARGET_WORDS = 4
SOFT_PAUSE_S = 0.25           # a pause this long is a natural place to break
COST_DANGLING = 1.5           # a phrase ending on a word that leans on the next ("a", "of")
DANGLING_WORDS = frozenset(
    "a an the to of in on at for with from by and or but as my your our their his her its "
    "this that these those is are was were be i we you they it he she if so than".split()
)

FONT_NAME = "DejaVu Sans"
FONT_FILE = "DejaVuSans-Bold.ttf"
FONT_SIZE_FRACTION = 0.065    # of the frame's shorter side (70 px on 1080 wide)
TEXT_RGB = (255, 255, 255)
HIGHLIGHT_RGB = (255, 214, 0)  # warm yellow
OUTLINE_RGB = (0, 0, 0)
SHADOW_RGBA = (0, 0, 0, 110)
OUTLINE_FRACTION = 0.09       # outline width, of the font size
SHADOW_FRACTION = 0.05
MAX_LINES = 2
# libass sizes a font so that ascender + descender equal the font size; Pillow sizes the
# em square. DejaVu's ascender + descender is 1.164 em.
DEJAVU_LINE_EM = 1.164


@dataclass
class Phrase:
    words: list[Word]
    start_s: float
    end_s: float

    @property
    def text(self) -> str:
        return " ".join(_clean(w.text) for w in self.words)


def fonts_dir() -> Path:
    """The folder holding DejaVu Sans Bold: matplotlib ships it, so no system fonts are needed."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_file() -> Path:
    return fonts_dir() / FONT_FILE


def default_font_size_px(width_px: int, height_px: int) -> int:
    return max(12, round(FONT_SIZE_FRACTION * min(width_px, height_px)))


# ---------------------------------------------------------------- grouping

def _clean(text: str) -> str:
    return " ".join(text.split())


def _ends_sentence(word: Word) -> bool:
    return word.text.rstrip().endswith(SENTENCE_END)


def _ends_clause(word: Word) -> bool:
    return word.text.rstrip().endswith(CLAUSE_END)


def phrases(words: Sequence[Word], min_words: int = 2, max_words: int = 6,
            max_chars: int = 28, max_gap_s: float = 0.6) -> list[Phrase]:
    """Group words into caption phrases of min_words..max_words words.

    Breaks come at sentence ends, commas, pauses longer than max_gap_s (always) and
    by length; among all groupings within the limits, the cheapest is chosen by a small
    dynamic programme, so 1-word orphans and mid-clause breaks happen only when needed.
    """
    if not 1 <= min_words <= max_words:
        raise ValueError(f"need 1 <= min_words <= max_words, got {min_words}, {max_words}")
    target_words = min(max(TARGET_WORDS, min_words), max_words)
    words = [w for w in words if _clean(w.text)]
    n = len(words)
    if n == 0:
        return []
    texts = [_clean(w.text) for w in words]

    def inside_cost(i: int) -> float | None:
        """Cost of words i and i+1 sharing a phrase; None when they must not."""
        if words[i + 1].start_s - words[i].end_s > max_gap_s:
            return None
        if _ends_sentence(words[i]):
            return COST_SENTENCE_INSIDE
        if _ends_clause(words[i]):
            return COST_CLAUSE_INSIDE
        return 0.0

    def break_cost(i: int) -> float:
        """Cost of a phrase ending after word i when the next word follows it."""
        if i == n - 1 or _ends_sentence(words[i]) or _ends_clause(words[i]):
            return 0.0
        if words[i + 1].start_s - words[i].end_s >= SOFT_PAUSE_S:
            return 0.0
        if texts[i].lower().strip("\"'“”‘’()") in DANGLING_WORDS:
            return COST_BREAK_MID_CLAUSE + COST_DANGLING
        return COST_BREAK_MID_CLAUSE

    best = [0.0] + [float("inf")] * n   # best[j]: cheapest grouping of words[:j]
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        inner = 0.0
        chars = -1
        # Phrase = words[i:j], growing leftwards.
        for i in range(j - 1, -1, -1):
            count = j - i
            chars += len(texts[i]) + 1
            if count > max_words or (count > 1 and chars > max_chars):
                break
            if i < j - 1:
                c = inside_cost(i)
                if c is None:
                    break
                inner += c
            cost = best[i] + inner + break_cost(j - 1)
            cost += COST_PER_WORD_OFF_TARGET * (count - target_words) ** 2
            if count < min_words:
                cost += COST_ORPHAN
            if cost < best[j]:
                best[j], back[j] = cost, i

    bounds = []
    j = n
    while j > 0:
        bounds.append((back[j], j))
        j = back[j]
    return [
        Phrase(words[i:j], words[i].start_s, words[j - 1].end_s) for i, j in reversed(bounds)
    ]


def display_spans(phrases_: Sequence[Phrase]) -> list[tuple[float, float]]:
    """When each phrase is on screen: from its first word until its last word ends, held
    until the next phrase when the silence between is short, never overlapping the next."""
    spans = []
    for k, p in enumerate(phrases_):
        start_s, end_s = p.start_s, p.end_s
        next_start = phrases_[k + 1].start_s if k + 1 < len(phrases_) else None
        if next_start is not None and next_start - end_s < HOLD_GAP_S:
            end_s = next_start
        if end_s - start_s < MIN_CUE_S:
            end_s = start_s + MIN_CUE_S
            if next_start is not None:
                end_s = min(end_s, next_start)
        end_s = max(end_s, start_s + 0.001)
        spans.append((start_s, end_s))
    return spans


# ---------------------------------------------------------------- SRT / VTT

def _timestamp(t_s: float, sep: str) -> str:
    ms = max(0, round(t_s * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def srt_text(phrases_: Sequence[Phrase]) -> str:
    blocks = []
    for k, (p, (a, b)) in enumerate(zip(phrases_, display_spans(phrases_), strict=True), start=1):
        text = p.text.replace("-->", "->")
        blocks.append(f"{k}\n{_timestamp(a, ',')} --> {_timestamp(b, ',')}\n{text}\n")
    return "\n".join(blocks)


def vtt_text(phrases_: Sequence[Phrase]) -> str:
    blocks = ["WEBVTT\n"]
    for p, (a, b) in zip(phrases_, display_spans(phrases_), strict=True):
        text = p.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{_timestamp(a, '.')} --> {_timestamp(b, '.')}\n{text}\n")
    return "\n".join(blocks)


def write_srt(phrases_: Sequence[Phrase], path: str | Path) -> Path:
    path = Path(path)
    path.write_text(srt_text(phrases_), encoding="utf-8")
    return path


def write_vtt(phrases_: Sequence[Phrase], path: str | Path) -> Path:
    path = Path(path)
    path.write_text(vtt_text(phrases_), encoding="utf-8")
    return path


# ---------------------------------------------------------------- ASS (burned in)

_ASS_SPECIAL = re.compile(r"\\(?=[Nnh{}])")


def ass_escape(text: str) -> str:
    """Text shown literally by libass: braces escaped, backslashes kept from forming
    \\N, \\n, \\h or \\{ codes (a zero-width joiner splits them), no line breaks."""
    text = _clean(text)
    text = _ASS_SPECIAL.sub("\\\\\u2060", text)
    return text.replace("{", "\\{").replace("}", "\\}")


def _ass_colour(rgb: tuple[int, int, int], alpha: int = 0) -> str:
    """ASS colours are &HAABBGGRR, alpha 0 = opaque."""
    r, g, b = rgb
    return f"&H{alpha:02X}{b:02X}{g:02X}{r:02X}"


def _ass_override_colour(rgb: tuple[int, int, int]) -> str:
    r, g, b = rgb
    return f"&H{b:02X}{g:02X}{r:02X}&"


def _ass_time(t_s: float) -> str:
    cs = max(0, round(t_s * 100))
    h, cs = divmod(cs, 360_000)
    m, cs = divmod(cs, 6000)
    s, cs = divmod(cs, 100)
    return f"{h:d}:{m:02d}:{s:02d}.{cs:02d}"


@functools.lru_cache(maxsize=8)
def _pil_font(path: str, size_px: int):
    from PIL import ImageFont

    return ImageFont.truetype(path, size_px)


def _text_width_px(text: str, font_path: Path, font_size_px: float) -> float:
    em_px = max(1, round(font_size_px / DEJAVU_LINE_EM))
    return float(_pil_font(str(font_path), em_px).getlength(text))


def wrap_lines(texts: Sequence[str], max_width_px: float, font_path: Path,
               font_size_px: float) -> list[list[int]] | None:
    """Split word indices into at most MAX_LINES lines that fit max_width_px, as balanced as
    possible; None when they don't fit."""
    def width(a: int, b: int) -> float:
        return _text_width_px(" ".join(texts[a:b]), font_path, font_size_px)

    n = len(texts)
    if width(0, n) <= max_width_px:
        return [list(range(n))]
    if MAX_LINES < 2 or n < 2:
        return None
    fits = []
    for k in range(1, n):
        w1, w2 = width(0, k), width(k, n)
        if max(w1, w2) <= max_width_px:
            fits.append((max(w1, w2), k))
    if not fits:
        return None
    k = min(fits)[1]
    return [list(range(k)), list(range(k, n))]


def write_ass(phrases_: Sequence[Phrase], path: str | Path, width_px: int, height_px: int,
              caption_box_px: tuple[int, int, int, int], font_name: str = FONT_NAME,
              font_size_px: float | None = None,
              text_rgb: tuple[int, int, int] = TEXT_RGB,
              highlight_rgb: tuple[int, int, int] = HIGHLIGHT_RGB,
              font_path: Path | None = None) -> Path:
    """Write captions for burning in: every phrase centred in caption_box_px (x0, y0, x1, y1),
    one event per word span, the spoken word in highlight_rgb. Pixel units are exact because
    PlayResX/Y equal the frame size. Phrases too wide for 2 lines are shrunk to fit."""
    path = Path(path)
    font_path = font_path or font_file()
    size_px = float(font_size_px or default_font_size_px(width_px, height_px))
    x0, y0, x1, y1 = caption_box_px
    outline_px = max(1.0, round(OUTLINE_FRACTION * size_px, 1))
    shadow_px = max(0.0, round(SHADOW_FRACTION * size_px, 1))
    max_line_px = (x1 - x0) - 2 * outline_px
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    header = "\n".join([
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width_px}",
        f"PlayResY: {height_px}",
        "WrapStyle: 2",  # no automatic wrapping: lines are broken here, measured with the font
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: None",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Caption,{font_name},{size_px:g},{_ass_colour(text_rgb)},"
        f"{_ass_colour(highlight_rgb)},{_ass_colour(OUTLINE_RGB)},"
        f"{_ass_colour(SHADOW_RGBA[:3], 255 - SHADOW_RGBA[3])},-1,0,0,0,100,100,0,0,1,"
        f"{outline_px:g},{shadow_px:g},5,{x0},{width_px - x1},0,1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ])
    events = []
    hl = _ass_override_colour(highlight_rgb)
    normal = _ass_override_colour(text_rgb)
    for p, (show_s, hide_s) in zip(phrases_, display_spans(phrases_), strict=True):
        texts = [ass_escape(w.text) for w in p.words]
        plain = [_clean(w.text) for w in p.words]
        fs = size_px
        lines = wrap_lines(plain, max_line_px, font_path, fs)
        while lines is None or len(lines) * fs > (y1 - y0):
            fs *= 0.9
            lines = wrap_lines(plain, max_line_px, font_path, fs)
            if fs < 8:
                lines = [list(range(len(plain)))]
                break
        prefix = f"{{\\an5\\pos({cx:g},{cy:g})"
        if fs != size_px:
            prefix += f"\\fs{fs:.1f}"
        prefix += "}"
        # Word k is highlighted from its start until the next word starts (the phrase span
        # bounds the first and last); the phrase stays up through pauses between words.
        starts = [show_s] + [w.start_s for w in p.words[1:]] + [hide_s]
        for k in range(len(p.words)):
            a, b = max(starts[k], show_s), min(starts[k + 1], hide_s)
            if round(b * 100) <= round(a * 100):
                continue
            rendered = []
            for line in lines:
                rendered.append(" ".join(
                    f"{{\\c{hl}}}{texts[i]}{{\\c{normal}}}" if i == k else texts[i]
                    for i in line
                ))
            text = prefix + "\\N".join(rendered)
            events.append(f"Dialogue: 0,{_ass_time(a)},{_ass_time(b)},Caption,,0,0,0,,{text}")
    path.write_text(header + "\n" + "\n".join(events) + "\n", encoding="utf-8")
    return path
