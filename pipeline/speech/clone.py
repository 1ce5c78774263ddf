"""A cloned voice, offline: the base Piper voice converted towards a recorded speaker with WORLD.

WORLD splits speech into pitch (F0), spectral envelope and aperiodicity, frame by frame. To learn
a clone, Whisper transcribes the speaker's sample, the base voice reads the same words, and
dynamic time warping pairs the two recordings frame by frame. A formant scale, then a change of
coded (mel-cepstral) envelope per sound class fitted on those pairs, move the base voice's
envelope to the speaker's; with 7.5 s or more of the speaker, each frame is then moved most of the way to the
average of the speaker's most alike frames (their own timbre, not an estimate of it). Pitch
level and range follow the speaker's log-F0 median and spread, breathiness their aperiodicity, and
what lies under half the speaker's pitch is cut. Frames keep their times, so Piper's phone timing
stays valid.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import AudioError, InputError

FRAME_PERIOD_MS = 5.0
F0_FLOOR_HZ, F0_CEIL_HZ = 60.0, 500.0
MIN_SAMPLE_S = 10.0          # of audio in all the samples together
MIN_VOICED_S = 3.0           # of voiced speech in them
CLIPPED_LEVEL = 0.99
MAX_CLIPPED_FRACTION = 0.002
MIN_SNR_DB = 25.0            # loud frames against quiet frames: room noise or music fails this
ENVELOPE_DIMS = 40           # coded envelope coefficients mapped (WORLD's mel-cepstrum-like code)
SPEECH_FLOOR_DB = 40.0       # frames this far under the loudest are pauses: left out of the fit
CLASSES = 16                 # sound classes with their own envelope change
FRAMES_PER_CLASS = 150       # paired frames needed per class
SHRINK_FRAMES = 40.0         # a class with this many frames moves half-way to the overall change
SOFTNESS = 1.0
USE_WARP = True
KNN = 8                      # with KNN_BLEND 0.7: LJSpeech +0.015 (6 sentences), WER unchanged
KNN_MIN_FRAMES = 1500        # speech frames of the speaker (7.5 s) before their own frames are used
KNN_BLEND = 0.7              # 1.0 misheard more and moved loudness (test_speech envelope check)
USE_APERIODICITY = True
WARP_RANGE = (0.8, 1.25)     # formant scaling searched (> 1 raises the formants)
WARP_MAX_HZ = 5000.0         # formants live below this; the warp is fitted there
WARP_LIFTER = 60
# DIO's tolerance for frame-to-frame pitch change. Piper's vocoder jitters: at DIO's 0.1 half the
# loud frames of joe's vowels came out unvoiced and were resynthesized as noise (hoarse);
# at 0.2, 86 % are voiced, as in a real voice (LJSpeech +0.015, speechbrain_spk2 +0.044).
BASE_F0_RANGE = 0.2
SPEAKER_F0_RANGE = 0.1       # real voices: DIO's own; wider let octave errors in (spk1: "65 Hz")
# Piper's joe carries energy under the speaker's pitch (its own F0 is lower, and WORLD's unvoiced
# frames keep it) that no real recording of the speaker has: cut it. 4th order at half the
# speaker's mean F0: LJSpeech +0.044, speechbrain +0.006/+0.002 (12 fixed readings); matching the
# sample's whole long-term spectrum instead also gave LJSpeech +0.037 but cost spk1 0.03 (2-3 s
# samples give too noisy a spectrum).
HIGHPASS_F0_FRACTION = 0.5
HIGHPASS_ORDER = 4
# Tried and left out (12 fixed readings, LJSpeech / spk1 / spk2): restoring the speaker's global
# variance of the coded envelope (-0.014/+0.016/-0.011; half-way +0.003/+0.010/-0.005), 50 frames
# per class (0/+0.015/-0.008), formant scales up to 1.4 (-0.033 LJSpeech), 60 envelope dims,
# no aperiodicity change, robust vs plain pitch statistics, Piper read 15-30 % slower: all within
# +-0.01 or mixed. KNN on the 2-3 s speechbrain samples: -0.03/-0.01.
MAX_SLOPE = 2                # DTW: frames of one recording skipped per frame of the other, at most
# Read by the base voice when the sample's words cannot be heard: only averages are matched then.
REFERENCE_SCRIPT = [
    "The quick brown fox jumps over the lazy dog, and then runs back home.",
    "She sells sea shells by the sea shore, while the children watch the waves.",
    "Every morning we measure the weather, write the numbers down, and check them twice.",
    "Would you like a cup of tea, or shall we go for a walk along the river?",
]


@dataclass(frozen=True)
class VoiceStats:
    lf0_mean: float             # log-F0 of voiced frames: median (named mean in saved clones)
    lf0_std: float              # and half its 16-84 % range (a standard deviation when Gaussian)
    envelope_db: np.ndarray     # average log spectral envelope of voiced frames, per FFT bin
    sample_rate_hz: int


@dataclass(frozen=True)
class Conversion:
    source: VoiceStats          # the base voice
    target: VoiceStats          # the speaker
    warp: float                 # formant frequency scale, applied first
    centers: np.ndarray         # [classes, ENVELOPE_DIMS - 1] sound classes of the base voice's envelope
    offsets: np.ndarray         # [classes, ENVELOPE_DIMS] what each class adds to the coded envelope
    spread: float               # per-coefficient variance within a class: how soft membership is
    aperiodicity_db: np.ndarray  # added to the coded aperiodicity of voiced frames, per band
    speaker_frames: np.ndarray | None = None  # [frames, ENVELOPE_DIMS] the speaker's own coded envelopes
    paired_frames: int = 0      # frames the map was fitted on (0: averages only, no transcript)


@dataclass(frozen=True)
class Frames:
    f0: np.ndarray              # Hz, 0 where unvoiced
    envelope: np.ndarray        # [frames, bins] power
    aperiodicity: np.ndarray    # [frames, bins]


def _world():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyworld 0.3.5 imports pkg_resources
            import pyworld
    except ImportError as exc:
        raise InputError(
            "Cloned voices need the pyworld package, which is not installed. Install it with "
            "`pip install pyworld==0.3.5 'setuptools<81'` (or the project's train extra)."
        ) from exc
    return pyworld


def _analyze_frames(audio: np.ndarray, rate: int, f0_range: float = SPEAKER_F0_RANGE,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pw = _world()
    x = np.ascontiguousarray(audio, dtype=np.float64)
    f0, times = pw.dio(x, rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=FRAME_PERIOD_MS,
                       allowed_range=f0_range)
    f0 = pw.stonemask(x, f0, times, rate)
    envelope = pw.cheaptrick(x, f0, times, rate)
    aperiodicity = pw.d4c(x, f0, times, rate)
    return f0, envelope, aperiodicity


def _frames(audio: np.ndarray, rate: int, f0_range: float = SPEAKER_F0_RANGE) -> Frames:
    return Frames(*_analyze_frames(audio, rate, f0_range))


def _stats(frames: Frames, rate: int) -> VoiceStats:
    voiced = frames.f0 > 0
    if voiced.sum() < 10:
        raise AudioError("No voiced speech was found in the sample. Record someone speaking, then try again.")
    lf0 = np.log(frames.f0[voiced])
    envelope_db = 10.0 * np.log10(np.maximum(frames.envelope[voiced], 1e-16)).mean(axis=0)
    # Median and half the 16-84 % range: an octave error in a few frames moves neither.
    low, middle, high = np.percentile(lf0, [16.0, 50.0, 84.0])
    return VoiceStats(float(middle), float(high - low) / 2.0, envelope_db, rate)


def analyze(audio: np.ndarray, rate: int) -> VoiceStats:
    return _stats(_frames(audio, rate), rate)


def check_sample(audio: np.ndarray, rate: int, label: str) -> None:
    """Refuse a sample that cannot give a good clone: too short, silent, clipped or noisy."""
    duration_s = audio.size / rate
    if duration_s < MIN_SAMPLE_S:
        raise AudioError(
            f"{label} holds {duration_s:.1f} s of audio; a clone needs at least {MIN_SAMPLE_S:g} s of "
            "speech. Record a longer sample (30 s is better), or give several recordings.")
    clipped = float(np.mean(np.abs(audio) >= CLIPPED_LEVEL))
    if clipped > MAX_CLIPPED_FRACTION:
        raise AudioError(
            f"{label} is clipped ({100 * clipped:.1f}% of samples at full scale): the recording was too "
            "loud. Record again with the input gain lower.")
    hop = int(0.02 * rate)
    frames = audio[: audio.size // hop * hop].reshape(-1, hop).astype(np.float64)
    energy_db = 10.0 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    loud, quiet = np.percentile(energy_db, 95), np.percentile(energy_db, 10)
    if loud < -50.0:
        raise AudioError(f"{label} is silent. Check the microphone and record again.")
    if loud - quiet < MIN_SNR_DB:
        raise AudioError(
            f"{label} is noisy: its pauses are only {loud - quiet:.0f} dB quieter than its speech "
            f"(at least {MIN_SNR_DB:g} dB is needed). Record in a quiet room, close to the microphone.")
    f0, _, _ = _analyze_frames(audio, rate)
    voiced_s = float(np.sum(f0 > 0)) * FRAME_PERIOD_MS / 1000.0
    if voiced_s < MIN_VOICED_S:
        raise AudioError(
            f"{label} holds only {voiced_s:.1f} s of voiced speech; at least {MIN_VOICED_S:g} s is needed. "
            "Record someone reading aloud, not music or silence.")


def _smooth_db(envelope_db: np.ndarray, lifter: int) -> np.ndarray:
    """Only the broad shape of a log spectrum: its first cepstral coefficients."""
    cepstrum = np.fft.irfft(envelope_db)
    cepstrum[lifter:len(cepstrum) - lifter + 1] = 0.0
    return np.fft.rfft(cepstrum).real


def warp_envelope(envelope: np.ndarray, warp: float, rate: int) -> np.ndarray:
    """Envelopes (along the last axis) with every frequency f moved to warp * f: formants scaled."""
    bins = envelope.shape[-1]
    index = np.clip(np.arange(bins) / warp, 0.0, bins - 1)
    low = np.floor(index).astype(int)
    high = np.minimum(low + 1, bins - 1)
    frac = index - low
    return envelope[..., low] * (1.0 - frac) + envelope[..., high] * frac


def fit_warp(source_db: np.ndarray, target_db: np.ndarray, rate: int) -> float:
    """The formant scale whose warped source envelope best matches the target's formant pattern.

    Level and spectral tilt are left out of the match (the class offsets take them): only the
    pattern of peaks and valleys below WARP_MAX_HZ decides.
    """
    freqs = np.linspace(0.0, rate / 2.0, source_db.size)
    band = (freqs > 150.0) & (freqs < WARP_MAX_HZ)
    trend = np.vstack([np.ones(band.sum()), freqs[band]]).T
    source_shape, target_shape = _smooth_db(source_db, WARP_LIFTER), _smooth_db(target_db, WARP_LIFTER)
    errors = []
    warps = np.arange(WARP_RANGE[0], WARP_RANGE[1] + 1e-9, 0.01)
    for warp in warps:
        difference = (warp_envelope(source_shape, warp, rate) - target_shape)[band]
        residual = difference - trend @ np.linalg.lstsq(trend, difference, rcond=None)[0]
        errors.append(float(np.mean(residual ** 2)))
    return float(warps[int(np.argmin(errors))])


def _code(envelope: np.ndarray, rate: int) -> np.ndarray:
    pw = _world()
    return pw.code_spectral_envelope(np.ascontiguousarray(envelope), rate, ENVELOPE_DIMS)


def _decode(coded: np.ndarray, rate: int, fft_size: int) -> np.ndarray:
    pw = _world()
    return pw.decode_spectral_envelope(np.ascontiguousarray(coded, dtype=np.float64), rate, fft_size)


def _speech(frames: Frames) -> np.ndarray:
    """Frames that hold speech, not pauses."""
    level_db = 10.0 * np.log10(frames.envelope.sum(axis=1) + 1e-16)
    return level_db > np.percentile(level_db, 98) - SPEECH_FLOOR_DB


def _dtw_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) pairing every frame of the longer sequence with one of the other.

    Each step moves one frame along the longer sequence and 0 to MAX_SLOPE frames along the
    shorter, so a row of the cost table depends only on the row before: vectorized per row.
    """
    swap = len(a) < len(b)
    rows, cols = (b, a) if swap else (a, b)
    n, m = len(rows), len(cols)
    cost = (np.sum(rows ** 2, 1)[:, None] + np.sum(cols ** 2, 1)[None, :] - 2.0 * rows @ cols.T)
    cost = np.sqrt(np.maximum(cost, 0.0)).astype(np.float32)
    total = np.full((n, m), np.inf, dtype=np.float32)
    step = np.zeros((n, m), dtype=np.int8)
    total[0, 0] = cost[0, 0]
    for i in range(1, n):
        prev = total[i - 1]
        options = np.stack([prev] + [np.concatenate([np.full(k, np.inf, np.float32), prev[:-k]])
                                     for k in range(1, MAX_SLOPE + 1)])
        step[i] = np.argmin(options, axis=0)
        total[i] = cost[i] + options[step[i], np.arange(m)]
    path = np.zeros(n, dtype=int)
    path[-1] = m - 1
    for i in range(n - 1, 0, -1):
        path[i - 1] = path[i] - step[i, path[i]]
    i = np.arange(n)
    return (path, i) if swap else (i, path)


def _kmeans(x: np.ndarray, k: int, iterations: int = 25) -> np.ndarray:
    """k centres of the rows of x (seeded: the same sample always gives the same clone)."""
    rng = np.random.default_rng(0)
    centers = x[rng.choice(len(x), size=k, replace=False)]
    for _ in range(iterations):
        nearest = np.argmin(((x[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
        centers = np.stack([x[nearest == c].mean(0) if np.any(nearest == c) else centers[c]
                            for c in range(k)])
    return centers


def _memberships(x: np.ndarray, centers: np.ndarray, spread: float) -> np.ndarray:
    """Soft class membership per frame: an isotropic Gaussian around each centre."""
    d2 = ((x[:, None, :] - centers[None]) ** 2).sum(-1) / (2.0 * spread)
    w = np.exp(-(d2 - d2.min(axis=1, keepdims=True)))
    return w / w.sum(axis=1, keepdims=True)


def fit_class_offsets(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Classes of source frames (alike sounds) and the envelope change that makes each the speaker's.

    Each class keeps its own variation (the words stay clear) and moves by the mean difference of
    its paired frames; a class seen in few frames is pulled towards the overall difference.
    """
    k = int(np.clip(len(source) // FRAMES_PER_CLASS, 1, CLASSES))
    centers = _kmeans(source[:, 1:], k)
    nearest = np.argmin(((source[:, None, 1:] - centers[None]) ** 2).sum(-1), axis=1)
    spread = float(np.mean((source[:, 1:] - centers[nearest]) ** 2)) * SOFTNESS
    weights = _memberships(source[:, 1:], centers, spread)
    difference = target - source
    overall = difference.mean(0)
    counts = weights.sum(0)[:, None]
    offsets = (weights.T @ difference + SHRINK_FRAMES * overall) / (counts + SHRINK_FRAMES)
    return centers, offsets, spread


def _nearest_frames(coded: np.ndarray, speaker: np.ndarray) -> np.ndarray:
    """Each frame's envelope blended with the average of the speaker's most alike frames."""
    a, b = coded[:, 1:], speaker[:, 1:].astype(np.float64)
    d2 = np.sum(a ** 2, 1)[:, None] + np.sum(b ** 2, 1)[None, :] - 2.0 * a @ b.T
    nearest = np.argpartition(d2, KNN, axis=1)[:, :KNN]
    chosen = b[nearest].mean(axis=1)
    out = coded.copy()
    out[:, 1:] = (1.0 - KNN_BLEND) * a + KNN_BLEND * chosen
    return out


def _coded_aperiodicity(frames: Frames, rate: int) -> np.ndarray:
    pw = _world()
    return pw.code_aperiodicity(np.ascontiguousarray(frames.aperiodicity), rate)


def fit_conversion(source: Frames, target: Frames, rate: int, paired: bool) -> Conversion:
    """The conversion from one voice's frames to another's; `paired`: both say the same words."""
    source_speech, target_speech = _speech(source), _speech(target)
    source_stats, target_stats = _stats(source, rate), _stats(target, rate)
    warp = fit_warp(source_stats.envelope_db, target_stats.envelope_db, rate) if USE_WARP else 1.0
    x = _code(warp_envelope(source.envelope[source_speech], warp, rate), rate)
    y = _code(target.envelope[target_speech], rate)
    if paired:
        # Cepstral mean removal per voice, so the pairing follows the words, not the voices.
        i, j = _dtw_pairs(x[:, 1:] - x[:, 1:].mean(0), y[:, 1:] - y[:, 1:].mean(0))
        (centers, offsets, spread), pairs = fit_class_offsets(x[i], y[j]), len(i)
    else:
        centers, offsets, spread, pairs = x[:, 1:].mean(0)[None], (y.mean(0) - x.mean(0))[None], 1.0, 0
    voiced = [(f.f0 > 0) & s for f, s in ((source, source_speech), (target, target_speech))]
    ap = [_coded_aperiodicity(f, rate)[v].mean(axis=0) for f, v in zip((source, target), voiced, strict=True)]
    return Conversion(source_stats, target_stats, warp, centers, offsets, spread, ap[1] - ap[0],
                      y.astype(np.float32), pairs)


def _transcript(audio: np.ndarray, rate: int) -> list[str]:
    """The sample's words as sentences the base voice can read; [] when Whisper hears none."""
    from pipeline.text import prepare_script
    from pipeline.timing import transcribe
    from pipeline.types import Speech

    text = " ".join(w.text for w in transcribe(Speech(np.asarray(audio, dtype=np.float32), rate)))
    return prepare_script(text) if text.strip() else []


def learn_conversion(audio: np.ndarray, rate: int, base_voice) -> Conversion:
    """The conversion from a Piper voice to the speaker of `audio` (no checks on the sample).

    The base voice reads what the speaker said, so each of its frames has a twin in the sample.
    """
    from pipeline.speech.synth import synthesize

    if rate != base_voice.sample_rate_hz:
        raise AudioError(f"The sample is at {rate} Hz but voice {base_voice.profile.name!r} speaks at "
                         f"{base_voice.sample_rate_hz} Hz; load it with pipeline.speech.audio.load_audio.")
    sentences = _transcript(audio, rate)
    reference = synthesize(sentences or REFERENCE_SCRIPT, base_voice)
    return fit_conversion(_frames(reference.audio, rate, BASE_F0_RANGE), _frames(audio, rate), rate,
                          paired=bool(sentences))


def highpass(audio: np.ndarray, cutoff_hz: float, rate: int, order: int = HIGHPASS_ORDER) -> np.ndarray:
    """`audio` through a zero-phase Butterworth-shaped high-pass (one FFT of the whole, padded)."""
    size = int(2 ** np.ceil(np.log2(audio.size + rate // 10)))
    spectrum = np.fft.rfft(audio, size)
    freqs_hz = np.fft.rfftfreq(size, 1.0 / rate)
    gain = 1.0 / np.sqrt(1.0 + (cutoff_hz / np.maximum(freqs_hz, 1e-3)) ** (2 * order))
    return np.fft.irfft(spectrum * gain, size)[:audio.size]


def convert(audio: np.ndarray, rate: int, conversion: Conversion) -> np.ndarray:
    """The audio in the cloned voice: same length, same timing."""
    if audio.size < rate // 10 or not np.any(audio):
        return audio
    pw = _world()
    frames = _frames(audio, rate, BASE_F0_RANGE)
    source, target = conversion.source, conversion.target
    voiced = frames.f0 > 0
    scale = target.lf0_std / max(source.lf0_std, 1e-3)
    lf0 = np.log(np.where(voiced, frames.f0, 1.0))
    f0 = np.where(voiced, np.exp(target.lf0_mean + (lf0 - source.lf0_mean) * scale), 0.0)
    fft_size = (frames.envelope.shape[1] - 1) * 2
    warped = warp_envelope(frames.envelope, conversion.warp, rate)
    coded = _code(warped, rate)
    mapped = coded + _memberships(coded[:, 1:], conversion.centers, conversion.spread) @ conversion.offsets
    if KNN and conversion.speaker_frames is not None and len(conversion.speaker_frames) >= KNN_MIN_FRAMES:
        mapped = _nearest_frames(mapped, conversion.speaker_frames)
    # Only the change is decoded and applied: the fine detail the code drops is kept.
    envelope = warped * _decode(mapped, rate, fft_size) / _decode(coded, rate, fft_size)
    aperiodicity = frames.aperiodicity
    if voiced.any() and USE_APERIODICITY:
        coded_ap = _coded_aperiodicity(frames, rate)
        coded_ap[voiced] += conversion.aperiodicity_db
        shifted = pw.decode_aperiodicity(np.ascontiguousarray(coded_ap), rate, fft_size)
        aperiodicity = np.where(voiced[:, None], shifted, aperiodicity)
    out = pw.synthesize(f0, np.ascontiguousarray(envelope), np.ascontiguousarray(aperiodicity), rate,
                        FRAME_PERIOD_MS)
    out = out[:audio.size] if out.size >= audio.size else np.pad(out, (0, audio.size - out.size))
    out = highpass(out, HIGHPASS_F0_FRACTION * float(np.exp(target.lf0_mean)), rate)
    return out.astype(np.float32)


def save_conversion(conversion: Conversion, path: Path) -> Path:
    s, t = conversion.source, conversion.target
    np.savez(path, source=np.array([s.lf0_mean, s.lf0_std, s.sample_rate_hz]), source_env=s.envelope_db,
             target=np.array([t.lf0_mean, t.lf0_std, t.sample_rate_hz]), target_env=t.envelope_db,
             warp=np.array(conversion.warp), centers=conversion.centers, offsets=conversion.offsets,
             spread=np.array(conversion.spread),
             aperiodicity_db=conversion.aperiodicity_db,
             speaker_frames=np.zeros((0, ENVELOPE_DIMS), np.float32) if conversion.speaker_frames is None
             else conversion.speaker_frames,
             paired_frames=np.array(conversion.paired_frames))
    return path


def load_conversion(path: Path) -> Conversion:
    try:
        data = np.load(path)
        stats = [VoiceStats(float(data[k][0]), float(data[k][1]), data[f"{k}_env"], int(data[k][2]))
                 for k in ("source", "target")]
        return Conversion(stats[0], stats[1], float(data["warp"]), data["centers"], data["offsets"],
                          float(data["spread"]),
                          data["aperiodicity_db"], data["speaker_frames"], int(data["paired_frames"]))
    except (OSError, KeyError, ValueError) as exc:
        raise AudioError(f"Clone data {path} cannot be read ({exc}). Make the clone again with "
                         "`avatar voices clone NAME sample.wav`.") from exc
