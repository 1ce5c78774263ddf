"""Drawing the inside of the mouth into the gap between the warped inner lips.

The cavity is tinted from the person's own lip colour (dark red-brown, darker toward
the back), the upper teeth are a shaded band under the upper lip whose white point
comes from the photo's eye whites, lower teeth show only at wide openings, and a
tongue fills the bottom. Everything inside the gap is covered, so the stretched lip
pixels the warp leaves there never show.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.face import landmarks as lm

MIN_GAP_PX = 0.6             # below this the lips count as closed
EDGE_FEATHER_SIGMA_PX = 0.6
SUBPIXEL_BITS = 3            # fillPoly coordinates with 1/8 px precision
CAVITY_EDGE = 0.42           # cavity brightness at the lips, fraction of the lip colour
CAVITY_BACK = 0.16           # ... and at the back of the mouth
TEETH_HEIGHT_E = 0.12        # visible upper-teeth height at teeth_show=1, in eye distances
TEETH_MIN_SHOW = 0.4         # share of that height visible at teeth_show=0
TEETH_BRIGHTNESS = 0.9       # teeth against the sclera white point
TEETH_HALF_SPAN = 0.86       # teeth reach this fraction of the half mouth width
TOOTH_EDGES_U = (0.0, 0.2, 0.36, 0.5)  # gaps between teeth, in half widths
LOWER_TEETH_START_E = 0.2    # lower teeth appear when the gap exceeds this
TONGUE_COLOR = np.array([170.0, 80.0, 80.0])


@dataclass
class MouthColors:
    lip: np.ndarray      # RGB float, mean lip colour
    white: np.ndarray    # RGB float, white point for teeth (the eye whites)


def sample_colors(image: np.ndarray, points_px: np.ndarray) -> MouthColors:
    """Lip colour and eye-white colour from `image` with landmarks `points_px` (same px)."""
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(points_px[list(lm.OUTER_LIPS), :2]).astype(np.int32)], 1)
    cv2.fillPoly(mask, [np.round(points_px[list(lm.INNER_LIPS), :2]).astype(np.int32)], 0)
    lips = image[mask > 0].astype(np.float64)
    lip = np.median(lips, axis=0) if len(lips) else np.array([150.0, 80.0, 80.0])

    whites = []
    for eye, center, ring in ((lm.RIGHT_EYE, lm.RIGHT_IRIS_CENTER, lm.RIGHT_IRIS),
                              (lm.LEFT_EYE, lm.LEFT_IRIS_CENTER, lm.LEFT_IRIS)):
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(points_px[list(eye), :2]).astype(np.int32)], 1)
        c = points_px[center, :2]
        r = np.mean(np.linalg.norm(points_px[list(ring), :2] - c, axis=1))
        cv2.circle(m, (int(round(c[0])), int(round(c[1]))), int(np.ceil(r * 1.15)), 0, -1)
        px = image[m > 0].astype(np.float64)
        if len(px):
            luma = px.mean(axis=1)
            whites.append(px[luma >= np.percentile(luma, 60)])
    white = np.median(np.concatenate(whites), axis=0) if whites else np.array([225.0, 220.0, 210.0])
    # Eye whites in shadow read grey; lift them toward a plausible enamel white.
    white = np.clip(white * (225.0 / max(float(white.max()), 1.0)) * 0.85 + 0.15 * np.array([235, 228, 215]),
                    0, 255)
    return MouthColors(lip=lip, white=white)


def paint_mouth(roi: np.ndarray, origin: tuple[int, int], upper: np.ndarray, lower: np.ndarray,
                colors: MouthColors, eye_px: float, teeth_show: float, tongue_show: float,
                draw_teeth: bool = True) -> None:
    """Fill the gap between `upper` and `lower` inner-lip contours ([11, 2] frame px) in place.

    `draw_teeth` False leaves the teeth out (a photo whose own teeth move with its lips).
    """
    up = upper - np.array(origin, dtype=np.float64)
    lo = lower - np.array(origin, dtype=np.float64)
    if float(np.max(lo[:, 1] - up[:, 1])) < MIN_GAP_PX:
        return
    poly = np.concatenate([up, lo[::-1]])
    x0 = max(int(np.floor(poly[:, 0].min())) - 3, 0)
    y0 = max(int(np.floor(poly[:, 1].min())) - 3, 0)
    x1 = min(int(np.ceil(poly[:, 0].max())) + 4, roi.shape[1])
    y1 = min(int(np.ceil(poly[:, 1].max())) + 4, roi.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    box_w, box_h = x1 - x0, y1 - y0
    local = poly - np.array([x0, y0])
    mask = np.zeros((box_h, box_w), np.uint8)
    cv2.fillPoly(mask, [np.round(local * (1 << SUBPIXEL_BITS)).astype(np.int32)], 255,
                 lineType=cv2.LINE_AA, shift=SUBPIXEL_BITS)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), EDGE_FEATHER_SIGMA_PX)

    xs = np.arange(box_w, dtype=np.float64) + x0
    ys = (np.arange(box_h, dtype=np.float64) + y0)[:, None]
    ou, ol = np.argsort(up[:, 0]), np.argsort(lo[:, 0])
    y_up = np.interp(xs, up[ou, 0], up[ou, 1])[None, :]
    y_lo = np.interp(xs, lo[ol, 0], lo[ol, 1])[None, :]
    gap = np.maximum(y_lo - y_up, 1e-3)
    cx = 0.5 * (up[0, 0] + up[-1, 0])
    half_w = max(0.5 * abs(up[-1, 0] - up[0, 0]), 1.0)
    u = ((xs - cx) / half_w)[None, :]
    gap_max = float(np.max(lo[:, 1] - up[:, 1]))

    # Cavity: lighter at the lips, dark at the back and toward the corners.
    depth = np.clip(np.minimum(ys - y_up, y_lo - ys) / (0.5 * gap), 0, 1) ** 0.6
    shade = (CAVITY_EDGE + (CAVITY_BACK - CAVITY_EDGE) * depth) * (1 - 0.35 * np.clip(u * u, 0, 1))
    color = colors.lip[None, None, :] * shade[..., None]

    # Tongue: a rounded mass at the bottom, more of it with tongue_show or a wide opening.
    tongue_amount = max(tongue_show, 0.5 * float(np.clip((gap_max - 0.12 * eye_px) / (0.2 * eye_px), 0, 1)))
    if tongue_amount > 0.02:
        t_top = y_lo - gap * (0.15 + 0.35 * tongue_amount) * np.sqrt(np.clip(1 - (u / 0.8) ** 2, 0, 1))
        inside = np.clip((ys - t_top) / 1.5, 0, 1) * np.clip(1 - np.abs(u) / 0.85, 0, 1) ** 0.3
        t_shade = 0.55 + 0.3 * np.clip((ys - t_top) / (0.3 * gap + 1), 0, 1)
        tongue = (0.6 * colors.lip + 0.4 * TONGUE_COLOR)[None, None, :] * t_shade[..., None]
        a = (inside * (0.4 + 0.6 * tongue_amount))[..., None]
        color = color * (1 - a) + tongue * a

    if not draw_teeth:
        _blend(roi, x0, y0, alpha, color)
        return
    teeth_h = TEETH_HEIGHT_E * eye_px * (TEETH_MIN_SHOW + (1 - TEETH_MIN_SHOW) * teeth_show)
    span = np.clip((TEETH_HALF_SPAN - np.abs(u)) / 0.12, 0, 1)
    # Upper teeth, hanging from the upper lip, shorter toward the corners (the arch).
    h_up = np.minimum(gap * 0.92, teeth_h * (1 - 0.4 * u * u))
    tt = (ys - y_up + 0.5) / np.maximum(h_up, 1e-3)
    a_up = np.clip((h_up - (ys - y_up)) / 1.2, 0, 1) * span * (ys >= y_up - 1)
    vertical = 0.8 + 0.2 * np.sin(np.pi * np.clip(tt, 0, 1)) ** 0.5 - 0.06 * np.clip(tt, 0, 1)
    side = 1 - 0.5 * np.clip(u * u / TEETH_HALF_SPAN ** 2, 0, 1)
    edges_px = cx + np.concatenate([-np.array(TOOTH_EDGES_U), TOOTH_EDGES_U]) * half_w
    dist = np.min(np.abs(xs[:, None] - edges_px[None, :]), axis=1)[None, :]
    line_w = max(0.5, 0.006 * eye_px)
    seams = 1 - 0.12 * np.exp(-(dist / line_w) ** 2) * np.clip(tt * 1.5, 0, 1)
    teeth = colors.white[None, None, :] * (TEETH_BRIGHTNESS * vertical * side * seams)[..., None]
    a = a_up[..., None]
    color = color * (1 - a) + teeth * a

    # Lower teeth, only once the mouth is open wide.
    lower_amount = float(np.clip((gap_max - LOWER_TEETH_START_E * eye_px) / (0.1 * eye_px), 0, 1))
    if lower_amount > 0:
        h_lo = lower_amount * 0.45 * teeth_h * np.clip(1 - (u / 0.6) ** 2, 0, 1)
        a_lo = np.clip((h_lo - (y_lo - ys)) / 1.2, 0, 1) * (h_lo > 0.5)
        lo_teeth = colors.white[None, None, :] * 0.72 * (1 - 0.3 * u * u)[..., None]
        a = a_lo[..., None]
        color = color * (1 - a) + lo_teeth * a

    _blend(roi, x0, y0, alpha, color)


def _blend(roi: np.ndarray, x0: int, y0: int, alpha: np.ndarray, color: np.ndarray) -> None:
    h, w = alpha.shape
    patch = roi[y0:y0 + h, x0:x0 + w].astype(np.float32)
    al = alpha[..., None]
    roi[y0:y0 + h, x0:x0 + w] = np.clip(patch * (1 - al) + color.astype(np.float32) * al + 0.5,
                                        0, 255).astype(np.uint8)
