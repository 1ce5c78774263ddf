"""Timing stage on real audio: real Piper speech, real Whisper tiny.en, real pocketsphinx."""

import json
import subprocess
from difflib import SequenceMatcher

import numpy as np
import pytest

from pipeline.errors import AudioError
from pipeline.timing import align, transcribe
from pipeline.timing.audio import to_16k
from pipeline.timing.lexicon import spell_out, tokens
from pipeline.timing.phones import chunks, contiguous
from pipeline.timing.sentences import sentence_spans
from pipeline.timing.words import align_words, norm
from pipeline.types import PHONES, SILENCE, Phone, Speech, Word

from conftest import eval_dir

SCRIPT = "Bob met Pam at the station. Then they walked home together in the rain."


@pytest.fixture(scope="session")
def piper_speech() -> Speech:
    from pipeline.speech import load_voice

    # Piper straight from our seeded voice, but without its word and phone timing, so that
    # align() has to find them in the audio as it does for a user's narration.
    chunks_ = list(load_voice("joe").model.synthesize(SCRIPT))
    audio = np.concatenate([c.audio_float_array for c in chunks_]).astype(np.float32)
    return Speech(audio, chunks_[0].sample_rate, text=SCRIPT)


@pytest.fixture(scope="session")
def script_timing(piper_speech):
    return align(piper_speech, SCRIPT.split())


def check_words(words: list[Word], duration_s: float) -> None:
    t = 0.0
    for w in words:
        assert t - 1e-9 <= w.start_s <= w.end_s <= duration_s + 1e-9, w
        t = w.end_s


def check_phones(phones: list[Phone], duration_s: float) -> None:
    assert phones[0].start_s == 0.0
    assert phones[-1].end_s == pytest.approx(duration_s)
    for a, b in zip(phones, phones[1:], strict=False):
        assert a.end_s == pytest.approx(b.start_s)
    assert all(p.label in PHONES and p.duration_s > 0 for p in phones)


def load_pcm(path) -> np.ndarray:
    import imageio_ffmpeg

    raw = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1",
         "-ar", "16000", "-"], capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0


def test_whisper_hears_the_spoken_words(piper_speech):
    heard = transcribe(piper_speech)
    heard_tokens = {norm(w.text) for w in heard}
    # Deterministic now that Piper is seeded; tiny.en hears "walked" as "walk" in this take.
    for expected in ("pam", "station", "home", "together", "rain"):
        assert expected in heard_tokens, [w.text for w in heard]
    check_words(heard, piper_speech.duration_s)


def test_script_words_come_back_exactly_with_plausible_times(piper_speech, script_timing):
    words = script_timing.words
    assert [w.text for w in words] == SCRIPT.split()
    check_words(words, piper_speech.duration_s)
    assert all(w.end_s > w.start_s for w in words)
    # Piper leaves only short silences at the ends.
    assert words[0].start_s < 0.5
    assert words[-1].end_s > piper_speech.duration_s - 0.8
    # "station." closes the first sentence, so "Then" starts after it.
    then = words[SCRIPT.split().index("Then")]
    station = words[SCRIPT.split().index("station.")]
    assert then.start_s >= station.end_s


def test_phones_cover_the_clip_and_match_the_words(piper_speech, script_timing):
    phones = script_timing.phones
    check_phones(phones, piper_speech.duration_s)
    labels = [p.label for p in phones]
    # Bob met Pam: the closures the mouth must show.
    assert labels.count("B") >= 2 and "M" in labels and "P" in labels
    # Each word's span holds its first consonant: "walked" starts with W.
    walked = script_timing.words[SCRIPT.split().index("walked")]
    inside = [p.label for p in phones
              if p.start_s >= walked.start_s - 1e-6 and p.end_s <= walked.end_s + 1e-6]
    assert inside[0] == "W"


def test_sentences_from_punctuation(script_timing):
    assert len(script_timing.sentences) == 2
    (s0, e0), (s1, e1) = script_timing.sentences
    assert s0 < e0 <= s1 < e1


def test_misheard_merge_keeps_the_script_words():
    heard = [Word("Bob", 0.1, 0.4), Word("McPam", 0.5, 1.0), Word("today.", 1.1, 1.5)]
    words = align_words(["Bob", "met", "Pam", "today."], heard, 2.0)
    assert [w.text for w in words] == ["Bob", "met", "Pam", "today."]
    met, pam = words[1], words[2]
    # Both words share McPam's span, in order, split inside it.
    assert 0.5 <= met.start_s < met.end_s <= pam.start_s < pam.end_s <= 1.0
    assert words[3].start_s == pytest.approx(1.1)


def test_words_whisper_missed_are_interpolated_between_neighbours():
    heard = [Word("one", 0.0, 0.3), Word("three", 1.0, 1.3)]
    words = align_words(["one", "two", "three"], heard, 2.0)
    assert 0.3 <= words[1].start_s < words[1].end_s <= 1.0
    check_words(words, 2.0)


def test_tts_timing_is_used_when_known():
    audio = np.zeros(22050, dtype=np.float32)
    phones = [Phone("HH", 0.1, 0.2), Phone("AY", 0.2, 0.5)]
    speech = Speech(audio, 22050, text="hi", phones=phones, words=[Word("hi", 0.1, 0.5)])
    timing = align(speech, ["Hi!"])
    assert [(w.text, w.start_s, w.end_s) for w in timing.words] == [("Hi!", 0.1, 0.5)]
    assert [p.label for p in timing.phones] == [SILENCE, "HH", "AY", SILENCE]
    check_phones(timing.phones, 1.0)


def test_tts_words_without_phones_keep_their_spans(piper_speech, script_timing):
    speech = Speech(piper_speech.audio, piper_speech.sample_rate_hz, words=script_timing.words)
    timing = align(speech, SCRIPT.split())
    assert timing.words == script_timing.words
    check_phones(timing.phones, speech.duration_s)
    assert "B" in [p.label for p in timing.phones]


def test_silence_without_script_is_an_audio_error():
    speech = Speech(np.zeros(16000 * 2, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="No speech"):
        align(speech)


def test_silence_with_script_still_places_the_words():
    speech = Speech(np.zeros(16000 * 2, dtype=np.float32), 16000)
    timing = align(speech, ["Hello", "there."])
    assert [w.text for w in timing.words] == ["Hello", "there."]
    check_words(timing.words, 2.0)
    check_phones(timing.phones, 2.0)


def test_resampling_keeps_duration_and_tone():
    sr = 22050
    t = np.arange(sr) / sr
    out = to_16k(np.sin(2 * np.pi * 440 * t).astype(np.float32), sr)
    assert len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == 440


def test_long_audio_is_cut_in_quiet_gaps():
    sr = 16000
    duration_s = 60.0
    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal(int(duration_s * sr))).astype(np.float32)
    # Words of 0.5 s every 0.6 s; every 5th gap holds real silence.
    words, t = [], 0.0
    for i in range(int(duration_s / 0.6) - 1):
        words.append(Word(f"w{i}", t, t + 0.5))
        if i % 5 == 4:
            audio[int((t + 0.5) * sr): int((t + 0.6) * sr)] = 0.0
        t += 0.6
    pieces = chunks(words, to_16k(audio, sr), duration_s)
    assert len(pieces) >= 3
    assert pieces[0][0] == 0.0 and pieces[-1][1] == duration_s
    assert [i for _, _, r in pieces for i in r] == list(range(len(words)))
    for (_, end_s, r), (start_s, _, _) in zip(pieces, pieces[1:], strict=False):
        assert end_s == start_s and end_s - pieces[0][0] > 0
        assert audio[int(end_s * sr)] == 0.0  # cut inside a silent gap
        assert words[r[-1]].end_s <= end_s <= words[r[-1] + 1].start_s


def test_contiguous_fills_gaps_and_clips():
    phones = contiguous([Phone("AA", 0.2, 0.5), Phone("XX", 0.5, 0.7), Phone("B", 0.6, 1.4)], 1.0)
    assert [p.label for p in phones] == [SILENCE, "AA", SILENCE, "B"]
    check_phones(phones, 1.0)


def test_lexicon_fallbacks():
    assert tokens("Well-known, 42.") == ["well", "known", "four", "two"]
    assert spell_out("knight") == ["N", "AY", "T"]
    assert all(p in PHONES for p in spell_out("Zyxelbrontastic"))


def test_sentences_from_pauses_without_punctuation():
    words = [Word("a", 0.0, 0.2), Word("b", 0.25, 0.5), Word("c", 1.2, 1.4)]
    assert sentence_spans(words) == [(0.0, 0.5), (1.2, 1.4)]


# --- evaluation clips (skip when ../shared/eval is absent) ---

def test_jfk_americans_spans_1_8_s():
    path = eval_dir("speech", "whisper_jfk.flac")
    script = (path.parent / "whisper_jfk.txt").read_text().split()
    speech = Speech(load_pcm(path), 16000)
    heard = " ".join(norm(w.text) for w in transcribe(speech))
    for phrase in ("my fellow americans", "your country", "do for you"):
        assert phrase in heard
    timing = align(speech, script)
    assert [w.text for w in timing.words] == script
    americans = next(w for w in timing.words if w.text.startswith("Americans"))
    assert americans.start_s < 1.8 < americans.end_s
    check_phones(timing.phones, speech.duration_s)


TIMIT_TO_ARPABET = {"ax": "AH", "axr": "ER", "ix": "IH", "ux": "UW", "el": "L", "em": "M", "en": "N",
                    "nx": "N", "dx": "T", "hv": "HH", "ax-h": "AH", "eng": "NG", "h#": SILENCE,
                    "pau": SILENCE, "sil": SILENCE, "epi": SILENCE}
STOPS = {"p", "t", "k", "b", "d", "g", "ch", "jh"}


def reference_phones(entry: dict, sample_rate_hz: int = 16000) -> list[Phone]:
    """Hand-marked TIMIT-style phones with closures folded into the stop that follows."""
    labels = entry["phn"].split()
    ends = [int(x) / sample_rate_hz for x in entry["ground_truth_phn_ends"].split()]
    out: list[Phone] = []
    start, pending = 0.0, None
    for i, (label, end) in enumerate(zip(labels, ends, strict=True)):
        if label in ("cl", "vcl") and i + 1 < len(labels) and labels[i + 1] in STOPS:
            pending = start if pending is None else pending
        else:
            name = TIMIT_TO_ARPABET.get(label, label.upper())
            out.append(Phone(name, pending if pending is not None else start, end))
            pending = None
        start = end
    return out


def boundary_errors_s(ref: list[Phone], hyp: list[Phone]) -> list[float]:
    """|ref - hyp| for the end of every phone whose label and the next one's both line up."""
    r = [p.label for p in ref]
    h = [p.label for p in hyp]
    errors = []
    for block in SequenceMatcher(None, r, h, autojunk=False).get_matching_blocks():
        for k in range(block.size - 1):
            errors.append(abs(ref[block.a + k].end_s - hyp[block.b + k].end_s))
    return errors


def test_forced_alignment_against_hand_marked_phones():
    annotation = json.loads(eval_dir("speech", "speechbrain_ASR_train.json").read_text())
    errors = []
    for name in ("spk1_snt1", "spk2_snt2", "spk2_snt4"):
        path = eval_dir("speech", f"speechbrain_{name}.wav")
        speech = Speech(load_pcm(path), 16000)
        timing = align(speech, annotation[name]["wrd"].lower().split())
        check_phones(timing.phones, speech.duration_s)
        errors += boundary_errors_s(reference_phones(annotation[name]), timing.phones)
    print(f"median boundary error {np.median(errors) * 1000:.0f} ms over {len(errors)} boundaries")
    # Measured 94 ms. The reference itself is rough: in spk1_snt1 it puts "dh" over a stretch the
    # audio shows is silent (checked below), so only a loose bound is honest here.
    assert len(errors) >= 20
    assert np.median(errors) < 0.15


def test_forced_alignment_finds_the_pause_in_the_audio():
    path = eval_dir("speech", "speechbrain_spk1_snt1.wav")
    speech = Speech(load_pcm(path), 16000)
    timing = align(speech, "the child almost hurt the small dog".split())
    # The waveform is silent (over 40 dB down) from about 1.62 s to 1.76 s, between "hurt" and "the".
    silent = [p for p in timing.phones if p.start_s <= 1.65 and p.end_s >= 1.74]
    assert [p.label for p in silent] == [SILENCE]
    hurt, the = timing.words[3], timing.words[4]
    assert hurt.end_s <= 1.66 and the.start_s >= 1.72
