"""Audio-to-mouth network at run time: log-mel front end, ONNX inference, clean-up.

Any speech drives the mouth, transcript or not (issue 3). The network, trained by
`training/train_mouth.py` on Piper speech with exact phone timing (targets from the
rules driver, `pipeline.mouth.track`), maps Wav2Lip's audio front end (80-band log-mel
at 16 kHz, 12.5 ms hop, 50 ms window) to the articulation parameters at the mel frame
rate (80 Hz). Its dilated convolutions see about +-0.2 s of audio around each frame, so
the output is smooth without a separate filter.

The mel front end lives here, not in training/, so training and run time compute the
same features. torch is only needed to train; run time is numpy + onnxruntime.

After the network: frames are averaged onto the video grid (lip closure by maximum,
so a 60 ms /p/ survives a 33 ms frame), closures are made clean (pressed lips are shut,
not half open), and long quiet stretches are forced to rest (no jitter in silences).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.mouth.frames import frame_count
from pipeline.types import ARTICULATION, MouthTrack

CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "mouth_net.onnx"

# Front end (Wav2Lip's audio settings).
SAMPLE_RATE_HZ = 16000
HOP = 200                      # samples: 12.5 ms, 80 frames per second
WINDOW = 800                   # samples: 50 ms
N_FFT = 800
N_MELS = 80
FMIN_HZ = 55.0
FMAX_HZ = 7600.0
PREEMPHASIS = 0.97
MEL_FPS = SAMPLE_RATE_HZ / HOP
# Log-mel levels are relative to the clip's loud level, so gain does not matter; DYNAMIC_DB
# below it reads as silence (feature 0, which is also what convolution padding sees).
LOUD_PERCENTILE = 95.0
DYNAMIC_DB = 80.0
MEL_FLOOR = 1e-10              # far below any DYNAMIC_DB range: the clip's level sets the floor
MIN_LOUD_MEL_DB = -120.0       # near-digital silence is not scaled up into "speech"
MIN_LOUD_DB = -60.0            # RMS dBFS: a clip whose loud level is below this is all silence
FEATURE_SCALE_DB = 20.0

# Inference in chunks of 60 s, each with context beyond the network's +-18-frame receptive field.
CHUNK_FRAMES = 4800
CHUNK_CONTEXT = 48

# Silence gate on frame loudness (RMS over one hop, dB).
GATE_BELOW_LOUD_DB = 35.0      # quieter than the loud level by this much ...
GATE_ABOVE_FLOOR_DB = 8.0      # ... or within this much of the clip's noise floor: quiet
GATE_MIN_SILENCE_S = 0.30      # only quiet runs this long are silences (a stop closure is shorter)
GATE_MARGIN_S = 0.03           # the mouth may still move this close to speech (onset, release)
GATE_RAMP_S = 0.03

# Closures: press above this shuts the lips.
PRESS_LOW, PRESS_HIGH = 0.3, 0.6
_K = {name: k for k, name in enumerate(ARTICULATION)}
_OPENING = [_K[n] for n in ("jaw_open", "lip_open", "teeth_show", "tongue_show", "lower_lip_tuck")]
CLOSED_JAW = 0.05


def resample(audio: np.ndarray, sample_rate_hz: int, target_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Mono float32 at target_hz (polyphase; exact for integer ratios); channels are averaged."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim > 1:  # [samples, channels]
        audio = audio.mean(axis=1)
    if sample_rate_hz == target_hz:
        return audio
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sample_rate_hz), int(target_hz))
    return resample_poly(audio, target_hz // g, int(sample_rate_hz) // g).astype(np.float32)


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """[N_MELS, N_FFT // 2 + 1] triangular filters, Slaney mel scale, area-normalised."""

    def hz_to_mel(hz: np.ndarray) -> np.ndarray:
        hz = np.asarray(hz, dtype=np.float64)
        linear = hz / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(hz >= 1000.0, log, linear)

    def mel_to_hz(mel: np.ndarray) -> np.ndarray:
        mel = np.asarray(mel, dtype=np.float64)
        linear = mel * (200.0 / 3)
        log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
        return np.where(mel >= 15.0, log, linear)

    edges_hz = mel_to_hz(np.linspace(hz_to_mel(FMIN_HZ), hz_to_mel(FMAX_HZ), N_MELS + 2))
    bins_hz = np.linspace(0.0, SAMPLE_RATE_HZ / 2, N_FFT // 2 + 1)
    lo, mid, hi = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    up = (bins_hz[None] - lo) / (mid - lo)
    down = (hi - bins_hz[None]) / (hi - mid)
    weights = np.maximum(0.0, np.minimum(up, down))
    weights *= (2.0 / (hi - lo))
    return weights.astype(np.float32)


def _frames(audio_16k: np.ndarray, n_frames: int, length: int, first: int = 0,
            count: int | None = None) -> np.ndarray:
    """[count, length] windows centred on (i + 0.5) * HOP for frames first.., zero outside the audio."""
    count = n_frames - first if count is None else count
    left = length // 2 - HOP // 2
    # Only the samples these windows cover are copied (padded with zeros beyond the audio),
    # so framing an hour in chunks costs one chunk of memory, not the hour per chunk.
    start = first * HOP - left
    span = np.zeros(max(count - 1, 0) * HOP + length, dtype=np.float32)
    a, b = max(start, 0), min(start + len(span), len(audio_16k))
    if b > a:
        span[a - start:b - start] = audio_16k[a:b]
    idx = np.arange(count)[:, None] * HOP + np.arange(length)[None, :]
    return span[idx]


def n_mel_frames(duration_s: float) -> int:
    """Mel frames for a clip: the mouth frame rule at 80 fps (frame i centred at (i + 0.5) / 80)."""
    return frame_count(duration_s, MEL_FPS)


def log_mel(audio_16k: np.ndarray, n_frames: int | None = None) -> np.ndarray:
    """[n_frames, N_MELS] float32 features in [0, ~4.5]: dB over the clip's loud level, scaled.

    0 is DYNAMIC_DB below the loud level or quieter (silence); gain-invariant.
    """
    audio_16k = np.asarray(audio_16k, dtype=np.float32).reshape(-1)
    if n_frames is None:
        n_frames = n_mel_frames(len(audio_16k) / SAMPLE_RATE_HZ)
    if n_frames == 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    emphasised = np.append(audio_16k[:1], audio_16k[1:] - PREEMPHASIS * audio_16k[:-1])
    window = np.hanning(WINDOW + 1)[:-1].astype(np.float32)
    mel_db = np.empty((n_frames, N_MELS), dtype=np.float32)
    for first in range(0, n_frames, CHUNK_FRAMES):  # in chunks: an hour of audio stays small
        count = min(CHUNK_FRAMES, n_frames - first)
        frames = _frames(emphasised, n_frames, WINDOW, first, count) * window
        magnitude = np.abs(np.fft.rfft(frames, n=N_FFT, axis=1)).astype(np.float32)
        mel_db[first:first + count] = 20.0 * np.log10(np.maximum(magnitude @ mel_filterbank().T, MEL_FLOOR))
    frame_peak_db = mel_db.max(axis=1)
    loud_db = max(float(np.percentile(frame_peak_db, LOUD_PERCENTILE)), MIN_LOUD_MEL_DB)
    features = (mel_db - loud_db + DYNAMIC_DB) / FEATURE_SCALE_DB
    return np.clip(features, 0.0, None).astype(np.float32)


def frame_level_db(audio_16k: np.ndarray, n_frames: int) -> np.ndarray:
    """RMS per mel frame (over one hop around its centre), dBFS."""
    audio_16k = np.asarray(audio_16k, dtype=np.float32).reshape(-1)
    level = np.empty(n_frames, dtype=np.float64)
    for first in range(0, n_frames, CHUNK_FRAMES):
        count = min(CHUNK_FRAMES, n_frames - first)
        frames = _frames(audio_16k, n_frames, 2 * HOP, first, count)
        level[first:first + count] = 10.0 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    return level


def speech_gate(level_db: np.ndarray, frame_rate: float) -> np.ndarray:
    """Per frame in [0, 1]: 0 inside silences longer than GATE_MIN_SILENCE_S, ramping to 1 at speech."""
    n = len(level_db)
    if n == 0:
        return np.zeros(0)
    loud_db = float(np.percentile(level_db, LOUD_PERCENTILE))
    floor_db = float(np.percentile(level_db, 10.0))
    threshold = max(loud_db - GATE_BELOW_LOUD_DB, floor_db + GATE_ABOVE_FLOOR_DB)
    quiet = (level_db < threshold) | (loud_db < MIN_LOUD_DB)
    silent = np.zeros(n, dtype=bool)
    min_len = int(round(GATE_MIN_SILENCE_S * frame_rate))
    margin = int(round(GATE_MARGIN_S * frame_rate))
    i = 0
    while i < n:
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j < n and quiet[j]:
            j += 1
        if j - i >= min_len:
            # the clip's own edges need no margin: nothing is spoken beyond them
            lo = i if i == 0 else i + margin
            hi = j if j == n else j - margin
            silent[lo:max(lo, hi)] = True
        i = j
    # inside a silence the mouth eases to rest over GATE_RAMP_S from its edges
    width = 2 * max(1, int(round(GATE_RAMP_S * frame_rate))) + 1
    smoothed = np.convolve((~silent).astype(np.float64), np.ones(width) / width, mode="same")
    gate = np.where(silent, smoothed, 1.0)
    return np.clip(gate, 0.0, 1.0)


@lru_cache(maxsize=2)
def _session(path: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Tiny model: one thread is fastest and leaves the other core to rendering.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def predict(features: np.ndarray, checkpoint: Path = CHECKPOINT,
            chunk_frames: int = CHUNK_FRAMES) -> np.ndarray:
    """Raw network output: [n_frames, len(ARTICULATION)] in [0, 1] at MEL_FPS.

    Long clips run in chunks with CHUNK_CONTEXT frames of real audio either side (more than
    the receptive field), so memory stays flat and the result equals one run over the whole.
    """
    n = len(features)
    out = np.zeros((n, len(ARTICULATION)), dtype=np.float32)
    if n == 0:
        return out
    if not checkpoint.exists():
        raise FileNotFoundError(
            f"mouth network checkpoint missing: {checkpoint}. Run `make train-mouth` to build it, "
            "or use the rules mouth (--mouth rules).")
    session = _session(str(checkpoint))
    for start in range(0, n, chunk_frames):
        lo, hi = max(0, start - CHUNK_CONTEXT), min(n, start + chunk_frames + CHUNK_CONTEXT)
        (raw,) = session.run(None, {"mel": features[lo:hi].T[None].astype(np.float32)})
        stop = min(n, start + chunk_frames)
        out[start:stop] = raw[0].T[start - lo:stop - lo]
    return np.clip(out, 0.0, 1.0)


def to_video_frames(values: np.ndarray, n_frames: int, fps: float,
                    max_columns: tuple[int, ...] = (_K["lip_press"],)) -> np.ndarray:
    """Mel-rate values -> video frames: the mean over each frame's span, max_columns by maximum."""
    n_mel = len(values)
    out = np.zeros((n_frames, values.shape[1]), dtype=np.float32)
    if n_mel == 0 or n_frames == 0:
        return out
    centres_s = (np.arange(n_mel) + 0.5) / MEL_FPS
    for i in range(n_frames):
        lo, hi = np.searchsorted(centres_s, (i / fps, (i + 1) / fps))
        if hi <= lo:  # frame shorter than a mel hop: the nearest mel frame
            j = int(np.clip(np.floor((i + 0.5) / fps * MEL_FPS), 0, n_mel - 1))
            lo, hi = j, j + 1
        lo, hi = min(lo, n_mel - 1), min(max(hi, lo + 1), n_mel)
        out[i] = values[lo:hi].mean(axis=0)
        for k in max_columns:
            out[i, k] = values[lo:hi, k].max()
    return out


def _shut(values: np.ndarray, press: np.ndarray) -> np.ndarray:
    """Pressed lips are shut: openings scaled by (1 - press), the lip gap twice over."""
    values = values.copy()
    values[:, _K["lip_press"]] = press
    keep = 1.0 - press
    values[:, _OPENING] *= keep[:, None]
    values[:, _K["lip_open"]] *= keep     # squared: a half press already nearly shuts the gap
    values[:, _K["jaw_open"]] = np.minimum(values[:, _K["jaw_open"]],
                                           CLOSED_JAW + (1.0 - CLOSED_JAW) * keep)
    return values


def clean(values: np.ndarray, gate: np.ndarray) -> np.ndarray:
    """Closures shut cleanly (a confident press is a full one); silences rest (rest is all zeros)."""
    press = np.clip((values[:, _K["lip_press"]] - PRESS_LOW) / (PRESS_HIGH - PRESS_LOW), 0.0, 1.0)
    values = _shut(values, press) * gate[:, None]
    return np.clip(values, 0.0, 1.0).astype(np.float32)


def fuse(net_track: MouthTrack, rules_track: MouthTrack, net_weight: float = 0.5) -> MouthTrack:
    """Network and rules together: shapes averaged, a closure from either one shuts the lips.

    The network hears when and how wide the mouth opens; the rules know which phone it is.
    Both tracks must be on the same frame grid.
    """
    if len(net_track) != len(rules_track) or net_track.fps != rules_track.fps:
        raise ValueError("fuse needs two tracks on the same frame grid")
    values = net_weight * net_track.values + (1.0 - net_weight) * rules_track.values
    press = np.maximum(net_track.param("lip_press"), rules_track.param("lip_press"))
    values = _shut(values, press)
    return MouthTrack(fps=net_track.fps, values=np.clip(values, 0.0, 1.0).astype(np.float32))


def track_from_audio(audio: np.ndarray, sample_rate_hz: int, duration_s: float, fps: float,
                     checkpoint: Path = CHECKPOINT) -> MouthTrack:
    """Mouth articulation per video frame from audio alone (no transcript needed).

    n_frames = int(round(duration_s * fps)); frame i covers [i / fps, (i + 1) / fps).
    """
    n_frames = frame_count(duration_s, fps)
    audio_16k = resample(audio, sample_rate_hz)
    n_mel = n_mel_frames(duration_s)
    raw = predict(log_mel(audio_16k, n_mel), checkpoint)
    values = to_video_frames(raw, n_frames, fps)
    level = to_video_frames(frame_level_db(audio_16k, n_mel)[:, None], n_frames, fps, ())[:, 0]
    return MouthTrack(fps=fps, values=clean(values, speech_gate(level, fps)))
