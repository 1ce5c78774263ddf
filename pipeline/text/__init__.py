"""Script text -> normalized sentences: the exact words that are spoken and captioned."""

from __future__ import annotations

import re

from pipeline.errors import ScriptError
from pipeline.text.markup import strip_markup
from pipeline.text.normalize import normalize
from pipeline.text.sentences import split_long, split_sentences
from pipeline.text.tags import display_words, protect, restore

__all__ = ["normalize", "prepare_script", "split_sentences", "words_of"]

DEFAULT_MAX_CHARS = 60_000  # about an hour of speech
SPEAKABLE = re.compile(r"[^\W_]")  # a letter or digit in any script
SENTENCE_END = (".", "!", "?")


def words_of(sentence: str) -> list[str]:
    """The caption words of a normalized sentence, in order.

    Words keep the punctuation attached to them ("world," "Hello."), as captions show it;
    tokens with no letter or digit (a stray dash) are not words and are left out. Speech
    markup is not shown: a pronunciation override {SQL|sequel} shows as "SQL".
    """
    return display_words(sentence)


def _finish(sentence: str) -> str:
    """A sentence ends with . ! or ?, which gives Piper a falling (or rising) final intonation."""
    sentence = sentence.rstrip(",;: ")
    return sentence if sentence.endswith(SENTENCE_END) else sentence + "."


def prepare_script(raw: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """The script as a list of normalized sentences, ready for speech and captions.

    Sentences may carry speech markup (pauses, emphasis, overrides, speed: see text/tags.py),
    which `words_of` and speech synthesis understand.
    Raises ScriptError when the script is empty, has nothing speakable, is too long, or has
    malformed markup.
    """
    if raw is None or not raw.strip():
        raise ScriptError(
            "The script is empty. Write the words to speak in the script file "
            "(plain UTF-8 text), or pass them with --text \"...\"."
        )
    if len(raw) > max_chars:
        raise ScriptError(
            f"The script is {len(raw):,} characters long; the limit is {max_chars:,} for one video. "
            "That is more than about an hour of speech. Split it into several scripts (one video "
            "each, for example one per lesson), or raise max_script_chars in the config."
        )
    protected, table = protect(raw)
    sentences = []
    for paragraph in strip_markup(protected).split("\n\n"):
        for sentence in split_sentences(paragraph):
            spoken = normalize(sentence)
            if SPEAKABLE.search(spoken):
                sentences.extend(_finish(piece) for piece in split_long(spoken))
    # Sentences of pauses only stay (they are silence), unless there is nothing to say at all.
    sentences = restore(sentences, table)
    sentences = [s for s in sentences if display_words(s) or "[pause" in s]
    if not any(display_words(s) for s in sentences):
        raise ScriptError(
            "The script has nothing that can be spoken: it contains only emoji, symbols, markup or "
            "punctuation. Write the words to say as ordinary text."
        )
    return sentences
