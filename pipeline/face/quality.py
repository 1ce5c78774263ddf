"""Measurements of one face in a photo: size, head pose, exposure, sharpness."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.face import landmarks as lm

SHARPNESS_FACE_PX = 256   # sharpness is measured with the face resized to this width
# The forehead-top-to-chin line leans back in the mesh's 3D frame: on frontal faces
# the raw pitch reads 3-14 deg (Obama, the 3D cartoon: 3); centre the warnings.
PITCH_BIAS_DEG = 5.0


def head_pose_deg(landmarks_px: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the mesh's 3D landmarks.

    The face's own axes: x from the subject's right to left outer eye corner,
    y from forehead top to chin (made orthogonal to x), z their cross product
    (into the picture). yaw > 0: the face turns towards the image right;
    pitch > 0: chin down; roll > 0: clockwise in the image.
    """
    p = landmarks_px.astype(np.float64)
    ex = p[lm.LEFT_EYE_OUTER] - p[lm.RIGHT_EYE_OUTER]
    ex /= max(np.linalg.norm(ex), 1e-9)
    ey = p[lm.CHIN] - p[lm.FOREHEAD_TOP]
    ey -= (ey @ ex) * ex
    ey /= max(np.linalg.norm(ey), 1e-9)
    ez = np.cross(ex, ey)
    yaw = np.degrees(np.arctan2(-ez[0], ez[2]))
    pitch = np.degrees(np.arctan2(-ez[1], np.hypot(ez[0], ez[2]))) - PITCH_BIAS_DEG
    roll = np.degrees(np.arctan2(ex[1], ex[0]))
    return float(yaw), float(pitch), float(roll)


def face_mask(shape: tuple[int, ...], landmarks_px: np.ndarray) -> np.ndarray:
    """Boolean H x W mask inside the face oval."""
    mask = np.zeros(shape[:2], dtype=np.uint8)
    pts = np.round(landmarks_px[list(lm.FACE_OVAL), :2]).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1)
    return mask.astype(bool)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma, float32 0..255."""
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def face_crop(image: np.ndarray, landmarks_px: np.ndarray, width_px: int | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """The face's bounding box cut from image (clipped), and the face-oval mask on it.

    With width_px, both are resized so the face is that wide: measurements then
    do not depend on the photo's resolution.
    """
    h, w = image.shape[:2]
    x0, y0 = (int(max(0, np.floor(v))) for v in landmarks_px[:, :2].min(axis=0))
    x1 = int(min(w, np.ceil(landmarks_px[:, 0].max()) + 1))
    y1 = int(min(h, np.ceil(landmarks_px[:, 1].max()) + 1))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((1, 1, 3), np.uint8), np.zeros((1, 1), bool)
    crop = image[y0:y1, x0:x1]
    mask = face_mask(crop.shape, landmarks_px - np.array([x0, y0, 0.0]))
    if width_px:
        s = width_px / max(landmarks_px[:, 0].max() - landmarks_px[:, 0].min(), 1.0)
        size = (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s)))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
        crop = cv2.resize(crop, size, interpolation=interp)
        mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return crop, mask


def brightness(image: np.ndarray, landmarks_px: np.ndarray) -> float:
    """Mean luma of the face (inside the face oval), 0..255."""
    crop, mask = face_crop(image, landmarks_px)
    if not mask.any():
        return 0.0
    return float(luma(crop)[mask].mean())


def clipped_fraction(image: np.ndarray, landmarks_px: np.ndarray) -> float:
    """Share of face pixels blown out to white (luma >= 250)."""
    crop, mask = face_crop(image, landmarks_px)
    if not mask.any():
        return 0.0
    return float((luma(crop)[mask] >= 250).mean())


def sharpness(image: np.ndarray, landmarks_px: np.ndarray) -> float:
    """Variance of the Laplacian inside the face, the face resized to 256 px wide.

    The face oval's edge is eroded away so the face/background border (often
    the sharpest thing in the crop) does not count.
    """
    crop, mask = face_crop(image, landmarks_px, SHARPNESS_FACE_PX)
    mask = cv2.erode(mask.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    if not mask.any():
        return 0.0
    lap = cv2.Laplacian(luma(crop), cv2.CV_32F, ksize=3)
    return float(lap[mask].var())
