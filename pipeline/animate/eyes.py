"""Closing the eyes: lid-coloured skin over whatever eye is left, and a lash line.

The warp already pulls the upper lid down over the eye; near full closure the
remaining sliver (where iris or sclera could peek through) is covered with the
lid's own colour, sampled from the photo just above the upper lid.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.face import landmarks as lm

FILL_FROM_BLINK = 0.7        # lid fill fades in from this closure...
FILL_FULL_BLINK = 0.97       # ... to fully opaque here
LASH_DARKEN = 0.55           # lash line darkness at full closure
SUBPIXEL_BITS = 3

EYES = ((lm.RIGHT_EYE_UPPER_LID, lm.RIGHT_EYE_LOWER_LID),
        (lm.LEFT_EYE_UPPER_LID, lm.LEFT_EYE_LOWER_LID))


@dataclass
class LidColors:
    skin: list[np.ndarray]   # per eye, RGB float: upper-lid skin
    lash: list[np.ndarray]   # per eye, RGB float: lash line


def sample_lids(image: np.ndarray, points_px: np.ndarray) -> LidColors:
    skin, lash = [], []
    h, w = image.shape[:2]
    for upper_ids, _ in EYES:
        up = points_px[list(upper_ids), :2]
        width = float(np.linalg.norm(up[-1] - up[0]))
        # A band from a little above the lid line up toward the crease.
        band = np.concatenate([up - [0, 0.12 * width], (up - [0, 0.3 * width])[::-1]])
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(band).astype(np.int32)], 1)
        px = image[m > 0].astype(np.float64)
        skin.append(np.median(px, axis=0) if len(px) else np.array([180.0, 140.0, 120.0]))
        line = np.zeros((h, w), np.uint8)
        cv2.polylines(line, [np.round(up).astype(np.int32)], False, 1, max(1, int(0.04 * width)))
        px = image[line > 0].astype(np.float64)
        if len(px):
            luma = px.mean(axis=1)
            lash.append(np.median(px[luma <= np.percentile(luma, 30)], axis=0))
        else:
            lash.append(skin[-1] * 0.4)
    return LidColors(skin=skin, lash=lash)


def paint_lids(roi: np.ndarray, origin: tuple[int, int], points_px: np.ndarray, colors: LidColors,
               blink: float, eye_px: float) -> None:
    """Cover the remaining eye opening (warped landmarks `points_px`, frame px) in place."""
    if blink <= FILL_FROM_BLINK:
        return
    t = np.clip((blink - FILL_FROM_BLINK) / (FILL_FULL_BLINK - FILL_FROM_BLINK), 0, 1)
    amount = float(t * t * (3 - 2 * t))
    off = np.array(origin, dtype=np.float64)
    for i, (upper_ids, lower_ids) in enumerate(EYES):
        up = points_px[list(upper_ids), :2] - off
        lo = points_px[list(lower_ids), :2] - off
        poly = np.concatenate([up, lo[::-1]])
        pad = int(np.ceil(0.06 * eye_px)) + 3
        x0 = max(int(np.floor(poly[:, 0].min())) - pad, 0)
        y0 = max(int(np.floor(poly[:, 1].min())) - pad, 0)
        x1 = min(int(np.ceil(poly[:, 0].max())) + pad, roi.shape[1])
        y1 = min(int(np.ceil(poly[:, 1].max())) + pad, roi.shape[0])
        if x1 <= x0 or y1 <= y0:
            continue
        local = poly - [x0, y0]
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        pts = np.round(local * (1 << SUBPIXEL_BITS)).astype(np.int32)
        cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=SUBPIXEL_BITS)
        # Grow by a pixel or two so the lid edge itself is covered too.
        grow = max(1, int(round(0.012 * eye_px)))
        mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 0.8) * amount
        lash = np.zeros_like(mask)
        lash_pts = np.round((up - [x0, y0]) * (1 << SUBPIXEL_BITS)).astype(np.int32)
        thick = max(1, int(round(0.018 * eye_px)))
        cv2.polylines(lash, [lash_pts], False, 255, thick, lineType=cv2.LINE_AA, shift=SUBPIXEL_BITS)
        lash_a = cv2.GaussianBlur(lash.astype(np.float32) / 255.0, (0, 0), 0.7) * amount * LASH_DARKEN

        patch = roi[y0:y1, x0:x1].astype(np.float32)
        skin = colors.skin[i].astype(np.float32)
        patch = patch * (1 - alpha[..., None]) + skin * alpha[..., None]
        patch = patch * (1 - lash_a[..., None]) + colors.lash[i].astype(np.float32) * lash_a[..., None]
        roi[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)
