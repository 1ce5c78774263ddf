"""Markdown, HTML, emoji and typography removed, so only speakable text is left."""

from __future__ import annotations

import html
import re
import unicodedata

# Typography folded to the plain ASCII forms the rules below (and espeak) understand.
FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2012": "-", "\u2010": "-", "\u2011": "-", "\u2212": "-",
    "\u2014": " - ", "\u2015": " - ",
    "\u2026": "...",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ", "\u200b": "", "\u00ad": "",
    "\u00d7": " times ", "\u2022": "\n- ", "\u00b7": " ",
})
# Symbols the normalizer turns into words: kept when emoji and pictographs are dropped.
SPOKEN_SYMBOLS = set("$€£¥%&@#+=°/~")

CODE_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^\s*\1[^\n]*$", re.M | re.S)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
HTML_BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|blockquote)\s*>|<br\s*/?>", re.I)
HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
MD_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
MD_LINK_DEF = re.compile(r"^[ \t]*\[[^\]]+\]:\s*\S+.*$", re.M)
MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", re.M)
MD_SETEXT = re.compile(r"^[ \t]*(=+|-{3,}|\*{3,}|_{3,})\s*$", re.M)
MD_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+(?=\S)", re.M)
MD_QUOTE = re.compile(r"^[ \t]*>+\s?", re.M)
MD_TABLE_RULE = re.compile(r"^[ \t]*\|?[\s:|-]+\|[\s:|-]*$", re.M)
MD_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3}|~~)(?=\S)(.+?)(?<=\S)\1")
INLINE_CODE = re.compile(r"`+([^`]*)`+")
LINE_END_NO_STOP = re.compile(r"([A-Za-z0-9%)])[ \t]*$", re.M)


def _keep_char(ch: str) -> bool:
    if ch in SPOKEN_SYMBOLS or ch in "\n\t ":
        return True
    cat = unicodedata.category(ch)
    # So/Sk: emoji, pictographs, modifiers; Cf/Co/Cs/Cn: joiners, variation selectors, private use;
    # Mn after NFC: stray combining marks (emoji keycaps, zalgo) with no letter to belong to.
    return not (cat in ("So", "Sk", "Cf", "Co", "Cs", "Cn", "Mn") or (cat == "Cc"))


def drop_symbols(text: str) -> str:
    """Emoji, pictographs and invisible characters removed (letters, digits, punctuation kept)."""
    return "".join(ch for ch in text if _keep_char(ch))


def fold_typography(text: str) -> str:
    text = unicodedata.normalize("NFC", html.unescape(text))
    text = text.translate(FOLD)
    # Full-width forms and ligatures to ASCII, but keep letters such as é that NFKC leaves alone.
    return "".join(unicodedata.normalize("NFKC", ch) if 0xFF00 <= ord(ch) <= 0xFFEF or 0xFB00 <= ord(ch)
                   <= 0xFB06 else ch for ch in text)


def strip_markup(text: str) -> str:
    """Markdown and HTML removed; headings and list items end a sentence; paragraphs stay apart.

    Returns text whose paragraphs are separated by a blank line.
    """
    text = fold_typography(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = CODE_FENCE.sub("\n\n", text)
    text = HTML_COMMENT.sub(" ", text)
    text = HTML_BLOCK_END.sub("\n\n", text)
    text = HTML_TAG.sub(" ", text)
    text = MD_IMAGE.sub(" ", text)
    text = MD_LINK.sub(r"\1", text)
    text = MD_REF_LINK.sub(r"\1", text)
    text = MD_LINK_DEF.sub("", text)
    text = MD_TABLE_RULE.sub("", text)
    text = MD_SETEXT.sub("\n", text)
    # Headings, list items and table rows are lines of their own: each ends a sentence.
    text = MD_HEADING.sub(lambda m: "\n" + _end_line(m.group(1)) + "\n\n", text)
    text = MD_LIST_ITEM.sub("", _mark_list_lines(text))
    text = MD_QUOTE.sub("", text)
    text = INLINE_CODE.sub(r"\1", text)
    for _ in range(2):  # nested emphasis such as ***x*** or **_x_**
        text = MD_EMPHASIS.sub(r"\2", text)
    text = text.replace("|", " , ")
    text = drop_symbols(text)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n[ \t]*\n", text)]
    return "\n\n".join(_end_line(p) for p in paragraphs if p.strip())


def _mark_list_lines(text: str) -> str:
    """A list item with no final punctuation gets a full stop, so items are not run together."""
    lines = text.split("\n")
    out = []
    for line in lines:
        if MD_LIST_ITEM.match(line) or line.lstrip().startswith("|"):
            out.append("\n\n" + _end_line(line.rstrip().rstrip("|")) + "\n\n")
        else:
            out.append(line)
    return "\n".join(out)


def _end_line(line: str) -> str:
    """A stop after a line that ends in a word or number (headings, list items, paragraphs)."""
    return LINE_END_NO_STOP.sub(r"\1.", line.rstrip())
