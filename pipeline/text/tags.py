"""Script markup for speech: pauses, emphasis, pronunciation overrides and speed.

    [pause 1s]  [pause 500ms]       exactly that much silence
    (a blank line)                  a paragraph pause, PARAGRAPH_PAUSE_S
    *word*  **a few words**         emphasis: spoken slower and louder
    {SQL|sequel}                    captions show "SQL", the voice says "sequel"
    [speed 1.2] ... [/speed]        faster (> 1) or slower (< 1) passage

Markup is turned into placeholder words before Markdown stripping and normalization (which
would otherwise eat or rewrite it), and back into the same markup, one balanced set per
sentence, afterwards. Sentences handed to speech may therefore carry markup: `parse` reads
it, and the caption words are the display words (`display_words`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.errors import ScriptError

PARAGRAPH_PAUSE_S = 0.6
MAX_PAUSE_S = 30.0
SPEED_RANGE = (0.5, 2.0)
SPEAKABLE = re.compile(r"[^\W_]")

# User markup in the raw script.
TAG = re.compile(r"\[\s*/?\s*(?:pause|speed)\b[^\]\n]*\]?", re.I)
PAUSE_TAG = re.compile(r"\[\s*pause\s+(\d+(?:\.\d+)?)\s*(ms|s)?\s*\]", re.I)
SPEED_TAG = re.compile(r"\[\s*speed\s+(\d+(?:\.\d+)?)\s*x?\s*\]", re.I)
SPEED_END = re.compile(r"\[\s*/\s*speed\s*\]", re.I)
OVERRIDE = re.compile(r"\{([^{}|\n]*)\|([^{}|\n]*)\}")
EMPHASIS = re.compile(r"(?<![\w*])(\*{1,2})(?=[^\s*])([^*\n]+?)(?<=[^\s*])\1(?![\w*])")
BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
# Placeholders: lower-case letters only, so Markdown stripping and normalization leave them be.
OPEN_MARK, CLOSE_MARK = "\x01", "\x02"
PLACEHOLDER = re.compile(r"zq([a-z])([a-j]+)qz")
# Canonical markup inside a prepared sentence.
TOKEN = re.compile(r"\[pause (\d+(?:\.\d+)?)s\]|\[speed (\d+(?:\.\d+)?)\]|\[/speed\]|\*|"
                   r"\{([^{}|]*)\|([^{}|]*)\}|\s+")


@dataclass
class Unit:
    """One stretch of text between spaces: what captions show and what the voice says."""

    display: str
    spoken: str
    speed: float = 1.0
    emphasis: bool = False
    override: bool = False   # the spoken form was given in the script: no lexicon lookup


@dataclass(frozen=True)
class Pause:
    seconds: float


def _where(raw: str, index: int) -> str:
    line = raw.count("\n", 0, index) + 1
    return f"line {line}"


def _code(index: int) -> str:
    return "".join("abcdefghij"[int(d)] for d in str(index))


def protect(raw: str) -> tuple[str, list[str]]:
    """The raw script with its speech markup replaced by placeholder words.

    Returns the text and the canonical markup each placeholder stands for.
    Raises ScriptError for markup that is malformed, saying what and where.
    """
    table: list[str] = []

    def hold(kind: str, canonical: str, pad: str = " ") -> str:
        table.append(canonical)
        return f"{pad}zq{kind}{_code(len(table) - 1)}qz{pad}"

    def tag(m: re.Match) -> str:
        text = m.group()
        if pause := PAUSE_TAG.fullmatch(text):
            seconds = float(pause.group(1)) / (1000.0 if (pause.group(2) or "s").lower() == "ms" else 1.0)
            if not 0.0 < seconds <= MAX_PAUSE_S:
                raise ScriptError(f"{text} on {_where(raw, m.start())}: a pause must be longer than 0 "
                                  f"and at most {MAX_PAUSE_S:g} s. Write for example [pause 1s] or "
                                  "[pause 500ms].")
            return hold("p", f"[pause {seconds:.3f}s]")
        if speed := SPEED_TAG.fullmatch(text):
            factor = float(speed.group(1))
            if not SPEED_RANGE[0] <= factor <= SPEED_RANGE[1]:
                raise ScriptError(f"{text} on {_where(raw, m.start())}: the speed must be between "
                                  f"{SPEED_RANGE[0]:g} (half speed) and {SPEED_RANGE[1]:g} (double speed).")
            return hold("s", f"[speed {factor:g}]")
        if SPEED_END.fullmatch(text):
            return hold("e", "[/speed]")
        raise ScriptError(
            f"{text!r} on {_where(raw, m.start())} is not valid markup. Write [pause 1s], "
            "[pause 500ms], or [speed 1.2] ... [/speed] (each with its closing bracket).")

    def override(m: re.Match) -> str:
        display, spoken = m.group(1).strip(), m.group(2).strip()
        if not SPEAKABLE.search(display) or not SPEAKABLE.search(spoken):
            raise ScriptError(
                f"{m.group()!r} on {_where(raw, m.start())}: a pronunciation override needs both parts, "
                "as in {SQL|sequel}: the text to show, a bar, then how to say it.")
        return hold("o", "{" + display + "|" + spoken + "}", pad="")

    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    text = TAG.sub(tag, text)
    text = OVERRIDE.sub(override, text)
    for bad in re.finditer(r"\{[^{}\n]*\|[^\n]*", text):
        if "}" not in bad.group():
            raise ScriptError(
                f"{bad.group().strip()!r} on {_where(text, bad.start())}: the pronunciation override is not "
                "closed. Write it as {SQL|sequel}, with a closing brace.")
    text = EMPHASIS.sub(lambda m: hold("a", "*") + m.group(2) + hold("b", "*"), text)
    return BLANK_LINES.sub(lambda m: "\n\n" + hold("p", f"[pause {PARAGRAPH_PAUSE_S:.3f}s]", "") + "\n\n",
                           text), table


def restore(sentences: list[str], table: list[str]) -> list[str]:
    """Placeholders back to markup, with speed and emphasis closed and reopened at each sentence."""
    out = []
    speeds: list[str] = []
    emphasis = False
    for sentence in sentences:
        opening = ("".join(f"[speed {s}] " for s in speeds[-1:])) + ("*" if emphasis else "")
        pieces = []
        last = 0
        for m in PLACEHOLDER.finditer(sentence):
            pieces.append(sentence[last:m.start()])
            last = m.end()
            canonical = table[int("".join(str("abcdefghij".index(c)) for c in m.group(2)))]
            kind = m.group(1)
            if kind == "s":
                speeds.append(canonical[len("[speed "):-1])
            elif kind == "e":
                if not speeds:
                    continue  # a stray [/speed]: nothing to close
                speeds.pop()
                canonical = f"[/speed][speed {speeds[-1]}]" if speeds else "[/speed]"
            elif kind in "ab":
                emphasis = kind == "a"
                canonical = OPEN_MARK if emphasis else CLOSE_MARK
            pieces.append(canonical)
        pieces.append(sentence[last:])
        body = "".join(pieces)
        # Emphasis marks hug their words; pauses sit between words.
        body = re.sub(rf"{OPEN_MARK}\s*", "*", re.sub(rf"\s*{CLOSE_MARK}", "*", body))
        closing = ("*" if emphasis else "") + (" [/speed]" if speeds else "")
        out.append(" ".join((opening + body + closing).split()))
    return out


def parse(sentence: str) -> list[Unit | Pause]:
    """A prepared sentence as units of speech and pauses; unknown text is plain text.

    Punctuation standing alone (after a pause, say) joins the unit before it.
    """
    items: list[Unit | Pause] = []
    speeds = [1.0]
    emphasis = False
    current: Unit | None = None
    last = 0

    def text(chunk: str, display: str | None = None, override: bool = False) -> None:
        nonlocal current
        if not chunk:
            return
        if current is None:
            current = Unit("", "", speeds[-1], emphasis)
            items.append(current)
        current.display += chunk if display is None else display
        current.spoken += chunk
        current.override = current.override or override

    for m in TOKEN.finditer(sentence):
        text(sentence[last:m.start()])
        last = m.end()
        token = m.group()
        if token.isspace():
            current = None
        elif token == "*":
            emphasis = not emphasis
        elif m.group(1):
            current = None
            items.append(Pause(float(m.group(1))))
        elif m.group(2):
            current = None
            speeds.append(float(m.group(2)))
        elif token == "[/speed]":
            current = None
            if len(speeds) > 1:
                speeds.pop()
        else:
            text(m.group(4), display=m.group(3), override=True)
    text(sentence[last:])
    return _attach_punctuation(items)


def _attach_punctuation(items: list[Unit | Pause]) -> list[Unit | Pause]:
    out: list[Unit | Pause] = []
    for item in items:
        if isinstance(item, Unit) and not SPEAKABLE.search(item.display):
            previous = next((u for u in reversed(out) if isinstance(u, Unit)), None)
            stop = re.fullmatch(r"[.,;:!?]+", item.display)
            # A stop after a tag that closes a finished sentence ("here. [/speed].") is the same stop.
            if previous is not None and not (stop and previous.display.endswith(tuple(".,;:!?"))):
                glue = "" if stop else " "
                previous.display += glue + item.display
                previous.spoken += glue + item.spoken
            continue
        out.append(item)
    return out


def display_words(sentence: str) -> list[str]:
    """The caption words of a prepared sentence (markup removed, overrides shown as written)."""
    return [w for item in parse(sentence) if isinstance(item, Unit) for w in item.display.split()
            if SPEAKABLE.search(w)]


def display_text(sentence: str) -> str:
    return " ".join(item.display for item in parse(sentence) if isinstance(item, Unit))
