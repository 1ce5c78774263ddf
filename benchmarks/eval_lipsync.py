"""Lip-sync measurements of the mouth drivers (issue 3); results go in checkpoints/MODEL_CARD.md.

    python benchmarks/eval_lipsync.py [--synthetic 30] [--no-render] [--json out.json] [--plots DIR]

1. Held-out synthetic speech: Piper utterances from a seed the training never used, clean and
   augmented; the network (audio only) against the rule targets on Piper's exact phones:
   mean absolute error per parameter, r of the mouth opening, closures, silences. Beside it,
   the timing stage on the same clean audio (Whisper + forced alignment, as for a narration):
   its phone boundaries against Piper's exact ones (signed: negative = aligned earlier) and
   the rules track's opening on aligned phones against the one on exact phones (r, best lag);
   and the rules track's own closures and open frames in long silences on exact phones.
2. Real speech with transcripts (../shared/eval/speech): the network against rule targets
   from forced alignment of the transcript (`pipeline.timing.align`); for the speechbrain
   clips also against targets from the hand-marked TIMIT phone boundaries in the annotation
   JSON. Beside it, the loudness-envelope mouth.
3. Real talking-face videos (../shared/eval/video): mouth aperture measured with FaceMesh in
   the real video, against (a) our tracks' mouth opening directly and (b) the aperture
   measured the same way in a video rendered from the real video's own audio and first
   frame (`pipeline.render`), per mouth driver: Pearson r at zero lag and the best lag
   within +-300 ms, closures and silences in the rendered pixels. The forced alignment is
   checked against the real face too: the share of aligned p/b/m during which the real lips
   close, beside the same share for the other speech phones (what misplaced ones would get),
   and the silence rule is applied to the real face (its own open frames in long silences).
   `--plots DIR` draws real and rendered aperture against time, phones and words marked.
4. Every real recording (../shared/eval/speech, up to 20 s) rendered onto two still portraits
   with the pipeline as for a narration (no transcript given), measured in the pixels against
   phones force-aligned to its own transcript: p/b/m closed, open frames in long silences,
   r0 and best lag against the rules opening on those phones (voices beyond the two videos).
Aperture (issue 3): mean inner-lip gap of landmark pairs 13-14, 82-87, 312-317 over the
outer eye-corner distance 33-263; FaceMesh with refine_landmarks in video mode; time zero
is the start of the audio; both series resampled to 100 Hz.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # training/ beside the package

from pipeline import mouth  # noqa: E402
from pipeline.mouth import net  # noqa: E402
from pipeline.types import ARTICULATION, SILENCE, MouthTrack, Phone, Speech  # noqa: E402

EVAL = REPO.parent / "shared" / "eval"
FPS = 30.0
SYNTHETIC_SEED = 90_001             # training uses small seeds; this set is never trained on
CLOSED_APERTURE = 0.03              # issue 3: lips closed below this aperture
CLOSED_OPENING = 0.03               # the same threshold on a track's mouth_opening
LONG_SILENCE_S = 0.5
SERIES_HZ = 100.0
MAX_LAG_S = 0.3
BILABIALS = ("P", "B", "M")
DRIVERS = ("net", "rules", "fusion", "envelope")
# Part 4: every real voice rendered onto still portraits (one smiling with teeth, which the
# renderer must close first; one with closed lips), the way a narration is rendered.
VOICE_PORTRAITS = ("facerec_obama.jpg", "liveportrait_d30_hand_on_chin.jpg")
VOICE_MAX_S = 20.0                  # longer recordings (the 60 s one) add time, not voices

# TIMIT labels (speechbrain annotation) -> ARPAbet; closures merge into the stop after them.
TIMIT = {"ax": "AH", "ax-h": "AH", "axr": "ER", "ix": "IH", "ux": "UW", "dx": "D", "nx": "N",
         "en": "N", "em": "M", "eng": "NG", "el": "L", "hv": "HH", "q": "T"}
TIMIT_CLOSURES = {"cl", "vcl", "pcl", "bcl", "tcl", "dcl", "kcl", "gcl"}
TIMIT_SILENCES = {"sil", "h#", "pau", "epi"}
STOPS = {"P", "B", "T", "D", "K", "G", "CH", "JH"}


# ----------------------------------------------------------------------------- measures

def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 3 or a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def lagged_r(reference: np.ndarray, test: np.ndarray, rate_hz: float = SERIES_HZ,
             max_lag_s: float = MAX_LAG_S) -> tuple[float, float, float]:
    """(r at zero lag, best r, its lag in s); positive lag: test comes later than reference."""
    n = min(len(reference), len(test))
    reference, test = reference[:n], test[:n]
    best_r, best_lag = -np.inf, 0.0
    for k in range(-int(max_lag_s * rate_hz), int(max_lag_s * rate_hz) + 1):
        r = pearson(reference[: n - k], test[k:]) if k >= 0 else pearson(reference[-k:], test[: n + k])
        if np.isfinite(r) and r > best_r:
            best_r, best_lag = r, k / rate_hz
    return pearson(reference, test), float(best_r), best_lag


def middle_frames(phones: list[Phone], labels: tuple[str, ...], times_s: np.ndarray) -> np.ndarray:
    """Indices of frames whose time lies in the middle half of a phone with one of labels."""
    hit = np.zeros(len(times_s), dtype=bool)
    for p in phones:
        if p.label in labels:
            q = 0.25 * p.duration_s
            hit |= (times_s >= p.start_s + q) & (times_s < p.end_s - q)
    return np.flatnonzero(hit)


def silence_frames(phones: list[Phone], times_s: np.ndarray, duration_s: float) -> np.ndarray:
    """Frames inside silences longer than LONG_SILENCE_S (gaps between phones count)."""
    spans, cursor = [], 0.0
    for p in sorted(phones, key=lambda p: p.start_s):
        if p.label == SILENCE:
            continue
        if p.start_s - cursor > LONG_SILENCE_S:
            spans.append((cursor, p.start_s))
        cursor = max(cursor, p.end_s)
    if duration_s - cursor > LONG_SILENCE_S:
        spans.append((cursor, duration_s))
    hit = np.zeros(len(times_s), dtype=bool)
    for lo, hi in spans:
        hit |= (times_s >= lo) & (times_s < hi)
    return np.flatnonzero(hit)


def compare_tracks(test: MouthTrack, target: MouthTrack, phones: list[Phone]) -> dict:
    """Per-parameter MAE, opening r, closures and open frames in long silences."""
    n = min(len(test), len(target))
    err = np.abs(test.values[:n] - target.values[:n])
    opening, target_opening = mouth.mouth_opening(test)[:n], mouth.mouth_opening(target)[:n]
    centres = (np.arange(n) + 0.5) / test.fps
    closures = middle_frames(phones, BILABIALS, centres)
    silences = silence_frames(phones, centres, n / test.fps)
    return {
        "mae": {name: float(err[:, k].mean()) for k, name in enumerate(ARTICULATION)},
        "mae_mean": float(err.mean()),
        "opening_r": pearson(opening, target_opening),
        "closed_in_pbm": float(np.mean(opening[closures] < CLOSED_OPENING)) if len(closures) else None,
        "pbm_frames": int(len(closures)),
        "open_in_silence": int(np.sum(opening[silences] >= CLOSED_OPENING)),
        "silence_frames": int(len(silences)),
    }


def mean_of(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if r.get(key) is not None and np.isfinite(r[key])]
    return float(np.mean(values)) if values else float("nan")


def mae_table(rows: list[dict]) -> dict[str, float]:
    return {name: float(np.mean([r["mae"][name] for r in rows])) for name in ARTICULATION}


# ----------------------------------------------------------------------------- 1. synthetic

def boundary_offsets_s(exact: list[Phone], aligned: list[Phone]) -> list[float]:
    """aligned - exact for the end of every phone whose label and the next one's both line up."""
    from difflib import SequenceMatcher

    a = [p.label for p in exact]
    b = [p.label for p in aligned]
    out = []
    for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for k in range(block.size - 1):
            out.append(aligned[block.b + k].end_s - exact[block.a + k].end_s)
    return out


def alignment_vs_exact(audio_16k: np.ndarray, text: str, exact: list[Phone], duration_s: float) -> dict:
    """The timing stage on TTS audio (as if it were a narration) against the TTS's own phones."""
    from pipeline import timing

    speech = Speech(audio=audio_16k, sample_rate_hz=net.SAMPLE_RATE_HZ)
    aligned = timing.align(speech, text.split()).phones
    offsets = boundary_offsets_s(exact, aligned)
    exact_series = mouth.mouth_opening(mouth.track(exact, duration_s, FPS))
    aligned_series = mouth.mouth_opening(mouth.track(aligned, duration_s, FPS))
    grid = np.arange(len(exact_series)) / FPS
    r0, best, lag = lagged_r(to_series(grid, exact_series, duration_s),
                             to_series(grid, aligned_series, duration_s))
    return {"offsets_s": offsets, "r0": r0, "best_r": best, "best_lag_s": lag}


def synthetic(n_utterances: int) -> dict:
    from training import augment, corpus, texts

    # "rules": the rule targets against themselves, for their own closures and silences
    rows: dict[str, list[dict]] = {"clean": [], "augmented": [], "rules": []}
    alignment: list[dict] = []
    voice = corpus.seeded_voice(float(SYNTHETIC_SEED))  # Piper's noise seeded too: same clips every run
    for i, text in enumerate(texts.texts(n_utterances, SYNTHETIC_SEED)):
        rng = np.random.default_rng([SYNTHETIC_SEED, i])
        utt = corpus.synthesize(voice, text, rng)
        target = mouth.track(utt.phones, utt.duration_s, FPS)
        rows["rules"].append(compare_tracks(target, target, utt.phones))
        alignment.append(alignment_vs_exact(utt.audio_16k, text, utt.phones, utt.duration_s))
        try:
            noisy = augment.augment(utt.audio_16k, rng)
        except ImportError:   # pyworld (train extra) missing: room and channel only
            noisy = augment.augment(utt.audio_16k, rng, p_voice=0.0)
        for kind, audio in (("clean", utt.audio_16k), ("augmented", noisy)):
            test = net.track_from_audio(audio, net.SAMPLE_RATE_HZ, utt.duration_s, FPS)
            rows[kind].append(compare_tracks(test, target, utt.phones))
    offsets = np.concatenate([a["offsets_s"] for a in alignment] or [np.zeros(0)])
    return {kind: summarize(r) for kind, r in rows.items()} | {"alignment": {
        "clips": len(alignment), "boundaries": int(len(offsets)),
        "offset_median_s": float(np.median(offsets)) if len(offsets) else None,
        "offset_mean_s": float(np.mean(offsets)) if len(offsets) else None,
        "abs_error_median_s": float(np.median(np.abs(offsets))) if len(offsets) else None,
        "r0": mean_of(alignment, "r0"), "best_r": mean_of(alignment, "best_r"),
        "best_lag_s": [a["best_lag_s"] for a in alignment],
        "best_lag_median_s": float(np.median([a["best_lag_s"] for a in alignment])) if alignment else None,
    }}


def summarize(rows: list[dict]) -> dict:
    pbm = sum(r["pbm_frames"] for r in rows)
    closed = sum((r["closed_in_pbm"] or 0.0) * r["pbm_frames"] for r in rows)
    return {
        "clips": len(rows), "mae": mae_table(rows),
        "mae_mean": float(np.mean([r["mae_mean"] for r in rows])),
        "opening_r": mean_of(rows, "opening_r"),
        "closed_in_pbm": closed / pbm if pbm else None,
        "open_in_silence": int(sum(r["open_in_silence"] for r in rows)),
        "silence_frames": int(sum(r["silence_frames"] for r in rows)),
    }


# ----------------------------------------------------------------------------- 2. real speech

def speech_clips() -> list[tuple[str, Path, str]]:
    folder = EVAL / "speech"
    out = []
    for audio in sorted(folder.glob("*.wav")) + sorted(folder.glob("*.flac")):
        transcript = audio.with_suffix(".txt")
        if transcript.exists():
            out.append((audio.stem, audio, transcript.read_text().strip()))
    return out


def timit_phones(labels: list[str], ends: list[int], sample_rate_hz: int) -> list[Phone]:
    phones, start = [], 0
    pending_closure = None
    for label, end in zip(labels, ends, strict=True):
        if label in TIMIT_CLOSURES:
            pending_closure = start
            start = end
            continue
        arpabet = SILENCE if label in TIMIT_SILENCES else TIMIT.get(label, label.upper())
        begin = start
        if pending_closure is not None:
            if arpabet in STOPS:
                begin = pending_closure          # the closure is the stop's own articulation
            else:
                phones.append(Phone(SILENCE, pending_closure / sample_rate_hz, start / sample_rate_hz))
            pending_closure = None
        phones.append(Phone(arpabet, begin / sample_rate_hz, end / sample_rate_hz))
        start = end
    return phones


def hand_marked() -> dict[str, list[Phone]]:
    out = {}
    for name in ("speechbrain_ASR_train.json", "speechbrain_ASR_dev.json"):
        path = EVAL / "speech" / name
        if not path.exists():
            continue
        for key, entry in json.loads(path.read_text()).items():
            if "ground_truth_phn_ends" in entry:
                out[f"speechbrain_{key}"] = timit_phones(
                    entry["phn"].split(), [int(x) for x in entry["ground_truth_phn_ends"].split()], 16000)
    return out


def real_speech() -> dict:
    from pipeline import timing
    from pipeline.video.probe import read_audio

    marked = hand_marked()
    rows, hand_rows, envelope_rows = [], [], []
    for name, path, text in speech_clips():
        audio = read_audio(path, net.SAMPLE_RATE_HZ)
        duration_s = len(audio) / net.SAMPLE_RATE_HZ
        speech = Speech(audio=audio, sample_rate_hz=net.SAMPLE_RATE_HZ, text=text)
        phones = timing.align(speech, text.split()).phones
        target = mouth.track(phones, duration_s, FPS)
        test = net.track_from_audio(audio, net.SAMPLE_RATE_HZ, duration_s, FPS)
        envelope = mouth.from_envelope(audio, net.SAMPLE_RATE_HZ, duration_s, FPS)
        row = compare_tracks(test, target, phones) | {"clip": name}
        envelope_rows.append(compare_tracks(envelope, target, phones) | {"clip": name})
        rows.append(row)
        if name in marked:
            hand_target = mouth.track(marked[name], duration_s, FPS)
            hand_rows.append(compare_tracks(test, hand_target, marked[name]) | {"clip": name})
        print(f"  {name}: net MAE {row['mae_mean']:.3f}, opening r {row['opening_r']:.2f} "
              f"(envelope r {envelope_rows[-1]['opening_r']:.2f})", flush=True)
    return {"forced_alignment": summarize(rows) | {"per_clip": rows},
            "envelope_vs_forced_alignment": summarize(envelope_rows),
            "hand_marked": summarize(hand_rows) | {"per_clip": hand_rows} if hand_rows else None}


# ----------------------------------------------------------------------------- 3. real video

def frame_times_s(path: Path) -> np.ndarray:
    """Presentation time of every video frame (variable frame rate clips exist)."""
    from imageio_ffmpeg import get_ffmpeg_exe

    cmd = [get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:v:0",
           "-vf", "showinfo", "-fps_mode", "passthrough", "-f", "null", "-"]
    log = subprocess.run(cmd, capture_output=True, text=True).stderr
    return np.array([float(t) for t in re.findall(r"pts_time:\s*([-0-9.]+)", log)])


def audio_start_s(path: Path) -> float:
    """Start time of the audio stream: time zero for both series."""
    from imageio_ffmpeg import get_ffmpeg_exe

    cmd = [get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0",
           "-af", "ashowinfo", "-t", "0.1", "-f", "null", "-"]
    log = subprocess.run(cmd, capture_output=True, text=True).stderr
    found = re.search(r"pts_time:\s*([-0-9.]+)", log)
    return float(found.group(1)) if found else 0.0


def apertures(frames) -> np.ndarray:
    """FaceMesh (refine_landmarks, video mode) mouth aperture per frame; NaN where no face."""
    import mediapipe as mp

    from pipeline.face.landmarks import mouth_aperture

    out = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                         refine_landmarks=True) as mesh:
        for frame in frames:
            result = mesh.process(frame)
            if not result.multi_face_landmarks:
                out.append(np.nan)
                continue
            h, w = frame.shape[:2]
            points = np.array([(p.x * w, p.y * h, p.z * w) for p in result.multi_face_landmarks[0].landmark])
            out.append(mouth_aperture(points))
    return np.array(out)


def real_closures(phones: list[Phone], times_s: np.ndarray, real: np.ndarray) -> dict:
    """Does the real face close its lips where the alignment put p, b and m?

    A phone counts as closed when the real aperture is below CLOSED_APERTURE in any real frame
    shown during it (a frame lasts until the next one starts; real clips run at 25-30 fps, so
    a short /p/ may hold one frame). Beside it the same share for every other speech phone:
    what a misplaced p/b/m would score.
    """
    found = np.isfinite(real)
    ends = np.append(times_s[1:], times_s[-1] + np.median(np.diff(times_s)))
    shown: dict[str, list[bool]] = {"pbm": [], "other": []}
    for p in phones:
        if p.label == SILENCE:
            continue
        during = found & (times_s < p.end_s) & (ends > p.start_s)
        if during.any():
            kind = "pbm" if p.label in BILABIALS else "other"
            shown[kind].append(bool(np.min(real[during]) < CLOSED_APERTURE))
    return {"real_pbm_phones": len(shown["pbm"]),
            "real_closed_in_pbm": float(np.mean(shown["pbm"])) if shown["pbm"] else None,
            "real_closed_in_other": float(np.mean(shown["other"])) if shown["other"] else None,
            "phones": [(p.label, round(p.start_s, 3), round(p.end_s, 3)) for p in phones]}


def real_silences(phones: list[Phone], times_s: np.ndarray, real: np.ndarray,
                  duration_s: float) -> dict:
    """The silence rule applied to the real face: its open frames in silences over 0.5 s.

    Real speakers part their lips before a phrase (and some close slowly after one), so this
    is the reference for the rendered count, not zero.
    """
    step_s = float(np.median(np.diff(times_s))) if len(times_s) > 1 else 1.0 / FPS
    centres = times_s + 0.5 * step_s
    silences = silence_frames(phones, centres, duration_s)
    silences = silences[np.isfinite(real[silences])]
    return {"real_open_in_silence": int(np.sum(real[silences] >= CLOSED_APERTURE)),
            "real_silence_frames": int(len(silences))}


def to_series(times_s: np.ndarray, values: np.ndarray, duration_s: float) -> np.ndarray:
    keep = np.isfinite(values)
    grid = np.arange(0.0, duration_s, 1.0 / SERIES_HZ)
    return np.interp(grid, times_s[keep], values[keep])


def real_video(render: bool, drivers: tuple[str, ...] = DRIVERS) -> dict:
    from pipeline import timing
    from pipeline.video.probe import read_audio, read_frames

    results = {}
    for path in sorted((EVAL / "video").glob("*.mp4")):
        audio = read_audio(path, net.SAMPLE_RATE_HZ)
        duration_s = len(audio) / net.SAMPLE_RATE_HZ
        zero_s = audio_start_s(path)
        frames = list(read_frames(path))
        times_s = frame_times_s(path)[: len(frames)] - zero_s
        real = apertures(frames)
        reference = to_series(times_s, real, duration_s)
        speech = Speech(audio=audio, sample_rate_hz=net.SAMPLE_RATE_HZ)
        times = timing.align(speech, None)
        phones = times.phones
        entry = {"frames": len(frames), "duration_s": duration_s,
                 "real_aperture_std": float(np.nanstd(real)), "tracks": {}, "rendered": {},
                 "real_series": reference.tolist()}
        entry |= real_closures(phones, times_s, real)
        entry["words"] = [(w.text, round(w.start_s, 3), round(w.end_s, 3)) for w in times.words]
        entry |= real_silences(phones, times_s, real, duration_s)
        tracks = {
            "net": net.track_from_audio(audio, net.SAMPLE_RATE_HZ, duration_s, FPS),
            "rules": mouth.track(phones, duration_s, FPS),
            "envelope": mouth.from_envelope(audio, net.SAMPLE_RATE_HZ, duration_s, FPS),
        }
        tracks["fusion"] = net.fuse(tracks["net"], tracks["rules"])
        for name, track in tracks.items():
            # track frame i is shown from i / fps: that is when the face shows it
            series = to_series(np.arange(len(track)) / FPS, mouth.mouth_opening(track), duration_s)
            r0, best, lag = lagged_r(reference, series)
            entry["tracks"][name] = {"r0": r0, "best_r": best, "best_lag_s": lag}
        if render:
            entry["rendered"] = render_and_measure(frames[0], audio, times,
                                                   {d: tracks[d] for d in drivers}, reference, duration_s)
        results[path.stem] = entry
        print(f"  {path.stem}: real lips close during {entry['real_closed_in_pbm'] or 0:.0%} of "
              f"{entry['real_pbm_phones']} aligned p/b/m (during {entry['real_closed_in_other'] or 0:.0%}"
              " of the other speech phones); the real mouth is open in "
              f"{entry['real_open_in_silence']} of its {entry['real_silence_frames']} frames in "
              f"silences over {LONG_SILENCE_S:g} s", flush=True)
        print(f"  {path.stem}: " + ", ".join(
            f"{k} r0 {v['r0']:+.2f} (best {v['best_r']:+.2f} at {v['best_lag_s'] * 1000:+.0f} ms)"
            for k, v in entry["tracks"].items()), flush=True)
        for name, v in entry["rendered"].items():
            print(f"    rendered {name}: " + str({k: x for k, x in v.items() if k != "series"}),
                  flush=True)
    return results


def direct_frames(first_frame: np.ndarray, track: MouthTrack, times, duration_s: float):
    """The renderer's frames for a given mouth track, as `pipeline.render` would draw them
    (same portrait analysis, layout and idle motion), for drivers the CLI does not offer yet."""
    from pipeline import face, motion
    from pipeline.animate import frames
    from pipeline.config import RenderConfig
    from pipeline.video.layout import plan_layout

    config = RenderConfig()
    portrait = face.analyze(first_frame)
    layout = plan_layout(portrait, *config.video.size_px)
    motion_track = motion.idle(duration_s, FPS, seed=config.motion.seed, words=times.words,
                               sentences=times.sentences, style=config.motion.style)
    return frames(portrait, layout, track, motion_track)


def render_and_measure(first_frame: np.ndarray, audio: np.ndarray, times, tracks: dict[str, MouthTrack],
                       reference: np.ndarray, duration_s: float) -> dict:
    """Render from the video's own audio and first frame with each mouth driver; measure pixels.

    Drivers the pipeline offers are rendered with `pipeline.render` (encoded MP4, decoded
    again); the others go through the same renderer directly with their track.
    """
    import wave

    from PIL import Image

    from pipeline.api import render
    from pipeline.config import MOUTH_DRIVERS, RenderConfig
    from pipeline.video.probe import read_frames

    out = {}
    with tempfile.TemporaryDirectory(prefix="lipsync-") as work:
        work_dir = Path(work)
        photo = work_dir / "first_frame.png"
        Image.fromarray(first_frame).save(photo)
        wav = work_dir / "audio.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(net.SAMPLE_RATE_HZ)
            w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
        for driver in tracks:
            try:
                if driver in MOUTH_DRIVERS:
                    video = work_dir / f"{driver}.mp4"
                    render(photo, video, audio=wav, config=RenderConfig(mouth=driver, quiet=True))
                    rendered, how = apertures(read_frames(video)), "pipeline.render"
                else:
                    rendered = apertures(direct_frames(first_frame, tracks[driver], times, duration_s))
                    how = "renderer frames (driver not in pipeline.config yet)"
            except Exception as error:  # the pipeline is being integrated: say why, go on
                out[driver] = {"skipped": f"render failed: {type(error).__name__}: {error}"}
                continue
            times_s = np.arange(len(rendered)) / FPS
            series = to_series(times_s, rendered, duration_s)
            r0, best, lag = lagged_r(reference, series)
            closures = middle_frames(times.phones, BILABIALS, times_s + 0.5 / FPS)
            silences = silence_frames(times.phones, times_s + 0.5 / FPS, duration_s)
            out[driver] = {
                "r0": r0, "best_r": best, "best_lag_s": lag,
                "closed_in_pbm": (float(np.mean(rendered[closures] < CLOSED_APERTURE))
                                  if len(closures) else None),
                "open_in_silence": int(np.sum(rendered[silences] >= CLOSED_APERTURE)),
                "aperture_std": float(np.nanstd(rendered)), "how": how,
                "series": series.tolist(),   # 100 Hz from time zero, for plots beside real_series
            }
    return out


# ----------------------------------------------------------------------------- report

def rendered_voices(driver: str = "rules") -> dict:
    """Each real recording rendered onto each VOICE_PORTRAITS photo with `avatar render --audio`
    (no transcript: Whisper's words, as for a user's narration), measured in the pixels against
    phones force-aligned to the recording's own transcript, which the render never saw:
    p/b/m closed, open frames in long silences, and r / best lag of the rendered aperture
    against the rules opening on those phones. No real face here: this is the closure and
    timing part of issue 3 on voices beyond the two videos."""
    from pipeline import timing
    from pipeline.api import render
    from pipeline.config import CaptionConfig, RenderConfig
    from pipeline.video.probe import read_audio, read_frames

    rows = []
    with tempfile.TemporaryDirectory(prefix="voices-") as work:
        for name, path, text in speech_clips():
            audio = read_audio(path, net.SAMPLE_RATE_HZ)
            duration_s = len(audio) / net.SAMPLE_RATE_HZ
            if duration_s > VOICE_MAX_S:
                continue
            speech = Speech(audio=audio, sample_rate_hz=net.SAMPLE_RATE_HZ, text=text)
            phones = timing.align(speech, text.split()).phones
            reference = to_series(np.arange(int(round(duration_s * FPS))) / FPS,
                                  mouth.mouth_opening(mouth.track(phones, duration_s, FPS)), duration_s)
            for portrait in VOICE_PORTRAITS:
                video = Path(work) / f"{name}.mp4"
                render(EVAL / "portraits" / portrait, video, audio=path,
                       config=RenderConfig(mouth=driver, quiet=True,
                                           captions=CaptionConfig(enabled=False, sidecars=False)))
                rendered = apertures(read_frames(video))
                centres = (np.arange(len(rendered)) + 0.5) / FPS
                closures = middle_frames(phones, BILABIALS, centres)
                silences = silence_frames(phones, centres, duration_s)
                r0, best, lag = lagged_r(reference,
                                         to_series(np.arange(len(rendered)) / FPS, rendered, duration_s))
                row = {"clip": name, "portrait": Path(portrait).stem, "r0": r0, "best_r": best,
                       "best_lag_s": lag, "pbm_frames": int(len(closures)),
                       "closed_in_pbm": (float(np.mean(rendered[closures] < CLOSED_APERTURE))
                                         if len(closures) else None),
                       "open_in_silence": int(np.sum(rendered[silences] >= CLOSED_APERTURE)),
                       "silence_frames": int(len(silences)),
                       "faces_lost": int(np.isnan(rendered).sum())}
                rows.append(row)
                pbm = "-" if row["closed_in_pbm"] is None else f"{row['closed_in_pbm']:.0%}"
                print(f"  {name} on {row['portrait']}: r0 {r0:+.2f} (best {best:+.2f} at "
                      f"{lag * 1000:+.0f} ms), p/b/m closed {pbm} of {row['pbm_frames']}, open in "
                      f"silences {row['open_in_silence']}/{row['silence_frames']}", flush=True)
    pbm_rows = [r for r in rows if r["closed_in_pbm"] is not None]
    return {"driver": driver, "per_clip": rows,
            "r0_mean": float(np.mean([r["r0"] for r in rows])) if rows else None,
            "r0_min": float(np.min([r["r0"] for r in rows])) if rows else None,
            "best_lag_abs_max_s": float(np.max([abs(r["best_lag_s"]) for r in rows])) if rows else None,
            "closed_in_pbm": (float(sum(r["closed_in_pbm"] * r["pbm_frames"] for r in pbm_rows)
                                    / sum(r["pbm_frames"] for r in pbm_rows)) if pbm_rows else None),
            "open_in_silence": int(sum(r["open_in_silence"] for r in rows)),
            "silence_frames": int(sum(r["silence_frames"] for r in rows))}


def plot_video(name: str, entry: dict, folder: Path) -> Path:
    """Real and rendered aperture against time, phones and words marked: where they disagree."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid_s = np.arange(len(entry["real_series"])) / SERIES_HZ
    fig, ax = plt.subplots(figsize=(max(12.0, 4.0 * entry["duration_s"]), 4.5))
    ax.plot(grid_s, entry["real_series"], "k", lw=1.5, label="real")
    for driver, m in entry["rendered"].items():
        if "series" in m:
            ax.plot(grid_s[: len(m["series"])], m["series"], lw=1,
                    label=f"rendered {driver} (r0 {m['r0']:+.2f})")
    top = max([np.max(entry["real_series"]), 0.05]
              + [np.max(m["series"]) for m in entry["rendered"].values() if m.get("series")])
    for label, start_s, end_s in entry["phones"]:
        ax.axvline(start_s, color="0.85", lw=0.5)
        if label != SILENCE:
            ax.text(0.5 * (start_s + end_s), 1.05 * top, label, ha="center", fontsize=6,
                    color="C3" if label in BILABIALS else "0.3")
    for word, start_s, end_s in entry.get("words", []):
        ax.text(0.5 * (start_s + end_s), 1.12 * top, word, ha="center", fontsize=8)
    ax.axhline(CLOSED_APERTURE, color="C2", ls=":", lw=0.8)
    ax.set(xlabel="s from the start of the audio", ylabel="aperture (/ eye-corner distance)",
           ylim=(0, 1.2 * top), title=name)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.png"
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def print_mae(title: str, summary: dict) -> None:
    print(f"\n{title}: {summary['clips']} clips, mean MAE {summary['mae_mean']:.3f}, "
          f"opening r {summary['opening_r']:.2f}, p/b/m closed {summary['closed_in_pbm']}, "
          f"open frames in long silences {summary['open_in_silence']}/{summary['silence_frames']}")
    print("| " + " | ".join(ARTICULATION) + " |")
    print("|" + "---|" * len(ARTICULATION))
    print("| " + " | ".join(f"{summary['mae'][n]:.3f}" for n in ARTICULATION) + " |")


def print_video(videos: dict) -> None:
    """r0 / best r @ lag per video and driver, for tracks and rendered pixels."""
    for kind in ("tracks", "rendered"):
        rows = {name: v[kind] for name, v in videos.items() if v.get(kind)}
        if not rows:
            continue
        print(f"\n{kind}: r0 / best r @ lag (ms); rendered also p/b/m closed, open frames in silence")
        print("| video | " + " | ".join(DRIVERS) + " |")
        print("|---|" + "---|" * len(DRIVERS))
        for name, entry in rows.items():
            cells = []
            for driver in DRIVERS:
                m = entry.get(driver, {})
                if "r0" not in m:
                    cells.append("-")
                    continue
                cell = f"{m['r0']:+.2f} / {m['best_r']:+.2f} @ {m['best_lag_s'] * 1000:+.0f}"
                if "closed_in_pbm" in m:
                    closed = "-" if m["closed_in_pbm"] is None else f"{m['closed_in_pbm']:.0%}"
                    cell += f", {closed}, {m['open_in_silence']}"
                cells.append(cell)
            print(f"| {name} | " + " | ".join(cells) + " |")
        means = [np.mean([e[d]["r0"] for e in rows.values() if "r0" in e.get(d, {})] or [np.nan])
                 for d in DRIVERS]
        print("| mean r0 | " + " | ".join(f"{m:+.2f}" for m in means) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic", type=int, default=30, help="held-out synthetic utterances")
    parser.add_argument("--no-render", action="store_true", help="skip rendering videos")
    parser.add_argument("--parts", default="synthetic,speech,video,voices", help="comma-separated subset")
    parser.add_argument("--json", type=Path, default=None, help="write all results here")
    parser.add_argument("--render-drivers", default=",".join(DRIVERS),
                        help="drivers to render (the slow part; net,fusion after retraining)")
    parser.add_argument("--plots", type=Path, default=None,
                        help="folder for one PNG per real video: real vs rendered aperture, phones")
    args = parser.parse_args()

    parts = set(args.parts.split(","))
    results: dict = {}
    if "synthetic" in parts:
        print("1. held-out synthetic speech", flush=True)
        results["synthetic"] = synthetic(args.synthetic)
        for kind in ("clean", "augmented"):
            print_mae(f"synthetic, {kind}", results["synthetic"][kind])
        rules = results["synthetic"]["rules"]
        print(f"\nrules on exact phones: p/b/m closed {rules['closed_in_pbm']:.0%}, open frames in "
              f"long silences {rules['open_in_silence']}/{rules['silence_frames']}")
        a = results["synthetic"]["alignment"]
        print(f"\ntiming stage on clean synthetic audio vs Piper's exact phones ({a['clips']} clips, "
              f"{a['boundaries']} boundaries): offset median {a['offset_median_s'] * 1000:+.0f} ms, "
              f"mean {a['offset_mean_s'] * 1000:+.0f} ms, |error| median "
              f"{a['abs_error_median_s'] * 1000:.0f} ms; rules opening r0 {a['r0']:+.2f}, "
              f"best {a['best_r']:+.2f}, best lag median {a['best_lag_median_s'] * 1000:+.0f} ms")
    if not EVAL.exists():
        print(f"\n{EVAL} not present: real speech and video skipped")
        parts -= {"speech", "video", "voices"}
    if "speech" in parts:
        print("\n2. real speech with transcripts", flush=True)
        results["real_speech"] = real_speech()
        print_mae("real speech vs forced alignment", results["real_speech"]["forced_alignment"])
        print_mae("loudness envelope vs forced alignment",
                  results["real_speech"]["envelope_vs_forced_alignment"])
        if results["real_speech"]["hand_marked"]:
            print_mae("real speech vs hand-marked phones", results["real_speech"]["hand_marked"])
    if "video" in parts:
        print("\n3. real talking-face videos", flush=True)
        drivers = tuple(d for d in DRIVERS if d in args.render_drivers.split(","))
        results["real_video"] = real_video(render=not args.no_render, drivers=drivers)
        print_video(results["real_video"])
        if args.plots:
            for name, entry in results["real_video"].items():
                print(f"plot: {plot_video(name, entry, args.plots)}")
    if "voices" in parts:
        print("\n4. every real voice rendered onto still portraits (rules, as for a narration)", flush=True)
        v = results["rendered_voices"] = rendered_voices()
        if v["per_clip"]:
            print(f"\nvoices: r0 mean {v['r0_mean']:+.2f}, min {v['r0_min']:+.2f}; best lag within "
                  f"{v['best_lag_abs_max_s'] * 1000:.0f} ms; p/b/m closed {v['closed_in_pbm']:.0%}; open "
                  f"frames in long silences {v['open_in_silence']}/{v['silence_frames']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
