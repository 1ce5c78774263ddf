"""Sentences -> speech audio with exact phone and word timing from Piper's alignments."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pipeline.progress import SILENT, Progress
from pipeline.speech.loudness import normalize_loudness
from pipeline.speech.phones import Segment, fold
from pipeline.speech.voices import Voice
from pipeline.text import words_of
from pipeline.text.tags import SPEAKABLE, Pause, Unit, display_text, parse
from pipeline.types import SILENCE, Phone, Speech, Word

LOGGER = logging.getLogger(__name__)

EDGE_SILENCE_S = 0.15   # lead-in and lead-out, so the first phone is not cut by the video start
# Emphasis (Piper has no SSML): the words are their own utterance, 25% slower and 4 dB louder.
EMPHASIS_LENGTH = 1.25
EMPHASIS_GAIN_DB = 4.0
ESTIMATED_WORD_PROBABILITY = 0.0  # words whose span is spread by letter count, not measured


def _synthesis_config(voice: Voice, length_scale: float):
    from piper import SynthesisConfig

    p = voice.profile
    # Piper normalises each sentence to full scale by default, which makes loudness jump
    # between sentences; one gain for the whole speech keeps the voice's own dynamics.
    return SynthesisConfig(
        speaker_id=p.speaker, length_scale=length_scale, noise_scale=p.noise_scale,
        noise_w_scale=p.noise_w, normalize_audio=False,
    )


def _bare(word: str) -> str:
    return re.sub(r"^[^\w]+|[^\w]+$", "", word)


def _labels(voice: Voice, text: str) -> list[str]:
    """The phones espeak gives a text on its own (durations are not needed, so all 1)."""
    symbols = [s for sentence in voice.model.phonemize(text) for s in sentence]
    return [s.label for s in fold([(s, 1) for s in symbols], 1) if s.label != SILENCE]


def _align_labels(spoken: list[str], reference: list[str]) -> list[int | None]:
    """Levenshtein alignment: for each spoken phone, the index of its reference phone (or None)."""
    n, m = len(spoken), len(reference)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + (spoken[i - 1] != reference[j - 1]),
                             cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    match: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        if cost[i, j] == cost[i - 1, j - 1] + (spoken[i - 1] != reference[j - 1]):
            match[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return match


def _word_of_segments(voice: Voice, segments: list[Segment], words: list[str]) -> list[int | None] | None:
    """For each segment, the index of the caption word it belongs to (None for pauses).

    espeak joins some words ("of the" -> one group) and splits others, so when its word
    count differs from the caption's, the phones are matched to each caption word's own
    phonemization. Returns None when the words cannot be placed.
    """
    espeak_words = sorted({s.word for s in segments if s.label != SILENCE and s.word is not None})
    if len(espeak_words) == len(words):
        index = {w: k for k, w in enumerate(espeak_words)}
        return [index[s.word] if s.label != SILENCE else None for s in segments]
    reference, owner = [], []
    for k, word in enumerate(words):
        labels = _labels(voice, _bare(word)) if _bare(word) else []
        reference += labels
        owner += [k] * len(labels)
    speech_idx = [i for i, s in enumerate(segments) if s.label != SILENCE]
    match = _align_labels([segments[i].label for i in speech_idx], reference)
    assigned: list[int | None] = [owner[j] if j is not None else None for j in match]
    # Unmatched phones join the word before them (else the word after).
    for k in range(len(assigned)):
        if assigned[k] is None and k > 0:
            assigned[k] = assigned[k - 1]
    for k in reversed(range(len(assigned))):
        if assigned[k] is None and k + 1 < len(assigned):
            assigned[k] = assigned[k + 1]
    if len(set(assigned)) != len(words) or assigned != sorted(assigned):
        return None
    result: list[int | None] = [None] * len(segments)
    for i, k in zip(speech_idx, assigned, strict=True):
        result[i] = k
    return result


def _estimate_words(words: list[str], start_s: float, end_s: float) -> list[Word]:
    """Word spans spread over the sentence by letter count, flagged with probability 0."""
    weights = np.array([max(len(_bare(w)), 1) for w in words], dtype=float)
    edges = start_s + (end_s - start_s) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    return [Word(w, float(a), float(b), ESTIMATED_WORD_PROBABILITY)
            for w, a, b in zip(words, edges[:-1], edges[1:], strict=True)]


def _sentence_words(voice: Voice, segments: list[Segment], words: list[str], offset: int,
                    rate: int) -> list[Word]:
    owners = _word_of_segments(voice, segments, words)
    starts = offset + np.concatenate([[0], np.cumsum([s.samples for s in segments])])
    if owners is None:
        speech = [k for k, s in enumerate(segments) if s.label != SILENCE]
        LOGGER.info("Word timing from letter counts for: %s", " ".join(words))
        first, last = (speech[0], speech[-1]) if speech else (0, len(segments) - 1)
        return _estimate_words(words, starts[first] / rate, starts[last + 1] / rate)
    spans: dict[int, list[int]] = {}
    for k, owner in enumerate(owners):
        if owner is not None:
            spans.setdefault(owner, [k, k])[1] = k
    return [Word(w, float(starts[spans[k][0]] / rate), float(starts[spans[k][1] + 1] / rate))
            for k, w in enumerate(words)]


@dataclass
class _Block:
    """Synthesized audio of one run of words, with word spans relative to its start."""

    audio: np.ndarray | None     # let go once written out
    segments: list[Segment]
    words: list[Word]
    rate: int
    aligned: bool = True


@dataclass
class _Gap:
    samples: int
    exact: bool   # a [pause]: the whole silence, Piper's own edge silence included, is this long


def _spoken_form(unit: Unit, lexicon: Mapping[str, str]) -> str:
    """What the voice says for a unit: its override, else a lexicon entry, else the text."""
    if unit.override or not lexicon:
        return unit.spoken
    m = re.fullmatch(r"(\W*)(.*?)(\W*)", unit.spoken)
    lead, core, tail = m.groups()
    spoken = lexicon.get(core, lexicon.get(core.lower()))
    return unit.spoken if spoken is None else f"{lead}{spoken}{tail}"


def _runs(items: list[Unit | Pause]) -> list[list[Unit] | Pause]:
    """Units grouped into runs spoken in one go (same speed and emphasis, no pause between)."""
    runs: list[list[Unit] | Pause] = []
    for item in items:
        if isinstance(item, Pause):
            runs.append(item)
        elif runs and isinstance(runs[-1], list) and (runs[-1][-1].speed, runs[-1][-1].emphasis) == (
                item.speed, item.emphasis):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _spread(words: list[str], start_s: float, end_s: float, probability: float) -> list[Word]:
    """A span shared by several caption words, by letter count (an override like {NYC|New York City})."""
    weights = np.array([max(len(_bare(w)), 1) for w in words], dtype=float)
    edges = start_s + (end_s - start_s) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    return [Word(w, float(a), float(b), probability) for w, a, b in zip(words, edges[:-1], edges[1:],
                                                                       strict=True)]


def _speak_run(voice: Voice, units: list[Unit], final: bool) -> _Block | None:
    """One Piper utterance for a run; caption words get the spans of the words spoken for them."""
    rate = voice.sample_rate_hz
    spoken = [_spoken_form(u, voice.lexicon) for u in units]
    text = " ".join(spoken)
    if not final and not re.search(r"[.,;:!?]$", text):
        text += ","  # continuation intonation (and a short breath) where the sentence goes on
    if not SPEAKABLE.search(text):
        return None
    p = voice.profile
    scale = p.length_scale / units[0].speed * (EMPHASIS_LENGTH if units[0].emphasis else 1.0)
    config = _synthesis_config(voice, length_scale=scale)
    pieces, segments, aligned = [], [], True
    for chunk in voice.model.synthesize(text, config, include_alignments=True):
        audio = np.asarray(chunk.audio_float_array, dtype=np.float32).reshape(-1)
        alignments = chunk.phoneme_alignments
        if alignments is None or sum(a.num_samples for a in alignments) != len(audio):
            LOGGER.warning("Piper gave no phone alignment for: %s", text)
            aligned = False
            chunk_segments = [Segment(SILENCE, len(audio), None)]
        else:
            chunk_segments = fold([(a.phoneme, a.num_samples) for a in alignments], rate)
        # espeak may cut one of our sentences into several; keep their word numbers apart.
        base = 1 + max((s.word for s in segments if s.word is not None), default=-1)
        segments += [Segment(s.label, s.samples, None if s.word is None else s.word + base)
                     for s in chunk_segments]
        pieces.append(audio)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    if voice.conversion is not None:
        from pipeline.speech.clone import convert

        # Run by run (a sentence at most), so memory does not grow with the script.
        audio = convert(audio, rate, voice.conversion)
    if units[0].emphasis:
        audio = audio * np.float32(10.0 ** (EMPHASIS_GAIN_DB / 20.0))
    spoken_words = words_of(text)
    counts = [len(words_of(s)) for s in spoken]
    timed = _sentence_words(voice, segments, spoken_words, 0, rate) if spoken_words and aligned else \
        _estimate_words(spoken_words, 0.0, len(audio) / rate) if spoken_words else []
    words, k = [], 0
    for unit, count in zip(units, counts, strict=True):
        shown = words_of(unit.display)
        if count:
            span = timed[k:k + count]
            words += _spread(shown, span[0].start_s, span[-1].end_s, min(w.probability for w in span))
        elif shown:  # nothing spoken for it: a zero-length span where it would be
            at_s = words[-1].end_s if words else 0.0
            words += [Word(w, at_s, at_s, ESTIMATED_WORD_PROBABILITY) for w in shown]
        k += count
    return _Block(audio, segments if aligned else [Segment(SILENCE, len(audio), None)], words, rate, aligned)


def _edge_silence(segments: list[Segment], from_end: bool) -> int:
    ordered = reversed(segments) if from_end else iter(segments)
    total = 0
    for s in ordered:
        if s.label != SILENCE:
            break
        total += s.samples
    return total


def synthesize(sentences: list[str], voice: Voice, progress: Progress = SILENT) -> Speech:
    """Speak prepared sentences; phones and caption-word spans come from Piper's own durations.

    Sentences may carry speech markup (pipeline/text/tags.py): pauses are silence of exactly
    the length asked for (Piper's own silence at their edges included), emphasized words are
    spoken as their own utterance, slower and louder, overrides and the voice's lexicon change
    what is said but not the caption words. The result is at -14 LUFS, peaks under -1 dBTP.
    """
    if voice.profile.engine == "coqui":
        from pipeline.speech.coqui import synthesize as coqui_synthesize

        return coqui_synthesize(sentences, voice, progress)
    rate = voice.sample_rate_hz
    blocks = _Assembler()
    blocks.append(_Gap(int(round(EDGE_SILENCE_S * rate)), exact=False))
    for n, sentence in enumerate(progress.iterate(sentences, desc="speech", total=len(sentences),
                                                  unit="sentence")):
        items = parse(sentence)
        if not items:
            continue
        last = blocks.last
        if n and not isinstance(items[0], Pause) and not (isinstance(last, _Gap) and last.exact):
            blocks.append(_Gap(int(round(voice.profile.sentence_pause_s * rate)), exact=False))
        runs = _runs(items)
        for k, run in enumerate(runs):
            if isinstance(run, Pause):
                samples = int(round(run.seconds * rate))
                last = blocks.last
                if isinstance(last, _Gap):
                    # Pauses in a row (a paragraph break and a [pause]): the longest one counts.
                    blocks.replace_last(_Gap(max(samples, last.samples if last.exact else 0), True))
                else:
                    blocks.append(_Gap(samples, exact=True))
                continue
            final = all(isinstance(r, Pause) for r in runs[k + 1:])
            block = _speak_run(voice, run, final)
            if block is not None:
                blocks.append(block)
    blocks.append(_Gap(int(round(EDGE_SILENCE_S * rate)), exact=False))
    audio, segments, words, aligned = blocks.finish()
    normalize_loudness(audio, rate, in_place=True)
    return Speech(
        audio=audio, sample_rate_hz=rate,
        text=" ".join(filter(None, (display_text(s) for s in sentences))),
        phones=to_phones(segments, rate) if aligned else None, words=words,
    )


class _Assembler:
    """Blocks and gaps in speaking order, written to a temporary file as soon as they are settled.

    An exact gap (a [pause]) trims the edge silence of the blocks on both sides, so a block is
    final once the gap after it is decided, which needs the block after that. Holding only those
    few and spilling the rest keeps one copy of the speech in memory at the end, not the blocks
    plus the whole array (an hour of speech: 290 MB, not 580 MB and a fragmented heap).
    """

    def __init__(self) -> None:
        self.items: list[_Block | _Gap] = []
        self.fill: dict[int, int] = {}   # gap index -> zeros to write for it
        self.decided = 0                 # items before this have their gap decided
        self.written = 0                 # items before this are in the file
        self.file = tempfile.TemporaryFile()
        self.offset = 0
        self.segments: list[Segment] = []
        self.words: list[Word] = []
        self.aligned = True

    @property
    def last(self) -> _Block | _Gap:
        return self.items[-1]

    def append(self, item: _Block | _Gap) -> None:
        self.items.append(item)
        self._advance(final=False)

    def replace_last(self, item: _Block | _Gap) -> None:
        assert self.decided < len(self.items)   # the last item is never decided before the end
        self.items[-1] = item

    def finish(self) -> tuple[np.ndarray, list[Segment], list[Word], bool]:
        """(audio, segments, words, aligned) of the whole speech; the file is closed."""
        self._advance(final=True)
        try:
            self.file.seek(0)
            audio = np.fromfile(self.file, dtype=np.float32, count=self.offset)
        finally:
            self.file.close()
        return audio, self.segments, self.words, self.aligned

    def _advance(self, final: bool) -> None:
        n = len(self.items)
        while self.decided < (n if final else n - 1):
            if isinstance(self.items[self.decided], _Gap):
                self.fill[self.decided] = self._decide(self.decided)
            self.decided += 1
        while self.written < (n if final else self.decided - 1):
            self._write(self.written)
            self.written += 1

    def _decide(self, i: int) -> int:
        """Zeros to insert for gap i, trimming its neighbours' edge silence for an exact one."""
        gap = self.items[i]
        if not gap.exact:
            return gap.samples
        items = self.items
        before = items[i - 1] if i and isinstance(items[i - 1], _Block) else None
        after = items[i + 1] if i + 1 < len(items) and isinstance(items[i + 1], _Block) else None
        tail = _edge_silence(before.segments, True) if before else 0
        head = _edge_silence(after.segments, False) if after else 0
        keep_tail = min(tail, gap.samples // 2)
        keep_head = min(head, gap.samples - keep_tail)
        if before:
            _cut(before, tail - keep_tail, from_end=True)
        if after:
            _cut(after, head - keep_head, from_end=False)
        return gap.samples - keep_tail - keep_head

    def _write(self, i: int) -> None:
        item = self.items[i]
        if isinstance(item, _Gap):
            zeros = self.fill.pop(i)
            if zeros:
                self.file.write(bytes(4 * zeros))
                self.segments.append(Segment(SILENCE, zeros, None))
                self.offset += zeros
            return
        shift_s = self.offset / item.rate
        self.words += [Word(w.text, w.start_s + shift_s, w.end_s + shift_s, w.probability)
                       for w in item.words]
        self.file.write(np.ascontiguousarray(item.audio, dtype=np.float32).tobytes())
        self.segments += item.segments
        self.offset += len(item.audio)
        self.aligned = self.aligned and item.aligned
        item.audio = None


def _cut(block: _Block, samples: int, from_end: bool) -> None:
    """Cut `samples` of a block's edge silence: audio, segments and word times together."""
    if samples <= 0:
        return
    left = samples
    order = range(len(block.segments) - 1, -1, -1) if from_end else range(len(block.segments))
    for i in order:
        cut = min(block.segments[i].samples, left)
        block.segments[i] = Segment(SILENCE, block.segments[i].samples - cut, None)
        left -= cut
        if not left:
            break
    block.segments = [s for s in block.segments if s.samples > 0]
    if from_end:
        block.audio = block.audio[:len(block.audio) - samples]
    else:
        block.audio = block.audio[samples:]
        block.words = [Word(w.text, max(w.start_s - samples / block.rate, 0.0),
                            max(w.end_s - samples / block.rate, 0.0), w.probability) for w in block.words]


def to_phones(segments: list[Segment], rate: int) -> list[Phone]:
    """Contiguous phones; adjacent silences merged. Times come from integer sample counts."""
    merged: list[list] = []
    for s in segments:
        if s.samples <= 0:
            continue
        if merged and merged[-1][0] == SILENCE == s.label:
            merged[-1][1] += s.samples
        else:
            merged.append([s.label, s.samples])
    phones, start = [], 0
    for label, samples in merged:
        phones.append(Phone(label, start / rate, (start + samples) / rate))
        start += samples
    return phones
