import numpy as np
import pytest

from pipeline import motion
from pipeline.motion import blinks
from pipeline.motion.idle import blink_boundaries
from pipeline.types import MOTION, Word

FPS = 30.0


def fake_speech(duration_s: float, seed: int) -> tuple[list[Word], list[tuple[float, float]], float]:
    """Words in phrases and sentences with human-like lengths and pauses."""
    rng = np.random.default_rng(seed)
    words, sentences = [], []
    t = 0.4
    while t < duration_s - 3.0:
        sentence_start = t
        for _phrase in range(rng.integers(1, 3)):
            for _ in range(rng.integers(3, 8)):
                length = rng.uniform(0.12, 0.5)
                text = "word" if length < 0.3 else "important"
                words.append(Word(text, t, t + length))
                t += length + rng.uniform(0.0, 0.08)
            t += rng.uniform(0.3, 0.6)        # phrase pause
        sentences.append((sentence_start, words[-1].end_s))
        t += rng.uniform(0.3, 0.6)            # sentence pause
    return words, sentences, duration_s


def blink_spans(channel: np.ndarray, threshold: float = 0.1) -> list[tuple[int, int]]:
    """(first, last+1) frame of each run above the threshold."""
    above = np.concatenate([[False], channel > threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(int)))
    return list(zip(edges[::2], edges[1::2], strict=True))


@pytest.fixture(scope="module")
def speech_120s():
    return fake_speech(120.0, seed=7)


def test_shape_and_channels():
    track = motion.idle(2.51, FPS, seed=0)
    assert track.values.shape == (int(round(2.51 * FPS)), len(MOTION))
    assert track.values.dtype == np.float32
    assert np.all(np.isfinite(track.values))
    assert len(motion.idle(1.0, 25.0, seed=0)) == 25


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_blink_rate_and_duration_while_speaking(speech_120s, seed):
    words, sentences, duration_s = speech_120s
    track = motion.idle(duration_s, FPS, seed=seed, words=words, sentences=sentences)
    spans = blink_spans(track.channel("blink"))
    rate_per_min = len(spans) / duration_s * 60.0
    assert 15.0 <= rate_per_min <= 26.0, rate_per_min
    lengths_ms = [(b - a) / FPS * 1000 for a, b in spans]
    assert min(lengths_ms) >= 100 - 1e-6 and max(lengths_ms) <= 400 + 1e-6, lengths_ms
    # no blink in the first 0.3 s; blinks never merge (the channel returns to 0 between them)
    assert (spans[0][0] + 0.5) / FPS >= 0.3
    blink = track.channel("blink")
    for (_, end), (start, _) in zip(spans[:-1], spans[1:], strict=True):
        assert blink[end:start].min() == 0.0
    # full blinks reach closed on a frame; about half are partial
    peaks = np.array([blink[a:b].max() for a, b in spans])
    assert np.all(peaks >= 0.5 - 1e-6)
    assert 0.25 <= np.mean(peaks < 0.99) <= 0.75


def test_blinks_gather_at_sentence_ends_and_pauses(speech_120s):
    words, sentences, duration_s = speech_120s
    boundaries = np.array(blink_boundaries(words, sentences, duration_s))
    assert len(boundaries) > 30

    def fraction_after_boundary(with_speech: bool) -> float:
        near, total = 0, 0
        for seed in range(5):
            track = motion.idle(duration_s, FPS, seed=seed, words=words if with_speech else None,
                                sentences=sentences if with_speech else None)
            for a, _ in blink_spans(track.channel("blink")):
                delay_s = a / FPS - boundaries
                near += np.any((delay_s > 0.0) & (delay_s < 0.35))
                total += 1
        return near / total

    # without speech the same boundaries catch blinks by chance only (~15%)
    assert fraction_after_boundary(True) > max(0.3, 2.0 * fraction_after_boundary(False))


def test_closing_faster_than_opening():
    # at 240 fps the frames resolve the 50-150 ms phases of a blink
    fps = 240.0
    blink = motion.idle(60.0, fps, seed=11).channel("blink")
    close_frames, open_frames = [], []
    for a, b in blink_spans(blink, threshold=0.02):
        # the lids rest shut for a moment at the bottom: time that from its middle
        at_peak = np.flatnonzero(blink[a:b] >= 0.995 * blink[a:b].max())
        peak = a + 0.5 * (at_peak[0] + at_peak[-1])
        close_frames.append(peak - a)
        open_frames.append(b - peak)
    assert len(close_frames) >= 10
    ratio = np.array(open_frames) / np.array(close_frames)
    assert np.all(ratio > 1.2), ratio
    assert 1.3 < np.median(ratio) < 1.6


def test_blink_events_never_overlap_and_last_100_to_400_ms():
    rng = np.random.default_rng(5)
    events = blinks.schedule(600.0, rng, boundaries_s=list(np.arange(2.0, 600.0, 3.3)))
    assert len(events) > 150
    for a, b in zip(events[:-1], events[1:], strict=True):
        assert b.start_s >= a.end_s
    for e in events:
        assert 0.1 <= e.end_s - e.start_s <= 0.4
        assert e.close_s < e.open_s
        assert e.start_s >= 0.3


def test_deterministic_per_seed(speech_120s):
    words, sentences, _ = speech_120s
    a = motion.idle(20.0, FPS, seed=42, words=words, sentences=sentences)
    b = motion.idle(20.0, FPS, seed=42, words=words, sentences=sentences)
    c = motion.idle(20.0, FPS, seed=43, words=words, sentences=sentences)
    np.testing.assert_array_equal(a.values, b.values)
    for name in MOTION:
        assert not np.array_equal(a.channel(name), c.channel(name)), name


def test_head_within_human_range(speech_120s):
    words, sentences, duration_s = speech_120s
    for seed in range(3):
        track = motion.idle(duration_s, FPS, seed=seed, words=words, sentences=sentences)
        assert np.abs(track.channel("head_yaw_deg")).max() <= 3.0
        assert np.abs(track.channel("head_pitch_deg")).max() <= 3.5
        assert np.abs(track.channel("head_roll_deg")).max() <= 1.5
        for name in ("head_dx", "head_dy"):
            assert np.abs(track.channel(name)).max() <= 0.015
        # it does move: a still head looks dead
        assert np.ptp(track.channel("head_yaw_deg")) > 0.5
        # and smoothly: under 30 deg/s even in a nod
        for name in ("head_yaw_deg", "head_pitch_deg", "head_roll_deg"):
            assert np.abs(np.diff(track.channel(name))).max() * FPS < 30.0, name
        for name in ("brow_raise",):
            assert 0.0 <= track.channel(name).min() and track.channel(name).max() <= 1.0
        assert np.abs(track.channel("breath")).max() <= 1.0
        assert np.abs(track.channel("gaze_x")).max() <= 1.0


def test_nods_follow_emphasised_words():
    # words back to back, so no silence calms the sway and the sway is the same with and
    # without words: the difference in pitch is the nods alone
    texts = ["the", "remarkable", "thing", "is", "that", "everything", "changed"] * 6
    words, t = [], 0.2
    for text in texts:
        words.append(Word(text, t, t + 0.08 * len(text)))
        t += 0.08 * len(text) + 0.05
    track = motion.idle(t, FPS, seed=0, words=words)
    still = motion.idle(t, FPS, seed=0)
    nods = track.channel("head_pitch_deg") - still.channel("head_pitch_deg")
    assert nods.min() >= -1e-4                  # chin down only
    assert nods.max() > 1.0
    times_s = (np.arange(len(nods)) + 0.5) / FPS
    # every nod starts just after (never before) the start of a long content word
    starts = np.flatnonzero((nods[1:] > 0.05) & (nods[:-1] <= 0.05)) + 1
    assert len(starts) >= 5
    long_word_starts = np.array([w.start_s for w in words if len(w.text) >= 7])
    for i in starts:
        lag_s = times_s[i] - long_word_starts
        assert np.any((lag_s >= 0.0) & (lag_s < 0.15)), times_s[i]
    assert track.channel("brow_raise").max() > 0.3
    assert still.channel("brow_raise").max() == 0.0


def test_styles_scale_amplitude(speech_120s):
    words, sentences, duration_s = speech_120s
    spread = {}
    for style in ("calm", "natural", "expressive"):
        track = motion.idle(duration_s, FPS, seed=3, words=words, sentences=sentences, style=style)
        spread[style] = np.std(track.channel("head_yaw_deg"))
    assert spread["calm"] < 0.75 * spread["natural"]
    assert spread["expressive"] > 1.3 * spread["natural"]
    with pytest.raises(ValueError, match="calm"):
        motion.idle(1.0, FPS, seed=0, style="wild")


def test_breathing_rate_at_rest_and_inhales_in_pauses(speech_120s):
    breath = motion.idle(120.0, FPS, seed=2).channel("breath")
    # an inhale ends at each local maximum near +1
    peaks = np.flatnonzero((breath[1:-1] > 0.9) & (breath[1:-1] >= breath[:-2])
                           & (breath[1:-1] > breath[2:]))
    assert 12 * 2 - 2 <= len(peaks) <= 18 * 2 + 2
    words, sentences, duration_s = speech_120s
    breath = motion.idle(duration_s, FPS, seed=2, words=words, sentences=sentences).channel("breath")
    times_s = (np.arange(len(breath)) + 0.5) / FPS
    rising = np.diff(breath) > 0.01
    in_word = np.zeros(len(breath) - 1, bool)
    for w in words:
        in_word |= (times_s[:-1] >= w.start_s) & (times_s[:-1] < w.end_s)
    # breathing in while talking is rare; almost all inhaling is in pauses
    assert rising[in_word].mean() < 0.02
    assert rising[~in_word].mean() > 0.1
