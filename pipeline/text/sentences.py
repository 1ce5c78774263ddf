"""Sentence splitting that knows abbreviations, initials and decimals."""

from __future__ import annotations

import re

# A full stop after these never ends a sentence (titles, "e.g.", months before a day...).
NEVER_FINAL = {
    "dr", "mr", "mrs", "ms", "prof", "mt", "vs", "e.g", "i.e", "approx", "fig", "cf", "ca",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat",
}
# Long sentences are cut at a comma (or a space) so each piece is a comfortable TTS chunk.
MAX_SENTENCE_CHARS = 300

BOUNDARY = re.compile(r"[.!?]+['\")\]]*(?=\s|$)|\n\s*\n")
LAST_TOKEN = re.compile(r"(\S+?)[.!?]+['\")\]]*$")


def _is_final(text: str, end: int) -> bool:
    """Whether the punctuation ending at `end` closes a sentence."""
    rest = text[end:].lstrip()
    if not rest:
        return True
    before = text[:end]
    if before.rstrip().endswith(("!", "?")) or "\n\n" in text[end - 1:end + 2]:
        return True
    token_match = LAST_TOKEN.search(before.rstrip())
    token = token_match.group(1).lower().lstrip("(\"'[") if token_match else ""
    if token in NEVER_FINAL or (token == "no" and rest[0].isdigit()):
        return False
    if re.fullmatch(r"[a-z]", token) and rest[0].isupper():
        return False  # an initial, as in "J. R. R. Tolkien"
    # A full stop followed by a lower-case word is an abbreviation ("approx. five", "a.m. on").
    return not rest[0].islower()


def split_long(sentence: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """A very long sentence cut at the comma (else the space) nearest its middle, recursively."""
    if len(sentence) <= max_chars:
        return [sentence]
    middle = len(sentence) // 2
    cuts = [m.end() for m in re.finditer(r"[,;:]\s", sentence)]
    cuts = cuts or [m.end() for m in re.finditer(r"\s", sentence)]
    if not cuts:
        return [sentence]
    cut = min(cuts, key=lambda i: abs(i - middle))
    return split_long(sentence[:cut].strip(), max_chars) + split_long(sentence[cut:].strip(), max_chars)


def split_sentences(text: str) -> list[str]:
    """Sentences in order, each keeping its final punctuation; paragraph breaks always split.

    >>> split_sentences("Dr. Smith paid $3.50 at 9:30 a.m. on Jan. 5. He left.")
    ['Dr. Smith paid $3.50 at 9:30 a.m. on Jan. 5.', 'He left.']
    """
    sentences, start = [], 0
    for m in BOUNDARY.finditer(text):
        if m.group().strip() and not _is_final(text, m.end()):
            continue
        piece = " ".join(text[start:m.end()].split())
        if piece:
            sentences.append(piece)
        start = m.end()
    tail = " ".join(text[start:].split())
    if tail:
        sentences.append(tail)
    return sentences
