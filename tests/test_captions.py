"""Caption phrases and the SRT, WebVTT and ASS files written from them."""

import re

import pytest

from pipeline.types import Word
from pipeline.video.captions import (
    HOLD_GAP_S,
    ass_escape,
    phrases,
    srt_text,
    vtt_text,
    write_ass,
    write_srt,
    write_vtt,
)

W, H = 1080, 1920
BOX = (90, 1180, 940, 1480)


def spoken(text: str, step_s: float = 0.35, start_s: float = 0.0,
           pauses: dict[int, float] | None = None) -> list[Word]:
    """Words of text, evenly timed, with extra silence before the word indices in pauses."""
    words, t = [], start_s
    for i, w in enumerate(text.split()):
        t += (pauses or {}).get(i, 0.0)
        words.append(Word(w, t, t + step_s - 0.05))
        t += step_s
    return words


def texts(ps) -> list[str]:
    return [p.text for p in ps]


def test_phrases_cover_all_words_in_order_within_limits():
    words = spoken("So here is the thing, nobody tells you how long editing takes. "
                   "You write a script, you film it, and then you spend three evenings "
                   "cutting out every single mistake you made on camera today.")
    ps = phrases(words)
    assert [w for p in ps for w in p.words] == words
    for p in ps:
        assert 2 <= len(p.words) <= 6, p.text
        assert len(p.text) <= 28, p.text
        assert p.start_s == p.words[0].start_s and p.end_s == p.words[-1].end_s
        # A sentence end only ever closes a phrase.
        assert not any(w.text.endswith((".", "!", "?")) for w in p.words[:-1]), p.text


def test_phrases_break_at_sentence_ends_and_commas():
    ps = phrases(spoken("Hello there, my friend. Nice to see you."))
    assert texts(ps) == ["Hello there,", "my friend.", "Nice to see you."]


def test_phrases_break_at_long_pauses():
    # Four words that would make one phrase, but with a 1 s silence before "make".
    ps = phrases(spoken("we could make it", pauses={2: 1.0}))
    assert texts(ps) == ["we could", "make it"]
    # The same words without the pause stay together.
    assert texts(phrases(spoken("we could make it"))) == ["we could make it"]


def test_phrases_avoid_one_word_orphans():
    # Breaking at the comma would leave "Well," alone: the comma stays inside instead.
    assert texts(phrases(spoken("Well, I think so."))) == ["Well, I think so."]
    # Seven unpunctuated words split into 4 + 3 (or 3 + 4), never 6 + 1.
    ps = phrases(spoken("we love making short videos every week"))
    assert sorted(len(p.words) for p in ps) == [3, 4]


def test_phrases_split_long_runs_by_words_and_chars():
    ps = phrases(spoken("one two three four five six seven eight nine ten eleven twelve"))
    assert all(2 <= len(p.words) <= 6 for p in ps)
    ps = phrases(spoken("internationalization considerations notwithstanding everything"))
    assert all(len(p.text) <= 28 or len(p.words) == 1 for p in ps)
    assert len(ps) >= 3


def test_phrases_edge_cases():
    assert phrases([]) == []
    only = phrases([Word("Hi.", 0.1, 0.4)])
    assert texts(only) == ["Hi."]
    # Whitespace-only words (from a tokenizer) are dropped rather than shown as gaps.
    assert texts(phrases([Word("a", 0, 0.2), Word(" ", 0.2, 0.3), Word("b", 0.3, 0.5)])) == ["a b"]


SMALL = [
    Word("Hello", 0.5, 0.9), Word("world.", 1.0, 1.4),
    Word("Second", 2.5, 2.9), Word("line", 2.95, 3.3), Word("here.", 3.35, 3.8),
    Word("Third", 3.9, 4.2), Word("one.", 4.25, 4.6),
]


def test_srt_exact(tmp_path):
    path = write_srt(phrases(SMALL), tmp_path / "c.srt")
    assert path.read_text(encoding="utf-8") == (
        "1\n00:00:00,500 --> 00:00:01,400\nHello world.\n"
        "\n"
        "2\n00:00:02,500 --> 00:00:03,900\nSecond line here.\n"  # held: next starts 0.1 s later
        "\n"
        "3\n00:00:03,900 --> 00:00:04,600\nThird one.\n"
    )


def test_vtt_exact_and_escaped(tmp_path):
    path = write_vtt(phrases(SMALL), tmp_path / "c.vtt")
    assert path.read_text(encoding="utf-8") == (
        "WEBVTT\n"
        "\n"
        "00:00:00.500 --> 00:00:01.400\nHello world.\n"
        "\n"
        "00:00:02.500 --> 00:00:03.900\nSecond line here.\n"
        "\n"
        "00:00:03.900 --> 00:00:04.600\nThird one.\n"
    )
    odd = phrases([Word("R&D", 0.0, 0.5), Word("<3", 0.5, 1.0)])
    assert "R&amp;D &lt;3" in vtt_text(odd)


def test_timestamps_past_an_hour():
    ps = phrases([Word("late", 3723.456, 3723.9), Word("words", 3724.0, 3724.5)])
    assert "01:02:03,456 --> 01:02:04,500" in srt_text(ps)
    assert "01:02:03.456 --> 01:02:04.500" in vtt_text(ps)


def test_short_gap_holds_long_gap_clears():
    ps = phrases(SMALL)
    cues = re.findall(r"(\S+) --> (\S+)", srt_text(ps))
    assert cues[0][1] == "00:00:01,400"           # 1.1 s silence: caption clears
    assert cues[1][1] == cues[2][0]               # 0.1 s < HOLD_GAP_S: held until the next
    assert HOLD_GAP_S == pytest.approx(0.3)


def test_ass_escape():
    # Escaped braces open no override block, so "\\b1" is shown as text.
    assert ass_escape("{\\b1}bold") == "\\{\\b1\\}bold"
    assert ass_escape("{\\N}") == "\\{\\\u2060N\\}"
    assert ass_escape("a\\Nb") == "a\\\u2060Nb"      # not a line break
    assert ass_escape("c:\\path") == "c:\\path"     # harmless backslashes stay as they are
    assert ass_escape("two\nlines") == "two lines"


def _events(ass: str) -> list[tuple[str, str, str]]:
    out = []
    for line in ass.splitlines():
        if line.startswith("Dialogue:"):
            fields = line.split(",", 9)
            out.append((fields[1], fields[2], fields[9]))
    return out


def _visible(text: str) -> str:
    """What libass shows: override blocks removed, escaped braces kept."""
    text = re.sub(r"(?<!\\)\{[^}]*(?<!\\)\}", "", text)
    return text.replace("\\{", "{").replace("\\}", "}").replace("\u2060", "").replace("\\N", "\n")


def test_ass_one_event_per_word_with_that_word_highlighted(tmp_path):
    words = [Word("Make", 1.0, 1.3), Word("{videos}", 1.35, 1.8), Word("faster.", 1.9, 2.4)]
    path = write_ass(phrases(words), tmp_path / "c.ass", W, H, BOX)
    ass = path.read_text(encoding="utf-8")
    assert f"PlayResX: {W}\n" in ass and f"PlayResY: {H}\n" in ass
    events = _events(ass)
    assert [(a, b) for a, b, _ in events] == [
        ("0:00:01.00", "0:00:01.35"), ("0:00:01.35", "0:00:01.90"), ("0:00:01.90", "0:00:02.40"),
    ]
    for k, (_, _, text) in enumerate(events):
        assert _visible(text) == "Make {videos} faster."
        # Exactly one word switched to the highlight colour (yellow, &HBBGGRR), and it is word k.
        highlighted = re.findall(r"\{\\c&H00D6FF&\}(.*?)\{\\c&HFFFFFF&\}", text)
        assert highlighted == [ass_escape(words[k].text)]
        # Centred in the caption box.
        assert "\\an5\\pos(515,1330)" in text


def test_ass_wraps_to_two_lines_and_shrinks_what_cannot_fit(tmp_path):
    narrow = (290, 1180, 790, 1480)   # 500 px wide: about 14 characters at 70 px
    ps = phrases(spoken("we ship every single week"))
    ass = write_ass(ps, tmp_path / "a.ass", W, H, narrow).read_text(encoding="utf-8")
    for _, _, text in _events(ass):
        assert _visible(text).count("\n") == 1
        assert "\\fs" not in text
    long = phrases([Word("Supercalifragilistic", 0.0, 1.0)])
    ass = write_ass(long, tmp_path / "b.ass", W, H, narrow).read_text(encoding="utf-8")
    (_, _, text), = _events(ass)
    size = float(re.search(r"\\fs([\d.]+)", text).group(1))
    assert size < 70


def test_phrase_limits_follow_the_config():
    words = spoken("one two three four five six seven eight nine ten")
    assert all(len(p.words) <= 3 for p in phrases(words, max_words=3))
    assert all(len(p.words) >= 5 for p in phrases(words, min_words=5, max_words=6,
                                                      max_chars=60))
    with pytest.raises(ValueError):
        phrases(words, min_words=4, max_words=3)
