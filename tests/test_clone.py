"""Cloned voices: sample checks, the frame pairing and class offsets, and a clone of a made-up speaker.

The "speaker" is the joe voice moved with WORLD directly (higher pitch, formants scaled up), so
the test knows what the clone should reach without any recordings from ../shared/eval.
"""

from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import AudioError
from pipeline.speech import load_voice, save_wav, synthesize
from pipeline.speech.clone import (
    BASE_F0_RANGE,
    Frames,
    _analyze_frames,
    _dtw_pairs,
    _memberships,
    _stats,
    analyze,
    check_sample,
    convert,
    fit_class_offsets,
    highpass,
    learn_conversion,
    load_conversion,
    save_conversion,
    warp_envelope,
)
from pipeline.text import prepare_script
from pipeline.types import Speech

RATE = 22050
SPEAKER_F0_SCALE = 1.6
SPEAKER_WARP = 1.15
SAMPLE_TEXT = (
    "My grandmother kept a small garden behind the house, with tomatoes, beans and roses. "
    "Every summer we picked the berries together and made jam in her kitchen. "
    "She told me stories about the town, the old mill by the river, and the winter of the great storm. "
    "I still remember the smell of bread on Sunday mornings."
)
TEST_TEXT = "Please close the window before you leave, because it may rain tonight."


@pytest.fixture(scope="module")
def voice():
    return load_voice("joe")


def _as_speaker(audio: np.ndarray) -> np.ndarray:
    """joe's audio said by a made-up speaker: pitch x1.6, formants x1.15, same timing."""
    import pyworld

    f0, envelope, aperiodicity = _analyze_frames(audio, RATE)
    warped = np.ascontiguousarray(warp_envelope(envelope, SPEAKER_WARP, RATE))
    out = pyworld.synthesize(f0 * SPEAKER_F0_SCALE, warped, aperiodicity, RATE, 5.0)
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


@pytest.fixture(scope="module")
def sample(voice):
    return _as_speaker(synthesize(prepare_script(SAMPLE_TEXT), voice).audio)


@pytest.fixture(scope="module")
def conversion(sample, voice):
    return learn_conversion(sample, RATE, voice)


def test_sample_checks_pass_a_good_sample(sample):
    assert sample.size / RATE >= 10.0
    check_sample(sample, RATE, "sample.wav")


@pytest.mark.parametrize("kind, fragment", [
    ("short", "at least 10 s"), ("silent", "silent"), ("clipped", "clipped"), ("noisy", "noisy"),
    ("unvoiced", "voiced speech"),
])
def test_bad_samples_are_refused_with_the_fix(sample, kind, fragment):
    rng = np.random.default_rng(0)
    if kind == "short":
        audio = sample[: 6 * RATE]
    elif kind == "silent":
        audio = np.zeros(12 * RATE, dtype=np.float32)
    elif kind == "clipped":
        audio = np.clip(sample * 8.0, -1.0, 1.0)
    elif kind == "noisy":
        audio = np.clip(sample + 0.05 * rng.standard_normal(sample.size), -1.0, 1.0).astype(np.float32)
    else:  # whispered-like: noise bursts with real pauses between them, no pitch anywhere
        gate = (np.arange(sample.size) // (RATE // 2)) % 2 == 0
        audio = (0.2 * rng.standard_normal(sample.size) * gate).astype(np.float32)
    with pytest.raises(AudioError, match=fragment) as info:
        check_sample(audio, RATE, "sample.wav")
    message = str(info.value)
    # The message names the problem and the fix.
    assert "sample.wav" in message and any(w in message for w in ("Record", "Check"))


def _loud_voiced_fraction(audio: np.ndarray, f0_range: float) -> float:
    f0, envelope, _ = _analyze_frames(audio, RATE, f0_range)
    level_db = 10.0 * np.log10(envelope.sum(axis=1) + 1e-16)
    loud = level_db > np.percentile(level_db, 98) - 10.0  # vowels, nearly all voiced in real speech
    return float(np.mean(f0[loud] > 0))


def test_base_voice_vowels_stay_voiced(voice):
    # Piper's pitch jitters from period to period; at DIO's default tolerance many vowel frames
    # read as unvoiced and the clone would whisper them.
    audio = synthesize(prepare_script(TEST_TEXT), voice).audio
    assert _loud_voiced_fraction(audio, BASE_F0_RANGE) > 0.75
    assert _loud_voiced_fraction(audio, BASE_F0_RANGE) > _loud_voiced_fraction(audio, 0.1)


def test_pitch_statistics_ignore_octave_errors():
    rng = np.random.default_rng(3)
    f0 = 200.0 * np.exp(0.1 * rng.standard_normal(2000))
    f0[rng.choice(f0.size, 100, replace=False)] /= 2.0  # 5 % of frames tracked an octave low
    f0[:200] = 0.0                                      # and some unvoiced frames
    frames = Frames(f0, np.ones((f0.size, 5)), np.zeros((f0.size, 5)))
    stats = _stats(frames, RATE)
    assert abs(stats.lf0_mean - np.log(200.0)) < 0.02 and abs(stats.lf0_std - 0.1) < 0.02


def test_highpass_cuts_under_the_cutoff_and_keeps_the_rest():
    t = np.arange(RATE) / RATE
    low, high = np.sin(2 * np.pi * 50.0 * t), np.sin(2 * np.pi * 400.0 * t)
    out_low, out_high = (highpass(x, 110.0, RATE) for x in (low, high))
    assert out_low.size == low.size
    middle = slice(RATE // 4, 3 * RATE // 4)
    assert np.std(out_low[middle]) < 0.05 * np.std(low[middle])    # 4th order: -27 dB at 50 Hz
    assert abs(np.std(out_high[middle]) / np.std(high[middle]) - 1.0) < 0.01


def test_dtw_pairs_follow_a_time_stretch():
    rng = np.random.default_rng(1)
    path = np.cumsum(rng.standard_normal((60, 3)), axis=0)
    stretched = np.repeat(path, 2, axis=0)[:100]  # the same trajectory, slower
    i, j = _dtw_pairs(stretched, path)
    assert len(i) == len(stretched) and (i[0], j[0]) == (0, 0) and j[-1] == len(path) - 1
    assert np.all(np.diff(j) >= 0) and np.all(np.diff(j) <= 2)
    assert np.mean(np.abs(j - i // 2)) < 1.0


def test_class_offsets_recover_a_change_per_sound_class():
    rng = np.random.default_rng(2)
    centres = rng.normal(0.0, 5.0, (3, 6))
    labels = rng.integers(0, 3, 1500)
    source = centres[labels] + rng.normal(0.0, 0.3, (1500, 6))
    change = rng.normal(0.0, 1.0, (3, 6))
    classes, offsets, spread = fit_class_offsets(source, source + change[labels])
    moved = _memberships(source[:, 1:], classes, spread) @ offsets
    one_change_for_all = np.abs(change[labels] - change[labels].mean(0)).mean()
    # Each sound keeps most of its own change (a sparse class is pulled a little to the average).
    assert np.abs(moved - change[labels]).mean() < 0.3 * one_change_for_all


def test_clone_reaches_the_speaker_keeps_timing_and_words(conversion, voice, tmp_path):
    from pipeline.timing import transcribe
    from pipeline.timing.wer import word_error_rate

    assert conversion.paired_frames > 1000  # Whisper heard the sample, joe read it, frames paired
    assert 1.05 < conversion.warp <= 1.25
    base = synthesize(prepare_script(TEST_TEXT), voice)
    cloned = convert(base.audio, RATE, conversion)
    assert cloned.size == base.audio.size  # frame for frame: the phone timing still holds

    target = analyze(_as_speaker(base.audio), RATE)
    got, before = analyze(cloned, RATE), analyze(base.audio, RATE)
    assert abs(got.lf0_mean - target.lf0_mean) < 0.5 * abs(before.lf0_mean - target.lf0_mean)
    # The average envelope moved towards the speaker's.
    distance = [np.mean(np.abs(s.envelope_db - target.envelope_db)[:300]) for s in (before, got)]
    assert distance[1] < 0.7 * distance[0]

    heard = [w.text.strip(".,").lower() for w in transcribe(Speech(cloned, RATE))]
    expected = [w.strip(".,").lower() for w in TEST_TEXT.split()]
    assert word_error_rate(expected, heard) <= 0.10

    loaded = load_conversion(save_conversion(conversion, tmp_path / "x.clone.npz"))
    assert np.array_equal(convert(base.audio, RATE, loaded), cloned)


def test_unreadable_clone_file_names_the_fix(tmp_path):
    path = tmp_path / "old.clone.npz"
    np.savez(path, warp=np.array(1.1))
    with pytest.raises(AudioError, match="avatar voices clone"):
        load_conversion(path)


def test_clone_command_writes_a_profile_that_speaks(sample, tmp_path):
    from pipeline.speech.voices import clone_voice

    wav = save_wav(Speech(sample, RATE), tmp_path / "me.wav")
    profile = clone_voice("me", [wav], voices_dir=tmp_path)
    assert profile == tmp_path / "me.yaml" and Path(tmp_path / "me.clone.npz").is_file()
    clone = load_voice(str(profile))
    spoken = synthesize(["Hello there."], clone)
    assert spoken.phones is not None and abs(spoken.phones[-1].end_s - spoken.duration_s) < 1e-3
