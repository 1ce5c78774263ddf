"""Sentences for the training corpus: templates filled with common words and dictionary words.

The wording only has to be varied in sound, rhythm and intonation (statements, questions,
exclamations, lists, long and short), not meaningful: the mouth follows the phones, and
Piper pronounces any word. Common words give natural prosody; random words from the CMU
dictionary that ships with pocketsphinx give rare phone sequences.
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

NOUNS = (
    "apple baby bag ball bank bed bird boat body book bottle box boy bread bridge brother "
    "bus butter cake camera car cat chair cheese child church city clock cloud coat coffee "
    "computer cookie country cup dog door dream egg engine face family farm father finger "
    "fish floor flower friend garden girl glass hand head heart horse house idea island "
    "job juice key kitchen lamp letter light lunch machine map market meeting milk money "
    "monkey month moon morning mother mountain mouth music night number ocean office orange "
    "page paper park party pencil people phone piano picture pizza plane plate pocket "
    "problem question rain river road rock room school sea shoe shop sister sky song "
    "spoon story street summer sun table teacher thumb ticket time tooth town train tree "
    "truck umbrella valley village voice watch water weather week window winter woman "
    "word world year zebra voyage budget member vision theory feather puzzle whisper"
).split()
VERBS_PAST = (
    "bought broke built called carried caught changed chose cleaned climbed closed cooked "
    "counted covered crossed danced delivered dropped enjoyed explained fixed followed "
    "found grabbed helped hid jumped kept kicked kissed knew laughed learned lifted liked "
    "lost loved made measured missed moved noticed opened packed painted passed picked "
    "played pulled pushed reached read remembered shared showed signed smelled sold "
    "started stopped studied thanked touched traveled visited waited washed watched "
    "wanted wrote zipped bumped mapped mopped popped bombed"
).split()
VERBS = (
    "bring buy call carry catch change choose clean climb close cook cover cross dance "
    "explain find fix follow help hide jump keep kick learn lift like love make measure "
    "miss move open pack paint pass pick play pull push reach read remember share show "
    "sing sleep smell speak start stop study teach tell think throw touch travel visit "
    "wait walk wash watch want write"
).split()
ADJECTIVES = (
    "big small happy sad quick slow bright dark warm cold soft loud quiet busy empty full "
    "old new young fresh strange simple beautiful purple yellow blue green red smooth "
    "rough heavy light early late brave calm curious gentle proud lucky famous massive "
    "tiny shiny muddy sleepy hungry thirsty perfect possible important wonderful"
).split()
ADVERBS = "quickly slowly carefully happily quietly suddenly finally always never often maybe".split()
NAMES = (
    "Bob Pam Mike Maria John Sophie Peter Emma Paul Olivia Ben Mia Tom Lucy Sam Ava Max "
    "Zoe Jack Chloe Fred Vivian Theo Ruth Oscar Bella Hugo Judy Walter Yusuf Priya Chen"
).split()
PLACES = "Boston Paris Tokyo Berlin Madrid Chicago Mumbai Sydney Cairo Oslo Lima Rome".split()
TIMES = ("yesterday", "today", "last week", "on Monday", "this morning", "at night",
         "every summer", "before lunch", "after the meeting", "in the spring")

TEMPLATES = (
    "{Name} {past} the {adj} {noun}.",
    "The {adj} {noun} {past} {time}.",
    "Did {Name} really {verb} the {noun} {time}?",
    "Why would you {verb} a {adj} {noun}?",
    "Please {verb} the {noun} {adv}.",
    "Wow, that {noun} is so {adj}!",
    "{Name} and {Name2} {past} a {noun} in {place}.",
    "I think we should {verb} the {noun} before the {noun2} gets {adj}.",
    "My {noun}, your {noun2}, and their {adj} {noun3}.",
    "{time_cap}, {Name} {past} the {noun} and {past2} the {noun2}.",
    "Could you {verb} my {noun}, please?",
    "No! Don't {verb} the {noun}!",
    "It was a {adj}, {adj2} {noun}, and everyone {past} it.",
    "The {noun} in {place} is {adv} {adj}.",
    "Have you ever seen a {adj} {noun} {verb}ing?",
    "{Name} said: the {noun} is {adj}, the {noun2} is {adj2}.",
    "We {past} {number} {noun}s and {number2} {noun2}s.",
    "Maybe the {noun} {past} the {noun2}, maybe not.",
    "Every {noun} needs a {adj} {noun2}.",
    "{Name}, {verb} the {noun}. Now!",
    "The {rare} and the {rare2} {past} the {noun}.",
    "Say {rare}, then {rare2}, then {rare3}.",
    "{Name} {past} a {rare} near the {adj} {noun}.",
    "Is the {rare} {adj}, or is it {adj2}?",
    "Bob met Pam by the big blue boat.",
    "Mum put the maps by the bumpy path.",
    "Five fine vans moved very fast.",
    "She sells sea shells by the sea shore.",
    "Whoever wants more food should move over to the window.",
    "Think about the thirty thin thistles there.",
)
NUMBERS = "two three four five six seven eight nine ten twelve twenty fifty hundred".split()


@lru_cache(maxsize=1)
def dictionary_words() -> tuple[str, ...]:
    """Plain alphabetic words of 3-10 letters from the CMU dictionary inside pocketsphinx."""
    import pocketsphinx

    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    words = []
    for line in path.read_text(encoding="utf-8", errors="ignore").splitlines():
        word = line.split(" ", 1)[0]
        if word.isalpha() and word.isascii() and 3 <= len(word) <= 10:
            words.append(word)
    return tuple(words)


def sentence(rng: random.Random) -> str:
    """One sentence from a random template."""
    rare = dictionary_words()
    slots = {
        "Name": rng.choice(NAMES), "Name2": rng.choice(NAMES), "place": rng.choice(PLACES),
        "noun": rng.choice(NOUNS), "noun2": rng.choice(NOUNS), "noun3": rng.choice(NOUNS),
        "verb": rng.choice(VERBS), "past": rng.choice(VERBS_PAST), "past2": rng.choice(VERBS_PAST),
        "adj": rng.choice(ADJECTIVES), "adj2": rng.choice(ADJECTIVES), "adv": rng.choice(ADVERBS),
        "time": rng.choice(TIMES), "number": rng.choice(NUMBERS), "number2": rng.choice(NUMBERS),
        "rare": rng.choice(rare), "rare2": rng.choice(rare), "rare3": rng.choice(rare),
    }
    slots["time_cap"] = slots["time"][0].upper() + slots["time"][1:]
    return rng.choice(TEMPLATES).format(**slots)


def word_salad(rng: random.Random) -> str:
    """A run of common and dictionary words with random punctuation: odd rhythms, rare phones."""
    pool = NOUNS + VERBS + ADJECTIVES + ["the", "a", "and", "of", "to", "in", "with", "but"]
    words = [rng.choice(dictionary_words()) if rng.random() < 0.35 else rng.choice(pool)
             for _ in range(rng.randint(3, 12))]
    text = ""
    for i, word in enumerate(words):
        text += (" " if i else "") + word
        if i < len(words) - 1 and rng.random() < 0.12:
            text += ","
    return text[0].upper() + text[1:] + rng.choice((".", ".", "?", "!"))


def texts(n: int, seed: int) -> list[str]:
    """n utterances of one or two sentences, reproducible from seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [sentence(rng) if rng.random() < 0.7 else word_salad(rng)
                 for _ in range(1 if rng.random() < 0.7 else 2)]
        out.append(" ".join(parts))
    return out
