"""The audio-to-mouth network (pipeline/mouth/net.py) on real Piper speech.

The rules driver on Piper's exact phone timing is the reference: the network, hearing
only the audio, must open on vowels, shut on p/b/m, and rest in silence.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import mouth
from pipeline.mouth import net
from pipeline.types import ARTICULATION, PHONES

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # training/ sits beside the package, not inside it
    sys.path.insert(0, str(REPO))

from training.phones import fold  # noqa: E402

FPS = 30.0
TEXT = "Bob met Pam by the big blue boat. Mama made maple muffins, and we ate them all."
LEAD_S, TAIL_S = 0.8, 0.8
OPEN_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH"}
BILABIALS = {"P", "B", "M"}

pytestmark = pytest.mark.skipif(not net.CHECKPOINT.exists(), reason="run `make train-mouth` first")


@pytest.fixture(scope="module")
def clip():
    """Piper speech at 22.05 kHz with silence around it, and its exact phones (noise seeded)."""
    from pipeline.speech.voices import load_voice

    voice = load_voice("joe").model
    rate = voice.config.sample_rate
    pieces = [np.zeros(int(LEAD_S * rate), np.float32)]
    phones = []
    t = LEAD_S
    for chunk in voice.synthesize(TEXT, include_alignments=True):
        alignments = [(a.phoneme, a.num_samples) for a in chunk.phoneme_alignments]
        phones += fold(alignments, rate, offset_s=t)
        pieces.append(chunk.audio_float_array)
        t += len(chunk.audio_float_array) / rate
    pieces.append(np.zeros(int(TAIL_S * rate), np.float32))
    audio = np.concatenate(pieces)
    return audio, rate, phones, len(audio) / rate


@pytest.fixture(scope="module")
def tracks(clip):
    audio, rate, phones, duration_s = clip
    return net.track_from_audio(audio, rate, duration_s, FPS), mouth.track(phones, duration_s, FPS)


def middle_frames(phones, labels, n_frames):
    centres = (np.arange(n_frames) + 0.5) / FPS
    out = []
    for p in phones:
        if p.label in labels:
            q = 0.25 * p.duration_s
            out += list(np.flatnonzero((centres >= p.start_s + q) & (centres < p.end_s - q)))
    return np.array(out, dtype=int)


def test_fold_covers_audio_with_arpabet(clip):
    audio, rate, phones, duration_s = clip
    assert all(p.label in PHONES for p in phones)
    assert sum(p.label in BILABIALS for p in phones) >= 12
    for a, b in zip(phones[:-1], phones[1:], strict=True):
        assert abs(a.end_s - b.start_s) < 1e-9 and b.end_s > b.start_s
    assert phones[0].start_s == pytest.approx(LEAD_S)
    assert phones[-1].end_s == pytest.approx(duration_s - TAIL_S, abs=1e-3)


def test_shape_and_range(clip, tracks):
    _, _, _, duration_s = clip
    net_track, _ = tracks
    assert net_track.values.shape == (int(round(duration_s * FPS)), len(ARTICULATION))
    assert net_track.values.dtype == np.float32
    assert net_track.values.min() >= 0.0 and net_track.values.max() <= 1.0
    assert len(net.track_from_audio(np.zeros(100, np.float32), 16000, 0.0, FPS)) == 0


def test_follows_the_rules_targets(tracks):
    net_track, rules_track = tracks
    opening, target = mouth.mouth_opening(net_track), mouth.mouth_opening(rules_track)
    assert np.corrcoef(opening, target)[0, 1] > 0.6
    assert np.abs(net_track.values - rules_track.values).mean() < 0.12


def test_opens_on_vowels_and_closes_on_bilabials(clip, tracks):
    _, _, phones, _ = clip
    net_track, _ = tracks
    opening = mouth.mouth_opening(net_track)
    vowels = middle_frames(phones, OPEN_VOWELS, len(opening))
    closures = middle_frames(phones, BILABIALS, len(opening))
    assert len(vowels) >= 10 and len(closures) >= 8
    assert np.median(opening[vowels]) > 0.2
    assert np.mean(opening[closures] < 0.05) >= 0.7
    assert np.mean(net_track.param("lip_press")[closures] > 0.5) >= 0.7


def test_rests_in_silence(clip, tracks):
    net_track, _ = tracks
    _, _, _, duration_s = clip
    lead = int((LEAD_S - 0.15) * FPS)
    tail = int((TAIL_S - 0.15) * FPS)
    assert np.abs(net_track.values[:lead]).max() == 0.0
    assert np.abs(net_track.values[-tail:]).max() == 0.0
    silent = net.track_from_audio(np.zeros(24000, np.float32), 16000, 1.5, FPS)
    assert np.abs(silent.values).max() == 0.0
    hiss = np.random.default_rng(0).normal(0, 0.003, 24000).astype(np.float32)
    assert np.abs(net.track_from_audio(hiss, 16000, 1.5, FPS).values).max() < 0.05


def test_front_end_ignores_gain_and_sample_rate(clip, tracks):
    audio, rate, _, duration_s = clip
    x = net.resample(audio, rate)
    assert np.abs(net.log_mel(x) - net.log_mel(0.05 * x)).max() < 1e-3
    assert net.log_mel(x).shape == (int(round(duration_s * 80)), net.N_MELS)
    at_16k = net.track_from_audio(x, 16000, duration_s, FPS)
    assert np.abs(at_16k.values - tracks[0].values).mean() < 0.02


def test_chunked_inference_equals_one_pass(clip):
    audio, rate, _, _ = clip
    features = net.log_mel(net.resample(audio, rate))
    whole = net.predict(features, chunk_frames=len(features))
    chunked = net.predict(features, chunk_frames=97)
    assert np.abs(whole - chunked).max() < 1e-5


def test_framing_in_chunks_reads_the_right_samples():
    # Each chunk copies only the samples its windows cover: window i must still be the audio
    # from i * HOP - (length / 2 - HOP / 2), zero outside the clip, for any chunk start.
    audio = np.arange(1, 3001, dtype=np.float32)
    n_frames, length = 20, 2 * net.HOP
    left = length // 2 - net.HOP // 2
    padded = np.concatenate([np.zeros(left, np.float32), audio, np.zeros(n_frames * net.HOP + length)])
    expected = np.stack([padded[i * net.HOP: i * net.HOP + length] for i in range(n_frames)])
    for first, count in ((0, n_frames), (0, 3), (7, 5), (n_frames - 2, 2)):
        framed = net._frames(audio, n_frames, length, first, count)
        assert np.array_equal(framed, expected[first:first + count])
    level = net.frame_level_db(audio, n_frames)
    assert np.allclose(level, 10 * np.log10(np.mean(expected.astype(np.float64) ** 2, axis=1) + 1e-12))


def test_corpus_is_reproducible_from_the_seed():
    """Same seed and block: identical features and targets, Piper's noise included; another
    block's voice seed gives other audio for the same text."""
    from training import corpus

    job = [(0, "Bob bought a map."), (1, "Pam, wait for me!")]
    first = corpus._make_block((0, job, 5))
    again = corpus._make_block((0, job, 5))
    other = corpus._make_block((1, job, 5))
    assert [item[0] for item in first] == [0, 0, 1, 1]
    for a, b in zip(first, again, strict=True):
        assert a[1] == b[1]
        assert np.array_equal(a[2], b[2]) and np.array_equal(a[3], b[3])
    assert any(a[2].shape != c[2].shape or not np.array_equal(a[2], c[2])
               for a, c in zip(first, other, strict=True))
