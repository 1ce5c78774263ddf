import pytest

from pipeline.errors import ScriptError
from pipeline.text import normalize, prepare_script, split_sentences, words_of
from pipeline.text.tags import PARAGRAPH_PAUSE_S, Pause, Unit, display_text, parse


@pytest.mark.parametrize("raw, spoken", [
    # cardinals, thousands, decimals, negatives
    ("We have 1,234 users.", "We have one thousand two hundred thirty-four users."),
    ("Pi is 3.14 and it is -5 outside.", "Pi is three point one four and it is minus five outside."),
    ("I ate 7 of 21.", "I ate seven of twenty-one."),
    # ordinals
    ("The 1st, 2nd, 3rd, 23rd and 100th.", "The first, second, third, twenty-third and one hundredth."),
    # years
    ("In 1999 and 2024 and 2005 and 1905.",
     "In nineteen ninety-nine and twenty twenty-four and two thousand five and nineteen oh five."),
    # currency
    ("It costs $5, $1, $3.50, $0.99 and €20.",
     "It costs five dollars, one dollar, three dollars and fifty cents, ninety-nine cents and twenty euros."),
    ("They raised $2.5M, then $10k, then $1B and £3.",
     "They raised two point five million dollars, then ten thousand dollars, then one billion dollars "
     "and three pounds."),
    # percentages
    ("Up 12% and 3.5%.", "Up twelve percent and three point five percent."),
    # dates
    ("On 2024-03-15.", "On March fifteenth, twenty twenty-four."),
    ("On 03/15/2024.", "On March fifteenth, twenty twenty-four."),
    ("By March 5 or 5 March 2024.", "By March fifth or the fifth of March, twenty twenty-four."),
    ("Mon, Jan 5 was cold.", "Monday, January fifth was cold."),
    # times
    ("At 9am, 9:30 pm and 14:05.", "At nine a.m., nine thirty p.m. and fourteen oh five."),
    ("Meet at 9:00.", "Meet at nine o'clock."),
    # abbreviations
    ("Dr. Smith met Mr. and Mrs. Jones vs. Ms. Lee.",
     "Doctor Smith met Mister and Missus Jones versus Miz Lee."),
    ("Fruit, e.g. apples, i.e. food, approx. 5 km, No. 5 at Acme Inc.",
     "Fruit, for example, apples, that is, food, approximately five kilometers, number five at Acme "
     "Incorporated."),
    ("We sell apples, pears, etc.", "We sell apples, pears, et cetera."),
    ("He lives on Main St. near St. Paul.", "He lives on Main Street near Saint Paul."),
    # units and symbols
    ("It weighs 1 kg, not 3 kg, at 20°C.",
     "It weighs one kilogram, not three kilograms, at twenty degrees Celsius."),
    ("Tom & Jerry ran 10-20 km.", "Tom and Jerry ran ten to twenty kilometers."),
    # urls, e-mail, handles, hashtags
    ("Visit https://www.example.com today.", "Visit example dot com today."),
    ("See example.com/pricing now.", "See example dot com slash pricing now."),
    ("Mail jane@example.com now.", "Mail jane at example dot com now."),
    ("Follow @janedoe and #MondayMotivation.", "Follow at janedoe and hashtag Monday Motivation."),
    # codes, decades, versions
    ("Q3 sales of MP4 files in the 1990s and 80s, v3.2.1.",
     "Q three sales of MP four files in the nineteen nineties and eighties, v three point two point one."),
    # typography
    ("\u201cQuoted\u201d text \u2014 and it\u2019s fine\u2026 ok.", "Quoted text, and it's fine, ok."),
])
def test_normalize(raw, spoken):
    assert normalize(raw) == spoken


def test_normalize_leaves_no_digits_or_symbols():
    text = normalize("Call 555 at 10:45, pay $12,000.75 (50%) on 2023-12-01 for #3 & more 🎉.")
    assert not any(ch.isdigit() for ch in text)
    assert not set(text) & set("$%&#()🎉")


def test_emoji_and_markup_dropped():
    raw = (
        "# Welcome to **my** channel 🎉\n\n"
        "This is _great_, see [the docs](https://x.com/docs) and <b>bold</b> text 👍🏽.\n\n"
        "- first item\n- second item\n\n"
        "```python\nprint(1)\n```\n"
    )
    sentences = prepare_script(raw)
    # Bold is emphasis; each blank line a paragraph pause.
    assert sentences[:2] == ["Welcome to *my* channel.", "[pause 0.600s]."]
    assert [display_text(s) for s in sentences if words_of(s)] == [
        "Welcome to my channel.",
        "This is great, see the docs and bold text.",
        "first item.",
        "second item.",
    ]


def test_split_sentences_respects_abbreviations_and_decimals():
    text = "Dr. Smith paid $3.50 at 9:30 a.m. on Jan. 5. He left at 5 p.m. Then he slept! Did he? Yes."
    assert split_sentences(text) == [
        "Dr. Smith paid $3.50 at 9:30 a.m. on Jan. 5.",
        "He left at 5 p.m.",
        "Then he slept!",
        "Did he?",
        "Yes.",
    ]
    assert split_sentences("We met J. R. R. Tolkien. He smiled.") == [
        "We met J. R. R. Tolkien.", "He smiled."]
    assert split_sentences("See No. 5 first. No. I will not.") == ["See No. 5 first.", "No.", "I will not."]


def test_prepare_script_sentences_and_words():
    sentences = prepare_script("Dr. Smith paid $3.50 at 9:30 a.m. on Jan. 5. He left")
    assert sentences == [
        "Doctor Smith paid three dollars and fifty cents at nine thirty a.m. on January fifth.",
        "He left.",
    ]
    assert words_of(sentences[1]) == ["He", "left."]
    assert words_of("Hello, world - again.") == ["Hello,", "world", "again."]


def test_prepare_script_cuts_very_long_sentences():
    raw = ", ".join(["this is one clause of a very long sentence"] * 30) + "."
    sentences = prepare_script(raw)
    assert len(sentences) > 1
    assert all(len(s) <= 300 for s in sentences)
    assert sum(len(words_of(s)) for s in sentences) == len(words_of(normalize(raw)))


@pytest.mark.parametrize("raw, fragment", [
    ("", "empty"),
    ("   \n\t ", "empty"),
    ("🎉🎉 👍🏽 ✨", "nothing that can be spoken"),
    ("**__** <br> ---", "nothing that can be spoken"),
])
def test_script_errors(raw, fragment):
    with pytest.raises(ScriptError, match=fragment):
        prepare_script(raw)


def test_script_too_long_names_length_and_limit():
    with pytest.raises(ScriptError) as info:
        prepare_script("word " * 100, max_chars=120)
    message = str(info.value)
    assert "500" in message and "120" in message and "Split" in message


def test_markup_pauses_paragraphs_and_overrides():
    sentences = prepare_script("One. [pause 1s] Two [pause 250ms] three.\n\nSay {SQL|sequel}, please.")
    items = [item for s in sentences for item in parse(s)]
    assert [i.seconds for i in items if isinstance(i, Pause)] == [1.0, 0.25, PARAGRAPH_PAUSE_S]
    words = [w for s in sentences for w in words_of(s)]
    assert words == ["One.", "Two", "three.", "Say", "SQL,", "please."]
    sql = next(i for i in items if isinstance(i, Unit) and i.display == "SQL,")
    assert sql.spoken == "sequel," and sql.override


def test_markup_emphasis_and_speed_are_kept_per_sentence():
    sentences = prepare_script("A *very* big **2 things** day. [speed 1.5]Fast one. Fast two.[/speed] Slow.")
    units = [i for s in sentences for i in parse(s) if isinstance(i, Unit)]
    assert [u.display for u in units if u.emphasis] == ["very", "two", "things"]
    assert [u.display for u in units if u.speed == 1.5] == ["Fast", "one.", "Fast", "two."]
    assert [u.speed for u in units if u.display == "Slow."] == [1.0]
    assert all("[" not in w and "*" not in w for s in sentences for w in words_of(s))


@pytest.mark.parametrize("raw, fragment", [
    ("Hello.\nWait [pause 1s", r"'\[pause 1s' on line 2 is not valid"),
    ("Hello [pause soon] there.", "not valid markup"),
    ("Hello [pause 0s] there.", "longer than 0"),
    ("Hello [pause 90s] there.", "at most 30"),
    ("Hello [speed 5] there.", "between 0.5"),
    ("Say {SQL|sequel right.", "not closed"),
    ("Say {|sequel} right.", "both parts"),
    ("[pause 1s]\n\n[pause 2s]", "nothing that can be spoken"),
])
def test_malformed_markup_names_the_problem(raw, fragment):
    with pytest.raises(ScriptError, match=fragment):
        prepare_script(raw)


def test_stray_brackets_are_plain_text():
    sentences = prepare_script("A lone { brace, a * star and [a note] stay text. [/speed] Done.")
    assert [w for s in sentences for w in words_of(s)][-1] == "Done."
    assert not any("speed" in s for s in sentences)
