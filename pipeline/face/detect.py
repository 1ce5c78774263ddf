"""Finding faces and their 478 mesh landmarks with mediapipe (models inside the wheel).

Two mediapipe models work together: the full-range face detector counts faces
(it finds faces down to a few percent of the image), and the face mesh, run on a
crop around each detection at full resolution, gives the landmarks. The mesh's
own detector is short-range and misses faces that are small in the frame; the
crop makes every face large for it, and it confirms that the detection is a face.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.face import landmarks as lm

DETECT_MAX_SIDE_PX = 1280     # whole-image detection runs on a copy at most this big
TILE_MIN_PX = 600             # smallest detection tile (faces down to ~50 px)
DETECT_MIN_SCORE = 0.5
MESH_CROP_PX = 384            # crops fed to the mesh: its 192 px input, with room
CROP_SCALE = 2.2              # crop side over the detection box side
SAME_FACE_IOU = 0.3
GREY = 127


@dataclass
class Face:
    landmarks_px: np.ndarray   # [478, 3] float32, photo pixels (z scaled like x)
    score: float               # detector confidence, 0 when only the mesh found it
    box_px: tuple[float, float, float, float]  # x0, y0, x1, y1 around the landmarks

    @property
    def width_px(self) -> float:
        return face_width_px(self.landmarks_px)


def face_width_px(landmarks_px: np.ndarray) -> float:
    """Face width between the face oval's side extremes, in the image plane."""
    p = landmarks_px[:, :2]
    return float(np.linalg.norm(p[lm.FACE_RIGHT_EDGE] - p[lm.FACE_LEFT_EDGE]))


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Silence the C++ log lines (TFLite, absl) mediapipe writes straight to fd 2.

    They are notices about model signatures, meaningless to a user of `avatar check`;
    Python errors still surface as exceptions.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@functools.lru_cache(maxsize=1)
def _detector():
    with quiet_native_logs():
        import mediapipe as mp

        return mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=DETECT_MIN_SCORE)


@functools.lru_cache(maxsize=2)
def _mesh(max_faces: int):
    with quiet_native_logs():
        import mediapipe as mp

        return mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
            min_detection_confidence=0.5)


def find_faces(image: np.ndarray) -> tuple[list[Face], list[tuple[float, tuple]]]:
    """Faces in an RGB image, largest first, and every raw detection (score, box).

    Raw detections that no mesh confirmed tell "no face" from "something face-like".
    """
    detections = _detect_all(image)
    candidates = [box for _, box in detections]
    # The whole-image mesh catches faces the detector scores below its threshold.
    for lms in _mesh_landmarks(image, max_faces=6):
        candidates.append(_box(lms))
    scores = {box: score for score, box in detections}

    faces: list[Face] = []
    for box in candidates:
        lms = _mesh_on_crop(image, box)
        if lms is None or not plausible(lms):
            continue
        fbox = _box(lms)
        if any(_iou(fbox, f.box_px) > SAME_FACE_IOU for f in faces):
            continue
        score = max((scores[b] for b in scores if _iou(b, fbox) > SAME_FACE_IOU), default=0.0)
        faces.append(Face(lms.astype(np.float32), float(score), fbox))
    faces.sort(key=lambda f: -f.width_px)
    return faces, detections


def plausible(lms: np.ndarray) -> bool:
    """Human face proportions: the mesh fits anything it is given, even a cat."""
    p = lms[:, :2].astype(np.float64)
    width = face_width_px(lms)
    eyes = np.linalg.norm(p[lm.LEFT_EYE_OUTER] - p[lm.RIGHT_EYE_OUTER])
    height = np.linalg.norm(p[lm.CHIN] - p[lm.FOREHEAD_TOP])
    if width < 4 or not (0.45 < eyes / width < 1.0) or not (0.8 < height / width < 2.2):
        return False
    # Eyes above the nose tip above the mouth, along the face's own up-down axis.
    down = (p[lm.CHIN] - p[lm.FOREHEAD_TOP]) / max(height, 1e-6)
    eye_mid = (p[lm.LEFT_EYE_OUTER] + p[lm.RIGHT_EYE_OUTER]) / 2
    mouth = (p[lm.MOUTH_LEFT_CORNER] + p[lm.MOUTH_RIGHT_CORNER]) / 2
    return bool(down @ eye_mid < down @ p[lm.NOSE_TIP] < down @ mouth)


def _detect_all(image: np.ndarray) -> list[tuple[float, tuple]]:
    h, w = image.shape[:2]
    found = _detect(image, 0, 0, w, h)
    for x0, y0, x1, y1 in tiles(w, h):
        found += _detect(image, x0, y0, x1, y1)
    found.sort(key=lambda d: -d[0])
    kept: list[tuple[float, tuple]] = []
    for score, box in found:
        if all(_iou(box, k) <= SAME_FACE_IOU and _overlap_small(box, k) < 0.6 for _, k in kept):
            kept.append((score, box))
    return kept


def tiles(w: int, h: int) -> list[tuple[int, int, int, int]]:
    """Overlapping square tiles, half the photo's long side and halving down to TILE_MIN_PX.

    The detector sees its input at 192 px, so a face under ~8% of the input is
    missed: a 100 px face in a 1280 px group photo, a 90 px face in a 4000 px
    photo. In tiles it is large enough; a 50% overlap keeps every face whole in one.
    """
    out = []
    side = max(w, h) // 2
    while side >= TILE_MIN_PX:
        step = side // 2
        xs = sorted({*range(0, max(w - side, 0), step), max(w - side, 0)})
        ys = sorted({*range(0, max(h - side, 0), step), max(h - side, 0)})
        out += [(x, y, min(x + side, w), min(y + side, h)) for y in ys for x in xs]
        side //= 2
    return out


def _detect(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> list[tuple[float, tuple]]:
    region, scale = _downscaled(image[y0:y1, x0:x1], DETECT_MAX_SIDE_PX)
    with quiet_native_logs():
        result = _detector().process(region)
    rh, rw = region.shape[:2]
    out = []
    for d in result.detections or []:
        b = d.location_data.relative_bounding_box
        box = (x0 + b.xmin * rw / scale, y0 + b.ymin * rh / scale,
               x0 + (b.xmin + b.width) * rw / scale, y0 + (b.ymin + b.height) * rh / scale)
        out.append((float(d.score[0]), tuple(float(v) for v in box)))
    return out


def _mesh_landmarks(image: np.ndarray, max_faces: int) -> list[np.ndarray]:
    """Landmarks of up to max_faces faces in image, in its pixels."""
    small, scale = _downscaled(image, DETECT_MAX_SIDE_PX)
    sh, sw = small.shape[:2]
    with quiet_native_logs():
        result = _mesh(max_faces).process(small)
    out = []
    for face in result.multi_face_landmarks or []:
        a = np.array([(q.x, q.y, q.z) for q in face.landmark], dtype=np.float64)
        out.append(a * np.array([sw, sh, sw]) / scale)
    return out


def _mesh_on_crop(image: np.ndarray, box: tuple) -> np.ndarray | None:
    """Mesh landmarks of the face in `box`, from a padded square crop at full resolution."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1]) * CROP_SCALE
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    n = max(int(round(side)), 8)
    crop = _padded_crop(image, x0, y0, n)
    crop = cv2.resize(crop, (MESH_CROP_PX, MESH_CROP_PX),
                      interpolation=cv2.INTER_AREA if n > MESH_CROP_PX else cv2.INTER_CUBIC)
    with quiet_native_logs():
        result = _mesh(2).process(crop)
    best, best_d = None, np.inf
    for face in result.multi_face_landmarks or []:
        a = np.array([(q.x, q.y, q.z) for q in face.landmark], dtype=np.float64)
        d = np.linalg.norm(a[:, :2].mean(axis=0) - 0.5)  # the face the crop is centred on
        if d < best_d:
            best, best_d = a, d
    if best is None:
        return None
    return best * n + np.array([x0, y0, 0.0])


def _padded_crop(image: np.ndarray, x0: int, y0: int, n: int) -> np.ndarray:
    """n x n crop at (x0, y0); outside the image is grey, so a cut-off face stays cut off."""
    h, w = image.shape[:2]
    out = np.full((n, n, 3), GREY, dtype=np.uint8)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + n, w), min(y0 + n, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def _downscaled(image: np.ndarray, max_side_px: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    scale = min(1.0, max_side_px / max(h, w))
    if scale >= 1.0:
        return np.ascontiguousarray(image), 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _box(lms: np.ndarray) -> tuple[float, float, float, float]:
    return (float(lms[:, 0].min()), float(lms[:, 1].min()),
            float(lms[:, 0].max()), float(lms[:, 1].max()))


def _area(b: tuple) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _intersection(a: tuple, b: tuple) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def _iou(a: tuple, b: tuple) -> float:
    i = _intersection(a, b)
    return i / max(_area(a) + _area(b) - i, 1e-9)


def _overlap_small(a: tuple, b: tuple) -> float:
    """Share of the smaller box inside the larger: a face box inside a tile's bigger box."""
    return _intersection(a, b) / max(min(_area(a), _area(b)), 1e-9)
