"""A cloned voice, offline: the base Piper voice converted towards a recorded speaker with WORLD.

WORLD splits speech into pitch (F0), spectral envelope and aperiodicity, frame by frame. The
clone moves the base voice's pitch level and range to the speaker's (log-F0 mean and spread),
scales its formant frequencies by one warp factor, and tilts its average envelope to the
speaker's with a smooth equalizer. Frames keep their times, so Piper's phone timing stays valid.
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
WARP_RANGE = (0.8, 1.35)     # formant scaling searched (> 1 raises the formants)
WARP_MAX_HZ = 5000.0         # formants live below this; the warp is fitted there
EQ_LIFTER = 24               # cepstral coefficients kept: only the broad envelope shape is matched
EQ_LIMIT_DB = 12.0
# Read by the base voice when a clone is made: its average pitch and envelope are the source.
REFERENCE_SCRIPT = [
    "The quick brown fox jumps over the lazy dog, and then runs back home.",
    "She sells sea shells by the sea shore, while the children watch the waves.",
    "Every morning we measure the weather, write the numbers down, and check them twice.",
    "Would you like a cup of tea, or shall we go for a walk along the river?",
]


@dataclass(frozen=True)
class VoiceStats:
    lf0_mean: float
    lf0_std: float
    envelope_db: np.ndarray     # average log spectral envelope of voiced frames, per FFT bin
    sample_rate_hz: int


@dataclass(frozen=True)
class Conversion:
    source: VoiceStats
    target: VoiceStats
    warp: float                 # formant frequency scale
    eq_db: np.ndarray           # gain per FFT bin, after the warp


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


def _analyze_frames(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pw = _world()
    x = np.ascontiguousarray(audio, dtype=np.float64)
    f0, times = pw.dio(x, rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=FRAME_PERIOD_MS)
    f0 = pw.stonemask(x, f0, times, rate)
    envelope = pw.cheaptrick(x, f0, times, rate)
    aperiodicity = pw.d4c(x, f0, times, rate)
    return f0, envelope, aperiodicity


def _smooth_db(envelope_db: np.ndarray, lifter: int = EQ_LIFTER) -> np.ndarray:
    """Only the broad shape of a log spectrum: its first cepstral coefficients."""
    cepstrum = np.fft.irfft(envelope_db)
    cepstrum[lifter:len(cepstrum) - lifter + 1] = 0.0
    return np.fft.rfft(cepstrum).real


def analyze(audio: np.ndarray, rate: int) -> VoiceStats:
    f0, envelope, _ = _analyze_frames(audio, rate)
    voiced = f0 > 0
    if voiced.sum() < 10:
        raise AudioError("No voiced speech was found in the sample. Record someone speaking, then try again.")
    lf0 = np.log(f0[voiced])
    envelope_db = 10.0 * np.log10(np.maximum(envelope[voiced], 1e-16)).mean(axis=0)
    return VoiceStats(float(lf0.mean()), float(lf0.std()), envelope_db, rate)


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


def _warp(envelope_db: np.ndarray, warp: float, rate: int) -> np.ndarray:
    """An envelope with every frequency f moved to warp * f (along the last axis)."""
    bins = envelope_db.shape[-1]
    freqs = np.linspace(0.0, rate / 2.0, bins)
    source = np.clip(freqs / warp, 0.0, rate / 2.0)
    if envelope_db.ndim == 1:
        return np.interp(source, freqs, envelope_db)
    index = source / (rate / 2.0) * (bins - 1)
    low = np.floor(index).astype(int)
    high = np.minimum(low + 1, bins - 1)
    frac = index - low
    return envelope_db[:, low] * (1.0 - frac) + envelope_db[:, high] * frac


def fit_conversion(source: VoiceStats, target: VoiceStats) -> Conversion:
    """The warp whose shifted source envelope best matches the target's shape, then an EQ for the rest."""
    rate = source.sample_rate_hz
    freqs = np.linspace(0.0, rate / 2.0, source.envelope_db.size)
    band = (freqs > 150.0) & (freqs < WARP_MAX_HZ)
    target_shape = _smooth_db(target.envelope_db, 60)
    trend = np.vstack([np.ones(band.sum()), freqs[band]]).T
    best, best_error = 1.0, np.inf
    for warp in np.arange(WARP_RANGE[0], WARP_RANGE[1] + 1e-9, 0.01):
        difference = (_warp(_smooth_db(source.envelope_db, 60), warp, rate) - target_shape)[band]
        # Level and spectral tilt are the equalizer's job: only the formant pattern decides the warp.
        residual = difference - trend @ np.linalg.lstsq(trend, difference, rcond=None)[0]
        error = float(np.mean(residual ** 2))
        if error < best_error:
            best, best_error = float(warp), error
    warped = _warp(source.envelope_db, best, rate)
    eq_db = np.clip(_smooth_db(target.envelope_db - warped), -EQ_LIMIT_DB, EQ_LIMIT_DB)
    return Conversion(source, target, best, eq_db - eq_db[band].mean())


def convert(audio: np.ndarray, rate: int, conversion: Conversion) -> np.ndarray:
    """The audio in the cloned voice: same length, same timing."""
    if audio.size < rate // 10 or not np.any(audio):
        return audio
    pw = _world()
    f0, envelope, aperiodicity = _analyze_frames(audio, rate)
    source, target = conversion.source, conversion.target
    voiced = f0 > 0
    scale = target.lf0_std / max(source.lf0_std, 1e-3)
    f0 = np.where(voiced, np.exp(target.lf0_mean + (np.log(np.where(voiced, f0, 1.0)) - source.lf0_mean)
                                 * scale), 0.0)
    envelope_db = _warp(10.0 * np.log10(np.maximum(envelope, 1e-16)), conversion.warp, rate)
    envelope = 10.0 ** ((envelope_db + conversion.eq_db) / 10.0)
    out = pw.synthesize(f0, np.ascontiguousarray(envelope), aperiodicity, rate, FRAME_PERIOD_MS)
    out = out[:audio.size] if out.size >= audio.size else np.pad(out, (0, audio.size - out.size))
    return out.astype(np.float32)


def save_conversion(conversion: Conversion, path: Path) -> Path:
    s, t = conversion.source, conversion.target
    np.savez(path, source=np.array([s.lf0_mean, s.lf0_std, s.sample_rate_hz]), source_env=s.envelope_db,
             target=np.array([t.lf0_mean, t.lf0_std, t.sample_rate_hz]), target_env=t.envelope_db,
             warp=np.array(conversion.warp), eq_db=conversion.eq_db)
    return path


def load_conversion(path: Path) -> Conversion:
    try:
        data = np.load(path)
        stats = [VoiceStats(float(data[k][0]), float(data[k][1]), data[f"{k}_env"], int(data[k][2]))
                 for k in ("source", "target")]
        return Conversion(stats[0], stats[1], float(data["warp"]), data["eq_db"])
    except (OSError, KeyError, ValueError) as exc:
        raise AudioError(f"Clone data {path} cannot be read ({exc}). Make the clone again with "
                         "`avatar voices clone NAME sample.wav`.") from exc
