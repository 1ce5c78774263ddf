"""Closing the eyes: lid-coloured skin over whatever eye is left, and a lash line.

The warp already pulls the upper lid down over the eye; near full closure the
remaining sliver (where iris or sclera could peek through) is covered with the
lid's own colour, sampled from the photo just above the upper lid.

The smooth warp field lags the lid landmarks (measured in the output pixels, a full
blink closed the eye only ~35% by eye aspect ratio), so during a blink every pixel
that still shows the photo's eye opening but lies outside the warped lid outline is
covered with lid skin too: the lid edge in the pixels is where the landmarks say.
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
COVER_FULL_BLINK = 0.25      # eye showing outside the warped lids is fully covered from here
EYE_GROW_E = 0.015           # the photo's eye opening, grown by this (eye distances): lid edge

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


def _smooth01(t: float) -> float:
    t = float(np.clip(t, 0.0, 1.0))
    return t * t * (3 - 2 * t)


def _stray_eye(poly: np.ndarray, box: tuple[int, int, int, int], rest: np.ndarray,
               source_px: tuple[np.ndarray, np.ndarray], eye_px: float) -> np.ndarray:
    """[h, w] in 0..1: box pixels that show the photo's eye opening outside the warped lids.

    `poly` (warped lids) and `box` are in ROI px; `rest` (the photo's lids) and the maps'
    values are in background px.
    """
    x0, y0, x1, y1 = box
    map_x, map_y = source_px
    src_x = np.ascontiguousarray(map_x[y0:y1, x0:x1])
    src_y = np.ascontiguousarray(map_y[y0:y1, x0:x1])
    # The photo's eye opening, rasterised over the source area these pixels read from.
    sx0, sy0 = int(np.floor(src_x.min())) - 2, int(np.floor(src_y.min())) - 2
    sx1, sy1 = int(np.ceil(src_x.max())) + 3, int(np.ceil(src_y.max())) + 3
    eye = np.zeros((max(sy1 - sy0, 1), max(sx1 - sx0, 1)), np.uint8)
    pts = np.round((rest - [sx0, sy0]) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(eye, [pts], 255, lineType=cv2.LINE_AA, shift=SUBPIXEL_BITS)
    grow = max(1, int(round(EYE_GROW_E * eye_px)))
    eye = cv2.dilate(eye, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    shows_eye = cv2.remap(eye.astype(np.float32) / 255.0, src_x - sx0, src_y - sy0, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    local = np.round((poly - [x0, y0]) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(inside, [local], 255, lineType=cv2.LINE_AA, shift=SUBPIXEL_BITS)
    # Only above the warped lower lid: below it lie the lower lid and its lashes, which stay.
    lower = poly[len(poly) // 2:]
    order = np.argsort(lower[:, 0])
    xs = np.arange(x0, x1, dtype=np.float64)
    lower_y = np.interp(xs, lower[order, 0], lower[order, 1])
    within = (xs >= lower[:, 0].min()) & (xs <= lower[:, 0].max())
    ys = np.arange(y0, y1, dtype=np.float64)[:, None]
    above = (ys <= lower_y[None, :] + 0.5) & within[None, :]
    return shows_eye * (1.0 - inside.astype(np.float32) / 255.0) * above


def paint_lids(roi: np.ndarray, origin: tuple[int, int], points_px: np.ndarray, colors: LidColors,
               blink: float, eye_px: float, source_px: tuple[np.ndarray, np.ndarray] | None = None,
               rest_points_px: np.ndarray | None = None) -> None:
    """Cover the remaining eye opening (warped landmarks `points_px`, frame px) in place.

    With `source_px` (the ROI's remap maps, background px) and `rest_points_px` (the
    unwarped landmarks), eye pixels the warp left outside the warped lids are covered too.
    """
    cover_amount = _smooth01(blink / COVER_FULL_BLINK) if source_px is not None else 0.0
    amount = _smooth01((blink - FILL_FROM_BLINK) / (FILL_FULL_BLINK - FILL_FROM_BLINK))
    if amount <= 0.0 and cover_amount <= 0.0:
        return
    off = np.array(origin, dtype=np.float64)
    for i, (upper_ids, lower_ids) in enumerate(EYES):
        up = points_px[list(upper_ids), :2] - off
        lo = points_px[list(lower_ids), :2] - off
        poly = np.concatenate([up, lo[::-1]])
        span = poly
        if cover_amount > 0.0:
            # the box must also hold the photo's open eye, which the warp may not have moved
            rest_roi = rest_points_px[list(upper_ids) + list(lower_ids), :2] - off
            span = np.concatenate([poly, rest_roi])
        pad = int(np.ceil(0.06 * eye_px)) + 3
        x0 = max(int(np.floor(span[:, 0].min())) - pad, 0)
        y0 = max(int(np.floor(span[:, 1].min())) - pad, 0)
        x1 = min(int(np.ceil(span[:, 0].max())) + pad, roi.shape[1])
        y1 = min(int(np.ceil(span[:, 1].max())) + pad, roi.shape[0])
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
        if cover_amount > 0.0:
            rest = np.concatenate([rest_points_px[list(upper_ids), :2],
                                   rest_points_px[list(lower_ids), :2][::-1]])
            stray = _stray_eye(poly, (x0, y0, x1, y1), rest, source_px, eye_px)
            stray = cv2.GaussianBlur(stray, (0, 0), 0.8) * cover_amount
            alpha = np.maximum(alpha, stray)
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
