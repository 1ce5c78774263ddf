"""Sentence spans from punctuation on the words, or from pauses when there is none."""

from __future__ import annotations

from pipeline.types import Word

PAUSE_S = 0.4
_CLOSERS = "\"')]}»”’"


def _ends_sentence(text: str) -> bool:
    return text.rstrip(_CLOSERS).endswith((".", "!", "?", "…"))


def sentence_spans(words: list[Word]) -> list[tuple[float, float]]:
    if not words:
        return []
    punctuated = any(_ends_sentence(w.text) for w in words)
    spans, first = [], 0
    for i, w in enumerate(words):
        last = i == len(words) - 1
        if punctuated:
            cut = _ends_sentence(w.text)
        else:
            cut = not last and words[i + 1].start_s - w.end_s > PAUSE_S
        if cut or last:
            spans.append((words[first].start_s, w.end_s))
            first = i + 1
    return spans
