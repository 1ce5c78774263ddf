from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import AudioError, InputError
from pipeline.speech import list_voices, load_audio, load_voice, save_wav, synthesize
from pipeline.speech.phones import COMBINED, SINGLE, fold, known_symbols
from pipeline.speech.voices import model_files
from pipeline.text import prepare_script, words_of
from pipeline.types import PHONES, SILENCE, Speech

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


@pytest.fixture(scope="module")
def voice():
    return load_voice("joe")


@pytest.fixture(scope="module")
def bob(voice):
    return synthesize(["Bob met Pam."], voice)


def test_list_voices_includes_joe():
    joe = {p.name: p for p in list_voices()}["joe"]
    assert joe.engine == "piper" and joe.description


def test_unknown_voice_lists_available():
    with pytest.raises(InputError, match="joe"):
        load_voice("nobody")


def test_phone_table_covers_the_voice():
    import json

    _, config = model_files(load_voice("joe").profile)
    symbols = json.loads(config.read_text())["phoneme_id_map"]
    assert set(symbols) <= known_symbols()
    assert set(SINGLE.values()) | set(COMBINED.values()) <= set(PHONES)


def test_fold_merges_marks_diphthongs_and_spaces():
    # "my chair": m ˈa ɪ | t ʃ ˈɛ ɹ . with Piper-like sample counts
    pairs = [("^", 100), ("m", 50), ("ˈ", 30), ("a", 40), ("ɪ", 40), (" ", 20), ("t", 25), ("ʃ", 25),
             ("ˈ", 10), ("ɛ", 40), ("ː", 10), ("ɹ", 30), (".", 60), ("$", 10)]
    segments = fold(pairs, 22050)
    assert [s.label for s in segments] == [SILENCE, "M", "AY", "CH", "EH", "R", SILENCE]
    assert [s.samples for s in segments] == [100, 50, 30 + 40 + 40 + 10, 10 + 25 + 25, 10 + 40 + 10, 30, 70]
    assert sum(s.samples for s in segments) == sum(n for _, n in pairs)
    assert [s.word for s in segments if s.label != SILENCE] == [0, 0, 1, 1, 1]


def test_fold_unknown_symbol_does_not_crash(caplog):
    segments = fold([("b", 10), ("☃", 10), ("b", 10)], 22050)
    assert sum(s.samples for s in segments) == 30
    assert "Unknown phoneme" in caplog.text


def test_synthesized_phones_cover_the_audio_exactly(bob):
    assert bob.sample_rate_hz == 22050
    assert 0.6 < bob.duration_s < 3.0
    assert np.max(np.abs(bob.audio)) > 0.3
    phones = bob.phones
    assert phones[0].start_s == 0.0
    assert abs(phones[-1].end_s - bob.duration_s) < 1.0 / bob.sample_rate_hz
    assert all(a.end_s == b.start_s for a, b in zip(phones, phones[1:], strict=False))
    assert all(p.duration_s > 0 for p in phones)
    assert all(p.label in PHONES for p in phones)
    labels = [p.label for p in phones if p.label != SILENCE]
    assert labels == ["B", "AA", "B", "M", "EH", "T", "P", "AE", "M"]
    assert phones[0].label == SILENCE and phones[-1].label == SILENCE


def test_closed_lip_phones_are_quiet_and_vowels_loud(bob):
    """P/B/M spans hold less energy than the vowels: the timing matches the audio."""
    rate = bob.sample_rate_hz

    def rms(p):
        seg = bob.audio[int(p.start_s * rate):int(p.end_s * rate)]
        return float(np.sqrt(np.mean(seg ** 2)))

    closed = [rms(p) for p in bob.phones if p.label in ("P", "B", "M")]
    vowels = [rms(p) for p in bob.phones if p.label in ("AA", "EH", "AE")]
    silences = [rms(p) for p in bob.phones if p.label == SILENCE]
    assert np.median(closed) < np.median(vowels)
    assert max(silences) < min(vowels)


def test_words_match_caption_words(voice):
    sentences = prepare_script("Hello world, this is a test of the system. In 2024, I paid $3.50!")
    speech = synthesize(sentences, voice)
    caption = [w for s in sentences for w in words_of(s)]
    assert speech.text == " ".join(sentences)
    assert [w.text for w in speech.words] == caption
    assert all(w.start_s < w.end_s for w in speech.words)
    assert all(a.end_s <= b.start_s + 1e-9 for a, b in zip(speech.words, speech.words[1:], strict=False))
    assert speech.words[-1].end_s <= speech.duration_s
    assert all(w.probability == 1.0 for w in speech.words)  # measured, not estimated
    # a pause sits between the two sentences
    gap = speech.words[9].start_s - speech.words[8].end_s
    assert gap > 0.2


def test_save_and_load_roundtrip(bob, tmp_path):
    path = save_wav(bob, tmp_path / "bob.wav")
    loaded = load_audio(path)
    assert loaded.sample_rate_hz == 22050
    assert loaded.text is None and loaded.phones is None
    assert abs(loaded.duration_s - bob.duration_s) < 0.01
    assert np.max(np.abs(loaded.audio - bob.audio[: len(loaded.audio)])) < 1e-3


def test_load_audio_resamples_other_formats(bob, tmp_path):
    import subprocess

    import imageio_ffmpeg

    wav = save_wav(bob, tmp_path / "bob.wav")
    flac = tmp_path / "bob.flac"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), "-ar", "44100",
                    "-ac", "2", str(flac)], check=True)
    loaded = load_audio(flac)
    assert loaded.sample_rate_hz == 22050 and loaded.audio.ndim == 1
    assert abs(loaded.duration_s - bob.duration_s) < 0.01


@pytest.mark.parametrize("kind, fragment", [
    ("missing", "not found"),
    ("empty", "empty"),
    ("corrupt", "Cannot read"),
    ("silent", "silent"),
    ("short", "long"),
])
def test_load_audio_errors(tmp_path, kind, fragment):
    path = tmp_path / "narration.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        path.write_bytes(b"RIFF not really a wave file" * 50)
    elif kind == "silent":
        save_wav(Speech(np.zeros(22050 * 2, dtype=np.float32), 22050), path)
    elif kind == "short":
        tone = 0.5 * np.sin(np.arange(2205) * 0.1).astype(np.float32)
        save_wav(Speech(tone, 22050), path)
    with pytest.raises(AudioError, match=fragment):
        load_audio(path)


def test_load_audio_too_long(tmp_path):
    tone = 0.5 * np.sin(np.arange(22050 * 3) * 0.1).astype(np.float32)
    path = save_wav(Speech(tone, 22050), tmp_path / "long.wav")
    with pytest.raises(AudioError, match="limit"):
        load_audio(path, max_duration_s=2.0)


def test_load_real_recording():
    path = EVAL / "speech" / "whisper_jfk.flac"
    if not path.exists():
        pytest.skip(f"evaluation data not present: {path}")
    speech = load_audio(path)
    assert 10.5 < speech.duration_s < 11.5
    assert speech.audio.dtype == np.float32
