"""Augmentations that make one TTS voice look like many people in many rooms.

All keep timing exactly (phone times stay valid). Each takes and returns mono float32 at
16 kHz and draws its settings from a numpy Generator.
- voice: WORLD re-synthesis with the pitch shifted and its contour flattened or
  exaggerated, and the spectral envelope warped along frequency (formants up for a shorter
  vocal tract, down for a longer one);
- room: a synthetic exponentially decaying room impulse response;
- channel: random smooth EQ, band limits (telephone, cheap mics), noise, loudness.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE_HZ = 16000
WORLD_FRAME_MS = 5.0


def world_voice(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pitch shift (-4..+10 semitones), contour scale, formant warp (x0.86..1.22)."""
    import pyworld as pw

    x = audio.astype(np.float64)
    f0, times = pw.dio(x, SAMPLE_RATE_HZ, frame_period=WORLD_FRAME_MS, f0_floor=60.0, f0_ceil=500.0)
    f0 = pw.stonemask(x, f0, times, SAMPLE_RATE_HZ)
    sp = pw.cheaptrick(x, f0, times, SAMPLE_RATE_HZ)
    ap = pw.d4c(x, f0, times, SAMPLE_RATE_HZ)
    # female and child voices: pitch and formants up together, more often than down
    up = rng.random() < 0.65
    semitones = rng.uniform(3.0, 10.0) if up else rng.uniform(-4.0, 2.0)
    formant = rng.uniform(1.05, 1.22) if up else rng.uniform(0.86, 1.04)
    if rng.random() < 0.2:       # decouple now and then
        formant = rng.uniform(0.88, 1.18)
    voiced = f0 > 0
    if voiced.any():
        log_f0 = np.log(f0[voiced])
        mean = log_f0.mean()
        f0 = f0.copy()
        f0[voiced] = np.exp(mean + rng.uniform(0.6, 1.6) * (log_f0 - mean) + semitones * np.log(2) / 12)
    bins = np.arange(sp.shape[1], dtype=np.float64)
    warped = np.empty_like(sp)
    for i in range(len(sp)):
        warped[i] = np.interp(bins / formant, bins, sp[i])
    y = pw.synthesize(f0, np.ascontiguousarray(warped), ap, SAMPLE_RATE_HZ, WORLD_FRAME_MS)
    y = y[:len(audio)]
    if len(y) < len(audio):
        y = np.pad(y, (0, len(audio) - len(y)))
    return y.astype(np.float32)


def room(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Convolve with a synthetic RIR: direct path, then decaying noise (RT60 0.1..0.8 s)."""
    rt60_s = rng.uniform(0.1, 0.8)
    n = int(rt60_s * SAMPLE_RATE_HZ)
    t = np.arange(n) / SAMPLE_RATE_HZ
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    # early reflections are brighter than the late tail: low-pass the tail progressively
    tail = np.convolve(tail, np.ones(3) / 3, mode="same")
    predelay = int(rng.uniform(0.002, 0.02) * SAMPLE_RATE_HZ)
    rir = np.zeros(n + predelay)
    rir[0] = 1.0
    rir[predelay:] += tail * rng.uniform(0.05, 0.4) / np.sqrt(np.sum(tail ** 2) / max(n, 1) * 200)
    from scipy.signal import fftconvolve

    wet = fftconvolve(audio, rir)[:len(audio)]
    return (wet / (np.max(np.abs(wet)) + 1e-9) * np.max(np.abs(audio))).astype(np.float32)


def channel(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random EQ curve (+-9 dB, smooth), band limits, noise, loudness and clipping."""
    n = len(audio)
    spectrum = np.fft.rfft(audio.astype(np.float64))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE_HZ)
    log_f = np.log2(np.maximum(freqs, 20.0))
    gain_db = np.zeros_like(freqs)
    if rng.random() < 0.8:
        knots = np.linspace(np.log2(20.0), np.log2(8000.0), 8)
        gain_db += np.interp(log_f, knots, rng.uniform(-9.0, 9.0, len(knots)))
    if rng.random() < 0.35:      # band limits: telephone to cheap laptop mic
        low_hz = rng.uniform(80.0, 400.0)
        high_hz = rng.uniform(3000.0, 7500.0)
        gain_db += -24.0 * np.clip(np.log2(low_hz / np.maximum(freqs, 1.0)), 0, 4)
        gain_db += -24.0 * np.clip(np.log2(np.maximum(freqs, 1.0) / high_hz), 0, 4)
    y = np.fft.irfft(spectrum * 10 ** (gain_db / 20.0), n=n)
    peak = np.max(np.abs(y)) + 1e-9
    y = y / peak * np.max(np.abs(audio))
    if rng.random() < 0.7:       # white, pink or brown noise at 5..40 dB SNR
        colour = rng.choice([0.0, 1.0, 2.0])
        noise_spec = np.fft.rfft(rng.standard_normal(n)) / np.maximum(freqs, 20.0) ** (colour / 2)
        noise = np.fft.irfft(noise_spec, n=n)
        snr_db = rng.uniform(5.0, 40.0)
        speech_power = np.mean(y ** 2) + 1e-12
        noise *= np.sqrt(speech_power / (np.mean(noise ** 2) + 1e-12) / 10 ** (snr_db / 10))
        y = y + noise
    y *= 10 ** (rng.uniform(-30.0, 6.0) / 20.0) / (np.max(np.abs(y)) + 1e-9) * 0.9
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def augment(audio: np.ndarray, rng: np.random.Generator, p_voice: float = 0.6) -> np.ndarray:
    """The full chain, each stage with its own probability."""
    y = audio
    if rng.random() < p_voice:
        y = world_voice(y, rng)
    if rng.random() < 0.4:
        y = room(y, rng)
    return channel(y, rng)
