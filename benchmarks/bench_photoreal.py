"""Photoreal-motion measures (issue 4), taken from the output pixels of real renders.

For every portrait in ../shared/eval/portraits plus examples/selfie.png, render a ~10 s clip
from a real recording (1:1, no captions) and measure, per output frame:

- identity: dlib face-descriptor distance to the photo on every frame, its max over all
  frames and over the frames with the eyes open;
- background: mean absolute grey change between consecutive frames outside a generous
  head+hair+neck mask (from the first frame's landmarks), and in the ring just outside it;
- blinks: eye aspect ratio from FaceMesh -> blink events, rate per minute, durations;
- face found: FaceMesh run from scratch (static mode) on every frame.

A longer clip (60 s) on LONG_CLIP_PORTRAITS gives the blink rate with more events. A contact
sheet per portrait (photo, mouth closed, mouth open, deepest blink, head turned most) goes
to out/photoreal/. The eval's real recordings (../shared/eval/video) give the identity measure
between real frames around their blinks, and from each real frame to the recording's
first one, for scale. Results: benchmarks/photoreal_results.json.

    nice -n 10 python benchmarks/bench_photoreal.py [--only selfie,facerec_obama] [--no-long]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import face, motion  # noqa: E402
from pipeline.api import render  # noqa: E402
from pipeline.config import CaptionConfig, MotionConfig, RenderConfig, VideoConfig  # noqa: E402
from pipeline.face import landmarks as lm  # noqa: E402
from pipeline.face.detect import find_faces, quiet_native_logs  # noqa: E402
from pipeline.face.photo import load_photo  # noqa: E402
from pipeline.types import MOTION  # noqa: E402
from pipeline.video.layout import plan_layout  # noqa: E402
from pipeline.video.probe import probe, read_frames  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
PORTRAITS_DIR = EVAL / "portraits"
SELFIE = ROOT / "examples" / "selfie.png"
SHORT_CLIP = EVAL / "speech" / "ljspeech_LJ001-0001.wav"     # 9.7 s of read speech
LONG_CLIP = EVAL / "speech" / "musetalk_eng_60s.wav"          # 60 s, for the blink rate
LONG_CLIP_PORTRAITS = ("selfie", "facerec_obama")
REAL_VIDEOS = EVAL / "video"                                  # real recordings: what a blink costs
REAL_BLINK_LAG_FRAMES = 5     # a blink's deepest frame vs this many frames before it (eyes open)
OUT_DIR = ROOT / "out" / "photoreal"
RESULTS_PATH = ROOT / "benchmarks" / "photoreal_results.json"
ASPECT = "1:1"
SEED = 0

# Targets from issue 4.
IDENTITY_MAX_TARGET = 0.35
BACKGROUND_TARGET_GREY = 1.0
BLINK_RATE_TARGET_PER_MIN = (15.0, 26.0)
BLINK_DURATION_TARGET_MS = (100.0, 400.0)

IDENTITY_EVERY_N = 1          # the target is on every frame: a blink's deepest frame is one
IDENTITY_EVERY_N_LONG = 1     # (dlib descriptors are the slow part: ~0.15 s a frame)
EYES_OPEN_CLOSURE = 0.2       # frames whose eye closure is under this count as eyes open
MESH_CROP_PX = 384            # FaceMesh input: the head crop resized to this square
CROP_MARGIN_FACE = 0.9        # measuring crop beyond the face box, in face widths
DLIB_MAX_SIDE_PX = 640        # dlib's HOG detector input, downscaled from the crop
# Head mask: the face oval grown to take hair, ears and neck, then dilated (face widths).
MASK_GROW_X = 1.45            # oval width scale about its centre (ears, side hair)
MASK_HAIR_FACE = 0.55         # above the forehead landmark
MASK_NECK_FACE = 0.6          # neck below the chin
MASK_DILATE_FACE = 0.1
RING_FACE = 0.25              # the band just outside the mask, where halos would show
# Blink events from the eye aspect ratio: closure = 1 - EAR / open-eye EAR.
# FaceMesh EAR noise on a still face: sd ~0.02 of closure, at most ~0.07 (measured).
BLINK_MIN_PEAK = 0.2          # a blink's deepest frame closes at least this much...
BLINK_EDGE_FRACTION = 0.2     # ...and it lasts while closure is above this share of its peak
BLINK_EDGE_MIN_CLOSURE = 0.06
OPEN_EAR_PERCENTILE = 75      # open-eye EAR: most frames have the eyes open
SHEET_INSET = 0.17            # contact-sheet crop inside the measuring crop, each side

# EAR point pairs per eye: two vertical lid pairs and the corners.
EAR_EYES = (((160, 144), (158, 153), (33, 133)),
            ((385, 380), (387, 373), (362, 263)))


@dataclass
class ClipMeasures:
    portrait: str
    clip: str
    n_frames: int
    fps: float
    render_s: float
    frames_without_face: int
    identity_every_n: int
    identity_max: float | None
    identity_mean: float | None
    identity_still: float | None          # the unanimated photo as laid out in the frame
    identity_rest: float | None           # the rest face (photo lips closed) vs the photo
    identity_vs_rest_max: float | None    # frames vs the rest face: drift from motion alone
    rest_aperture: float | None           # FaceMesh mouth aperture of the rest face: must read
                                          # closed (< ~0.03), or a lower identity_rest only
                                          # means the photo's open mouth was left open
    identity_missed: int                  # frames with no dlib face / no descriptor
    identity_max_frame: int               # where the largest distance was (-1: none)
    identity_max_at: dict                 # eye closure and mouth aperture in that frame
    identity_max_eyes_open: float | None  # the max over frames with the eyes open (no blink)
    photo_descriptor: bool
    background_grey: float                # mean over frames of mean |d grey| outside the mask
    background_grey_max: float            # worst consecutive-frame pair
    ring_grey: float                      # same, in the band just outside the mask
    blinks_measured: int
    blinks_scheduled: int
    blink_rate_per_min: float
    blink_durations_ms: list[float] = field(default_factory=list)
    blink_peaks: list[float] = field(default_factory=list)
    scheduled_peaks: list[float] = field(default_factory=list)
    head_yaw_range: float = 0.0           # nose offset / face width, max - min
    aperture_max: float = 0.0
    sheet: str = ""


# --- models -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _mesh():
    with quiet_native_logs():
        import mediapipe as mp

        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=0.5)


@functools.lru_cache(maxsize=1)
def _dlib_models():
    import warnings

    import dlib
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # face_recognition_models imports pkg_resources
        import face_recognition_models as frm
    return (dlib.get_frontal_face_detector(),
            dlib.shape_predictor(frm.pose_predictor_model_location()),
            dlib.face_recognition_model_v1(frm.face_recognition_model_location()))


# --- per-image measures ---------------------------------------------------------------------

def face_box(points_px: np.ndarray) -> tuple[float, float, float, float]:
    xy = points_px[:, :2]
    return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())


def crop_box(points_px: np.ndarray, shape: tuple[int, ...], margin_face: float = CROP_MARGIN_FACE
             ) -> tuple[int, int, int, int]:
    """A square around the face with `margin_face` (face sizes) each side; by default
    CROP_MARGIN_FACE, to spare for head motion."""
    x0, y0, x1, y1 = face_box(points_px)
    side = max(x1 - x0, y1 - y0) * (1 + 2 * margin_face)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = shape[:2]
    return (max(int(cx - side / 2), 0), max(int(cy - side / 2), 0),
            min(int(cx + side / 2), w), min(int(cy + side / 2), h))


def mesh_landmarks(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """FaceMesh from scratch (detector + mesh) on the crop; landmarks in image px."""
    x0, y0, x1, y1 = box
    crop = image[y0:y1, x0:x1]
    small = cv2.resize(crop, (MESH_CROP_PX, MESH_CROP_PX), interpolation=cv2.INTER_AREA)
    with quiet_native_logs():
        result = _mesh().process(small)
    if not result.multi_face_landmarks:
        return None
    a = np.array([(q.x, q.y, q.z) for q in result.multi_face_landmarks[0].landmark])
    return a * [x1 - x0, y1 - y0, x1 - x0] + [x0, y0, 0.0]


def eye_aspect_ratio(points_px: np.ndarray) -> float:
    p = points_px[:, :2]
    ratios = [(np.linalg.norm(p[a] - p[b]) + np.linalg.norm(p[c] - p[d]))
              / (2 * max(np.linalg.norm(p[e] - p[f]), 1e-6))
              for (a, b), (c, d), (e, f) in EAR_EYES]
    return float(np.mean(ratios))


def head_yaw(points_px: np.ndarray) -> float:
    """Nose tip offset from the middle of the face oval, in face widths (turn proxy)."""
    p = points_px[:, :2]
    left, right = p[lm.FACE_LEFT_EDGE], p[lm.FACE_RIGHT_EDGE]
    return float((p[lm.NOSE_TIP, 0] - 0.5 * (left[0] + right[0])) / max(right[0] - left[0], 1e-6))


def descriptor(image: np.ndarray, points_px: np.ndarray | None,
               box: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
    """dlib 128-d face descriptor: HOG detector on the (downscaled) crop, falling back to a
    box from the mesh landmarks for faces the detector misses (paintings, cartoons)."""
    import dlib

    detector, predictor, encoder = _dlib_models()
    x0, y0, x1, y1 = box or (0, 0, image.shape[1], image.shape[0])
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    scale = min(1.0, DLIB_MAX_SIDE_PX / max(crop.shape[:2]))
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop
    found = detector(small, 1 if max(small.shape[:2]) < 400 else 0)
    if len(found):
        r = max(found, key=lambda d: d.width() * d.height())
        rect = dlib.rectangle(int(r.left() / scale), int(r.top() / scale),
                              int(r.right() / scale), int(r.bottom() / scale))
    elif points_px is not None:
        # dlib boxes run from the brows to the chin, about the width of the cheeks
        p = points_px[:, :2] - [x0, y0]
        top = p[list(lm.RIGHT_BROW) + list(lm.LEFT_BROW), 1].min()
        rect = dlib.rectangle(int(p[lm.FACE_LEFT_EDGE, 0]), int(top),
                              int(p[lm.FACE_RIGHT_EDGE, 0]), int(p[lm.CHIN, 1]))
    else:
        return None
    shape = predictor(crop, rect)
    return np.array(encoder.compute_face_descriptor(crop, shape))


def reference_faces(photo: np.ndarray, photo_desc: np.ndarray | None, config: RenderConfig
                    ) -> tuple[float | None, float | None, np.ndarray | None, float | None]:
    """(still, rest, rest descriptor, rest aperture): distances to the photo of (a) the photo
    merely scaled into the frame, the floor resampling sets; (b) the renderer's rest face,
    whose parted or smiling lips are closed once before any motion. Frames are also compared
    with (b), to tell drift from the animation apart from that one change of expression."""
    from pipeline.animate.renderer import Renderer

    portrait = face.analyze(photo)
    width_px, height_px = config.video.size_px
    layout = plan_layout(portrait, width_px, height_px)
    out: list[float | None] = []
    rest_desc = rest_aperture = None
    for image in (layout.background, Renderer(portrait, layout).background):
        faces, _ = find_faces(image)
        rest_aperture = round(float(lm.mouth_aperture(faces[0].landmarks_px)), 3) if faces else None
        d = (descriptor(image, faces[0].landmarks_px, crop_box(faces[0].landmarks_px, image.shape))
             if faces else None)
        rest_desc = d
        out.append(None if d is None or photo_desc is None
                   else round(float(np.linalg.norm(d - photo_desc)), 3))
    return out[0], out[1], rest_desc, rest_aperture


def head_mask(points_px: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(mask, ring): generous head+hair+neck region and the band just outside it."""
    h, w = shape[:2]
    oval = points_px[list(lm.FACE_OVAL), :2]
    x0, y0, x1, y1 = face_box(points_px[list(lm.FACE_OVAL)])
    face_w = x1 - x0
    cx = 0.5 * (x0 + x1)
    grown = oval.copy()
    grown[:, 0] = cx + (grown[:, 0] - cx) * MASK_GROW_X
    # the upper half of the oval lifted for hair
    upper = grown[:, 1] < 0.5 * (y0 + y1)
    lift = (0.5 * (y0 + y1) - grown[:, 1]) / max(0.5 * (y1 - y0), 1e-6)
    grown[upper, 1] -= MASK_HAIR_FACE * face_w * lift[upper]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(grown).astype(np.int32)], 1)
    neck_x0, neck_x1 = cx - 0.4 * face_w, cx + 0.4 * face_w
    neck_y0 = points_px[lm.CHIN, 1] - 0.3 * face_w
    cv2.rectangle(mask, (int(neck_x0), int(neck_y0)),
                  (int(neck_x1), int(points_px[lm.CHIN, 1] + MASK_NECK_FACE * face_w)), 1, -1)
    k = max(3, int(MASK_DILATE_FACE * face_w) * 2 + 1)
    mask = cv2.dilate(mask, np.ones((k, k), np.uint8))
    k = max(3, int(RING_FACE * face_w) * 2 + 1)
    ring = cv2.dilate(mask, np.ones((k, k), np.uint8)) & (1 - mask)
    return mask.astype(bool), ring.astype(bool)


# --- events ---------------------------------------------------------------------------------

def blink_events(ear: np.ndarray, fps: float) -> tuple[list[float], list[float], list[int]]:
    """(durations_ms, peak closures, deepest frame) of blinks in an EAR series (nan = no face).

    A blink is a local closure peak of at least BLINK_MIN_PEAK; it lasts while the closure
    stays above BLINK_EDGE_FRACTION of its peak (and above BLINK_EDGE_MIN_CLOSURE).
    """
    valid = ear[np.isfinite(ear)]
    if len(valid) == 0:
        return [], [], []
    open_ear = float(np.percentile(valid, OPEN_EAR_PERCENTILE))
    closure = np.nan_to_num(1.0 - ear / open_ear, nan=0.0)
    durations, peaks, deepest = [], [], []
    taken = np.zeros(len(closure), bool)
    for i in np.argsort(-closure, kind="stable"):
        peak = float(closure[i])
        if peak < BLINK_MIN_PEAK:
            break
        if taken[i]:
            continue                      # the shoulder of a deeper blink already counted
        edge = max(BLINK_EDGE_FRACTION * peak, BLINK_EDGE_MIN_CLOSURE)
        start = i
        while start > 0 and closure[start - 1] > edge and not taken[start - 1]:
            start -= 1
        stop = i + 1
        while stop < len(closure) and closure[stop] > edge and not taken[stop]:
            stop += 1
        taken[start:stop] = True
        durations.append(1000.0 * (stop - start) / fps)
        peaks.append(peak)
        deepest.append(int(i))
    order = np.argsort(deepest)
    return ([durations[k] for k in order], [peaks[k] for k in order], [deepest[k] for k in order])


def scheduled_blinks(result, seed: int) -> list[float]:
    """Peaks of the blinks the motion track asked for (the same call api.render makes)."""
    track = motion.idle(result.duration_s, result.fps, seed=seed, words=result.timing.words,
                        sentences=result.timing.sentences, style="natural")
    blink = track.values[:, list(MOTION).index("blink")]
    peaks, current = [], 0.0
    for v in [*blink.tolist(), 0.0]:
        if v > 0:
            current = max(current, v)
        elif current > 0:
            peaks.append(round(current, 2))
            current = 0.0
    return peaks


def _real_recordings(videos_dir: Path):
    """(path, frames, measuring crop, FaceMesh points per frame) of each real recording."""
    for path in sorted(videos_dir.glob("*.mp4")) if videos_dir.exists() else []:
        frames = list(read_frames(path))
        first, _ = find_faces(frames[0])
        if first:
            box = crop_box(first[0].landmarks_px, frames[0].shape)
            yield path, frames, box, [mesh_landmarks(f, box) for f in frames]


def real_blinks(videos_dir: Path = REAL_VIDEOS) -> list[dict]:
    """What a real blink costs by the same identity measure, in the eval's real recordings.

    Per blink: the descriptor distance from its deepest frame to the frame LAG before it
    (eyes open), beside the distance over the LAG frames before that (open to open: talking
    and head motion alone). The difference is what closing the eyes adds in a real face.
    """
    rows = []
    for path, frames, box, points in _real_recordings(videos_dir):
        ear = np.array([eye_aspect_ratio(p) if p is not None else np.nan for p in points])
        _, peaks, deepest = blink_events(ear, probe(path).fps)
        lag = REAL_BLINK_LAG_FRAMES
        for peak, b in zip(peaks, deepest, strict=True):
            if b < 2 * lag:
                continue
            d = [descriptor(frames[i], points[i], box) for i in (b, b - lag, b - 2 * lag)]
            if any(x is None for x in d):
                continue
            rows.append({"video": path.name, "frame": b, "closure": round(peak, 2),
                         "blink_vs_open": round(float(np.linalg.norm(d[0] - d[1])), 3),
                         "open_vs_open": round(float(np.linalg.norm(d[1] - d[2])), 3)})
    return rows


def real_identity(videos_dir: Path = REAL_VIDEOS) -> list[dict]:
    """The identity target read on real people: each real recording's frames against its own
    first frame (as if that frame were the photo), and against its own open-eyed frames
    (each one in turn as the photo; the median and the best of their maxima)."""
    rows = []
    for path, frames, box, points in _real_recordings(videos_dir):
        kept = [(i, descriptor(f, p, box)) for i, (f, p) in enumerate(zip(frames, points, strict=True))
                if p is not None]
        kept = [(i, d) for i, d in kept if d is not None]
        idx = np.array([i for i, _ in kept])
        desc = np.array([d for _, d in kept])
        ear = np.array([eye_aspect_ratio(points[i]) for i in idx])
        closure = 1 - ear / np.percentile(ear, OPEN_EAR_PERCENTILE)
        dist = np.linalg.norm(desc[:, None] - desc[None], axis=-1)
        open_refs = dist[closure < EYES_OPEN_CLOSURE].max(axis=1)
        rows.append({"video": path.name, "frames": len(frames), "measured": len(idx),
                     "max_vs_first_frame": round(float(dist[0].max()), 3),
                     "max_vs_open_frame_median": round(float(np.median(open_refs)), 3),
                     "max_vs_open_frame_best": round(float(open_refs.min()), 3)})
    return rows


# --- one clip -------------------------------------------------------------------------------

def measure_clip(name: str, photo_path: Path, audio: Path, out_dir: Path,
                 identity_every_n: int, with_sheet: bool) -> ClipMeasures:
    video_path = out_dir / f"{name}__{audio.stem}.mp4"
    config = RenderConfig(video=VideoConfig(aspect=ASPECT), captions=CaptionConfig(enabled=False,
                          sidecars=False), motion=MotionConfig(seed=SEED), quiet=True)
    start = time.perf_counter()
    result = render(photo_path, video_path, audio=audio, config=config)
    render_s = time.perf_counter() - start

    photo = load_photo(photo_path)
    faces, _ = find_faces(photo)
    photo_desc = descriptor(photo, faces[0].landmarks_px if faces else None,
                            crop_box(faces[0].landmarks_px, photo.shape) if faces else None)
    still_dist, rest_dist, rest_desc, rest_aperture = reference_faces(photo, photo_desc, config)

    ear, aperture, yaw, dists, rest_dists, bg, ring_bg = [], [], [], [], [], [], []
    missed_identity = 0
    dist_frames: list[int] = []
    box = mask = ring = None
    prev_grey = None
    n = 0
    for i, frame in enumerate(read_frames(video_path)):
        n += 1
        if box is None:
            first, _ = find_faces(frame)
            if not first:
                raise RuntimeError(f"{name}: no face in the first output frame")
            box = crop_box(first[0].landmarks_px, frame.shape)
            mask, ring = head_mask(first[0].landmarks_px, frame.shape)
        pts = mesh_landmarks(frame, box)
        ear.append(eye_aspect_ratio(pts) if pts is not None else np.nan)
        aperture.append(lm.mouth_aperture(pts) if pts is not None else np.nan)
        yaw.append(head_yaw(pts) if pts is not None else np.nan)
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
        if prev_grey is not None:
            diff = np.abs(grey - prev_grey)
            bg.append(float(diff[~mask].mean()))
            ring_bg.append(float(diff[ring].mean()))
        prev_grey = grey
        if i % identity_every_n == 0 and photo_desc is not None:
            d = descriptor(frame, pts, box)
            if d is None:
                missed_identity += 1
            else:
                dists.append(float(np.linalg.norm(d - photo_desc)))
                dist_frames.append(i)
                if rest_desc is not None:
                    rest_dists.append(float(np.linalg.norm(d - rest_desc)))

    ear_a, ap_a, yaw_a = np.array(ear), np.array(aperture), np.array(yaw)
    durations, peaks, deepest = blink_events(ear_a, result.fps)
    minutes = n / result.fps / 60.0
    found = bool(np.isfinite(yaw_a).any())
    worst = dist_frames[int(np.argmax(dists))] if dists else -1
    open_ear = float(np.nanpercentile(ear_a, OPEN_EAR_PERCENTILE)) if found else np.nan
    open_dists = [d for d, i in zip(dists, dist_frames, strict=True)
                  if np.isfinite(ear_a[i]) and 1 - ear_a[i] / open_ear < EYES_OPEN_CLOSURE]
    sheet_path = ""
    if with_sheet:
        sheet_path = str(contact_sheet(name, photo, video_path, box, ap_a, yaw_a, ear_a, deepest))
    return ClipMeasures(
        portrait=name, clip=audio.name, n_frames=n, fps=result.fps, render_s=round(render_s, 1),
        frames_without_face=int(np.isnan(ear_a).sum()),
        identity_every_n=identity_every_n,
        identity_max=round(max(dists), 3) if dists else None,
        identity_mean=round(float(np.mean(dists)), 3) if dists else None,
        identity_still=still_dist, identity_rest=rest_dist,
        identity_vs_rest_max=round(max(rest_dists), 3) if rest_dists else None,
        rest_aperture=rest_aperture,
        identity_missed=missed_identity, identity_max_frame=worst,
        identity_max_at=({"eye_closure": round(float(1 - ear_a[worst] / open_ear), 2),
                          "mouth_aperture": round(float(ap_a[worst]), 2)}
                         if worst >= 0 and np.isfinite(ear_a[worst]) else {}),
        identity_max_eyes_open=round(max(open_dists), 3) if open_dists else None,
        photo_descriptor=photo_desc is not None,
        background_grey=round(float(np.mean(bg)), 3) if bg else 0.0,
        background_grey_max=round(float(np.max(bg)), 3) if bg else 0.0,
        ring_grey=round(float(np.mean(ring_bg)), 3) if ring_bg else 0.0,
        blinks_measured=len(durations), blinks_scheduled=len(scheduled_blinks(result, SEED)),
        blink_rate_per_min=round(len(durations) / minutes, 1),
        blink_durations_ms=[round(d) for d in durations], blink_peaks=[round(p, 2) for p in peaks],
        scheduled_peaks=scheduled_blinks(result, SEED),
        head_yaw_range=round(float(np.nanmax(yaw_a) - np.nanmin(yaw_a)), 3) if found else 0.0,
        aperture_max=round(float(np.nanmax(ap_a)), 3) if found else 0.0,
        sheet=sheet_path,
    )


def contact_sheet(name: str, photo: np.ndarray, video_path: Path, box: tuple[int, int, int, int],
                  aperture: np.ndarray, yaw: np.ndarray, ear: np.ndarray, deepest: list[int]) -> Path:
    """Photo, mouth closed, mouth open, deepest blink, head turned most: head crops, labelled."""
    eyes_open = ear > np.nanpercentile(ear, 40)
    ap_open = np.where(eyes_open, aperture, np.nan)
    picks = {
        "mouth closed": int(np.nanargmin(ap_open)),
        "mouth open": int(np.nanargmax(ap_open)),
        "blink": deepest[int(np.argmin([ear[i] for i in deepest]))] if deepest else int(np.nanargmin(ear)),
        "head turned": int(np.nanargmax(np.abs(yaw - np.nanmedian(yaw)))),
    }
    wanted = set(picks.values())
    frames = {i: f for i, f in enumerate(read_frames(video_path)) if i in wanted}
    x0, y0, x1, y1 = box
    # the measuring crop has room for motion; the sheet shows the face larger
    inset = int(SHEET_INSET * (x1 - x0))
    x0, y0, x1, y1 = x0 + inset, y0 + inset, x1 - inset, y1 - inset
    tile_px = 440
    tiles = [("photo", Image.fromarray(photo))]
    tiles += [(f"{label} #{i}", Image.fromarray(frames[i][y0:y1, x0:x1])) for label, i in picks.items()]
    canvas = Image.new("RGB", (tile_px * len(tiles), tile_px + 22), "black")
    draw = ImageDraw.Draw(canvas)
    for k, (label, im) in enumerate(tiles):
        im.thumbnail((tile_px, tile_px), Image.LANCZOS)
        canvas.paste(im, (k * tile_px + (tile_px - im.width) // 2, 22 + (tile_px - im.height) // 2))
        draw.text((k * tile_px + 6, 4), label, fill="white")
    path = OUT_DIR / f"{name}.png"
    canvas.save(path)
    return path


# --- report ---------------------------------------------------------------------------------

def portraits(only: set[str] | None) -> list[tuple[str, Path]]:
    found = [("selfie", SELFIE)]
    if PORTRAITS_DIR.exists():
        found += [(p.stem, p) for p in sorted(PORTRAITS_DIR.iterdir())
                  if p.suffix.lower() in (".png", ".jpg", ".jpeg")]
    else:
        print(f"note: {PORTRAITS_DIR} not found; measuring examples/selfie.png only")
    return [(n, p) for n, p in found if only is None or n in only]


def table(rows: list[ClipMeasures]) -> str:
    head = (f"{'portrait':34} {'clip':8} {'frames':>6} {'id max':>6} {'open':>5} {'id mean':>7} {'still':>5} "
            f"{'rest':>5} {'vsrest':>6} {'bg':>5} "
            f"{'bg max':>6} {'ring':>5} {'blinks':>8} {'/min':>5} {'dur ms (min-max)':>16} "
            f"{'no face':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        dur = (f"{min(r.blink_durations_ms):.0f}-{max(r.blink_durations_ms):.0f}"
               if r.blink_durations_ms else "-")
        idm = f"{r.identity_max:.3f}" if r.identity_max is not None else "-"
        idn = f"{r.identity_mean:.3f}" if r.identity_mean is not None else "-"
        ido = f"{r.identity_max_eyes_open:.3f}" if r.identity_max_eyes_open is not None else "-"
        ids = f"{r.identity_still:.2f}" if r.identity_still is not None else "-"
        idr = f"{r.identity_rest:.2f}" if r.identity_rest is not None else "-"
        idv = f"{r.identity_vs_rest_max:.3f}" if r.identity_vs_rest_max is not None else "-"
        lines.append(
            f"{r.portrait[:34]:34} {Path(r.clip).stem[:8]:8} {r.n_frames:6d} {idm:>6} {ido:>5} {idn:>7} "
            f"{ids:>5} {idr:>5} {idv:>6} "
            f"{r.background_grey:5.2f} {r.background_grey_max:6.2f} {r.ring_grey:5.2f} "
            f"{r.blinks_measured:3d}/{r.blinks_scheduled:<3d}  {r.blink_rate_per_min:5.1f} "
            f"{dur:>16} {r.frames_without_face:7d}")
    return "\n".join(lines)


def summary(rows: list[ClipMeasures]) -> dict:
    ids = [r.identity_max for r in rows if r.identity_max is not None]
    open_ids = [r.identity_max_eyes_open for r in rows if r.identity_max_eyes_open is not None]
    durations = [d for r in rows for d in r.blink_durations_ms]
    total_min = sum(r.n_frames / r.fps for r in rows) / 60.0
    n_blinks = sum(r.blinks_measured for r in rows)
    long_rows = [r for r in rows if r.clip == LONG_CLIP.name]
    return {
        "identity_max": max(ids) if ids else None,
        "identity_max_ok": bool(ids) and max(ids) <= IDENTITY_MAX_TARGET,
        "identity_over_target": [f"{r.portrait} ({Path(r.clip).stem})" for r in rows
                                 if r.identity_max is not None and r.identity_max > IDENTITY_MAX_TARGET],
        "identity_max_eyes_open": max(open_ids) if open_ids else None,
        "identity_over_target_eyes_open": [
            f"{r.portrait} ({Path(r.clip).stem})" for r in rows
            if r.identity_max_eyes_open is not None and r.identity_max_eyes_open > IDENTITY_MAX_TARGET],
        "background_grey_max_of_means": max(r.background_grey for r in rows),
        "background_ok": all(r.background_grey <= BACKGROUND_TARGET_GREY for r in rows),
        "blink_rate_pooled_per_min": round(n_blinks / total_min, 1) if total_min else 0.0,
        "blink_rate_long_clips_per_min": {r.portrait: r.blink_rate_per_min for r in long_rows},
        "blink_durations_ms_median": float(np.median(durations)) if durations else None,
        "blink_durations_in_range": (sum(BLINK_DURATION_TARGET_MS[0] <= d <= BLINK_DURATION_TARGET_MS[1]
                                         for d in durations), len(durations)),
        "frames_without_face": sum(r.frames_without_face for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated portrait names (file stems), e.g. selfie")
    parser.add_argument("--no-long", action="store_true", help="skip the 60 s blink-rate clips")
    parser.add_argument("--results", default=str(RESULTS_PATH))
    args = parser.parse_args()
    if not SHORT_CLIP.exists():
        print(f"skip: {SHORT_CLIP} not found (the eval set lives in ../shared/eval)")
        return
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    start = time.perf_counter()
    rows: list[ClipMeasures] = []
    chosen = portraits(only)
    jobs = [(name, path, SHORT_CLIP, IDENTITY_EVERY_N, True) for name, path in chosen]
    if not args.no_long and LONG_CLIP.exists():
        jobs += [(name, path, LONG_CLIP, IDENTITY_EVERY_N_LONG, False)
                 for name, path in chosen if name in LONG_CLIP_PORTRAITS]
    real = real_blinks()
    for r in real:
        print(f"real recording {r['video']}: blink frame {r['frame']} (closure {r['closure']}) "
              f"{r['blink_vs_open']:.3f} from the open eyes {REAL_BLINK_LAG_FRAMES} frames before; "
              f"those {r['open_vs_open']:.3f} from {REAL_BLINK_LAG_FRAMES} frames before them")
    real_ids = real_identity()
    for r in real_ids:
        print(f"real recording {r['video']}: frames up to {r['max_vs_first_frame']:.3f} from its first "
              f"frame; with any open-eyed frame as the photo, up to {r['max_vs_open_frame_median']:.3f} "
              f"(median) and at best {r['max_vs_open_frame_best']:.3f}")
    print(table([]))
    for name, path, clip, every_n, with_sheet in jobs:
        rows.append(measure_clip(name, path, clip, OUT_DIR, every_n, with_sheet))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
        # written after every clip, so an interrupted run keeps what it measured
        save(rows, Path(args.results), time.perf_counter() - start, real, real_ids)
    print()
    print(table(rows))
    report = save(rows, Path(args.results), time.perf_counter() - start, real, real_ids)
    print(json.dumps(report["summary"], indent=1))
    print(f"wall {report['wall_s']} s; sheets in {OUT_DIR}; results in {args.results}")


def save(rows: list[ClipMeasures], path: Path, wall_s: float, real: list[dict] | None = None,
         real_ids: list[dict] | None = None) -> dict:
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "aspect": ASPECT, "seed": SEED, "short_clip": SHORT_CLIP.name, "long_clip": LONG_CLIP.name,
        "identity_every_n_frames": {"short": IDENTITY_EVERY_N, "long": IDENTITY_EVERY_N_LONG},
        "targets": {"identity_max": IDENTITY_MAX_TARGET, "background_grey": BACKGROUND_TARGET_GREY,
                    "blink_rate_per_min": BLINK_RATE_TARGET_PER_MIN,
                    "blink_duration_ms": BLINK_DURATION_TARGET_MS},
        "summary": summary(rows),
        # the same identity measure between frames of real recordings, around their blinks
        "real_video_blinks": real or [],
        # the identity target read on the real recordings, each against its own frames
        "real_video_identity": real_ids or [],
        "clips": [asdict(r) for r in rows],
        "wall_s": round(wall_s, 1),
    }
    path.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
