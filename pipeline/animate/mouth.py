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

from pipeline.animate.closed import PhotoTeeth
from pipeline.face import landmarks as lm

MIN_GAP_PX = 0.6             # below this the lips count as closed
EDGE_FEATHER_SIGMA_PX = 0.6
SUBPIXEL_BITS = 3            # fillPoly coordinates with 1/8 px precision
EDGE_FEATHER_E = 0.005       # lip edges feather over about this much (1-2 px in a 1080 frame)
CAVITY_TOP = 0.2             # cavity brightness under the upper lip, fraction of the lip colour
CAVITY_BOTTOM = 0.55         # ... and toward the lower lip
CAVITY_TINT = np.array([1.0, 0.72, 0.68], np.float32)  # the cavity is redder and browner than the lips
LIP_SHADOW = 0.35            # the upper lip darkens the top of the teeth this much
PHOTO_TEETH_BRIGHTNESS = 0.92  # the photo's own teeth, slightly in the mouth's shade
TEETH_HEIGHT_E = 0.12        # visible upper-teeth height at teeth_show=1, in eye distances
TEETH_MIN_SHOW = 0.4         # share of that height visible at teeth_show=0
TEETH_BRIGHTNESS = 0.9       # teeth against the sclera white point
TEETH_HALF_SPAN = 0.86       # teeth reach this fraction of the half mouth width
TOOTH_EDGES_U = (0.0, 0.2, 0.36, 0.5, 0.63, 0.75)  # gaps between teeth, in half widths
TOOTH_ROUND = 0.04           # tooth biting edges round off this much toward the gaps
LOWER_TEETH_START_E = 0.13   # lower teeth appear when the gap exceeds this (eye distances)
LOWER_TEETH_RAMP_E = 0.08    # ... and reach full height this much wider
LOWER_TEETH_HEIGHT = 0.42    # their visible height, fraction of the upper teeth's
LOWER_TEETH_HALF_SPAN = 0.5  # they reach this fraction of the half mouth width (inside the arch)
LOWER_TEETH_BRIGHTNESS = 0.8   # against the white point: in the shade of the upper lip and cavity
LOWER_TOOTH_EDGES_U = (0.0, 0.12, 0.24, 0.36, 0.48)  # lower incisors are narrower
TONGUE_COLOR = np.array([170.0, 80.0, 80.0], np.float32)
GREY_PHOTO_LIP_CHROMA = 10.0  # lips with less RGB spread than this: a black-and-white photo


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
                draw_teeth: bool = True, photo_teeth: PhotoTeeth | None = None) -> None:
    """Fill the gap between `upper` and `lower` inner-lip contours ([11, 2] frame px) in place.

    `draw_teeth` False leaves the teeth out (a photo whose own teeth move with its lips);
    `photo_teeth` (from the closed-mouth base) puts the photo's own upper teeth in.
    """
    off = np.array(origin, dtype=np.float64)
    up = _smooth_curve(upper - off)
    lo = _smooth_curve(lower - off)
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
    feather = max(EDGE_FEATHER_SIGMA_PX, EDGE_FEATHER_E * eye_px)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), feather)

    # float32 throughout (colours included): every array below is box-sized, and half the
    # bytes is most of the cost; the result is the same to within a grey level.
    colors = MouthColors(lip=colors.lip.astype(np.float32), white=colors.white.astype(np.float32))
    xs = np.arange(x0, x0 + box_w, dtype=np.float32)
    ys = np.arange(y0, y0 + box_h, dtype=np.float32)[:, None]
    y_up = np.interp(xs, up[:, 0], up[:, 1]).astype(np.float32)[None, :]
    y_lo = np.interp(xs, lo[:, 0], lo[:, 1]).astype(np.float32)[None, :]
    gap = np.maximum(y_lo - y_up, 1e-3)
    cx = 0.5 * (up[0, 0] + up[-1, 0])
    half_w = max(0.5 * abs(up[-1, 0] - up[0, 0]), 1.0)
    u = ((xs - cx) / half_w)[None, :]
    gap_max = float(np.max(lo[:, 1] - up[:, 1]))
    v = np.clip((ys - y_up) / gap, 0, 1)          # 0 under the upper lip .. 1 on the lower lip

    # Cavity: red-brown, darkest at the back and top (the upper lip's shadow), lighter
    # toward the lower lip, darker toward the corners.
    lip = colors.lip[None, None, :]
    depth = CAVITY_TOP + (CAVITY_BOTTOM - CAVITY_TOP) * v ** 1.5
    shade = depth * (1 - 0.45 * np.clip(u * u, 0, 1))
    color = lip * CAVITY_TINT[None, None, :] * shade[..., None]

    # Tongue: a rounded mass at the bottom, more of it with tongue_show or a wide opening.
    tongue_amount = max(tongue_show, 0.8 * float(np.clip((gap_max - 0.06 * eye_px) / (0.16 * eye_px), 0, 1)))
    if tongue_amount > 0.02:
        arch = np.sqrt(np.clip(1 - (u / 0.75) ** 2, 0, 1))
        t_top = y_lo - gap * (0.12 + 0.33 * tongue_amount) * arch
        soft = max(1.5, 0.02 * eye_px)
        inside = np.clip((ys - t_top) / soft, 0, 1) * (arch > 0)
        # Lit on its upper surface, falling into shadow at the back and sides.
        t_shade = 0.42 + 0.38 * np.clip((ys - t_top) / (0.25 * gap + 1), 0, 1) ** 0.7
        t_shade = t_shade * (1 - 0.4 * np.clip(u * u / 0.5, 0, 1))
        tongue = (0.55 * colors.lip + 0.45 * TONGUE_COLOR)[None, None, :] * t_shade[..., None]
        a = (inside * (0.5 + 0.5 * tongue_amount))[..., None]
        color = color * (1 - a) + tongue * a

    if draw_teeth:
        teeth_h = TEETH_HEIGHT_E * eye_px * (TEETH_MIN_SHOW + (1 - TEETH_MIN_SHOW) * teeth_show)
        # Upper teeth hang from the upper lip, shorter toward the corners (the arch).
        h_up = np.minimum(gap * 0.85, teeth_h * (1 - 0.35 * u * u))
        below_lip = ys - y_up
        band = np.clip((h_up - below_lip) / 1.2, 0, 1) * (below_lip >= -1)
        span = np.clip((TEETH_HALF_SPAN - np.abs(u)) / 0.15, 0, 1)
        photo = _photo_teeth(photo_teeth, xs, ys, y_up, cx, half_w) if photo_teeth is not None else None
        if photo is not None:
            p_rgb, p_alpha = photo
            teeth_rgb = p_rgb * PHOTO_TEETH_BRIGHTNESS
            a_up = band * span * p_alpha
        else:
            # Each tooth's biting edge rounds off toward its neighbours.
            edges_px = (cx + np.concatenate([-np.array(TOOTH_EDGES_U), TOOTH_EDGES_U]) * half_w
                        ).astype(xs.dtype)
            dist = np.min(np.abs(xs[:, None] - edges_px[None, :]), axis=1)[None, :]
            tooth_w = (0.12 + 0.08 * (1 - np.clip(np.abs(u), 0, 1))) * half_w
            rounding = 1 - TOOTH_ROUND * (1 - np.clip(dist / (0.5 * tooth_w), 0, 1)) ** 2
            h_syn = h_up * rounding
            band = np.clip((h_syn - below_lip) / 1.5, 0, 1) * (below_lip >= -1)
            teeth_rgb = _synth_teeth(colors, xs, y_up, h_up, ys, u, cx, half_w, eye_px)
            a_up = band * span
        # The upper lip shades the top of the teeth.
        lip_shadow = 1 - LIP_SHADOW * np.exp(-np.clip(below_lip, 0, None) / max(0.012 * eye_px, 0.8))
        teeth_rgb = teeth_rgb * (lip_shadow * (1 - 0.35 * np.clip(u * u, 0, 1)))[..., None]
        a = a_up[..., None]
        color = color * (1 - a) + teeth_rgb * a

        # Lower teeth, only once the mouth is open wide: a narrower, shorter band standing
        # on the lower lip, further back in the mouth's shade than the upper teeth.
        lower_amount = float(np.clip((gap_max - LOWER_TEETH_START_E * eye_px)
                                     / (LOWER_TEETH_RAMP_E * eye_px), 0, 1))
        if lower_amount > 0:
            a_lo, lo_teeth = _lower_teeth(colors, xs, ys, y_lo, gap, u, cx, half_w, eye_px,
                                          lower_amount * LOWER_TEETH_HEIGHT * teeth_h)
            a = a_lo[..., None]
            color = color * (1 - a) + lo_teeth * a

    if float(np.ptp(colors.lip)) < GREY_PHOTO_LIP_CHROMA:
        # A black-and-white photo: the tinted cavity and tongue would be the only colour in it.
        color = np.repeat(color.mean(axis=-1, keepdims=True), 3, axis=-1)
    _blend(roi, x0, y0, alpha, color)


def _smooth_curve(points: np.ndarray, per_segment: int = 6) -> np.ndarray:
    """A lip contour ([n, 2], corner to corner) densified along a Catmull-Rom spline, sorted by x."""
    p = np.asarray(points, dtype=np.float64)
    ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(ext) - 2):
        a, b, c, d = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        out.append(0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t ** 2
                          + (3 * b - a - 3 * c + d) * t ** 3))
    out.append(p[-1:])
    curve = np.concatenate(out)
    return curve[np.argsort(curve[:, 0], kind="stable")]


def _photo_teeth(teeth: PhotoTeeth, xs: np.ndarray, ys: np.ndarray, y_up: np.ndarray, cx: float,
                 half_w: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The photo's teeth hung from the moved upper lip: colours and coverage per box pixel."""
    ox, oy = teeth.origin
    src_x = teeth.center_x + (xs - cx) / half_w * teeth.half_width        # frame px, photo mouth
    col = src_x - ox
    top = np.interp(col, np.arange(len(teeth.top_y)), np.nan_to_num(teeth.top_y, nan=np.nan))
    bottom = np.interp(col, np.arange(len(teeth.bottom_y)), teeth.bottom_y)
    valid = np.isfinite(top) & np.isfinite(bottom)
    if not valid.any():
        return None
    top = np.where(valid, top, 0.0).astype(np.float32)[None, :]
    src_y = top + (ys - y_up)                                             # rows below the lip
    map_x = np.broadcast_to(col[None, :], src_y.shape).astype(np.float32)
    map_y = (src_y - oy).astype(np.float32)
    rgb = cv2.remap(teeth.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    cover = cv2.remap(teeth.teeth, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    inside = (src_y < np.where(valid, bottom, 0.0)[None, :]) & valid[None, :]
    return rgb.astype(np.float32), cover * inside


def _synth_teeth(colors: MouthColors, xs: np.ndarray, y_up: np.ndarray, h_up: np.ndarray,
                 ys: np.ndarray, u: np.ndarray, cx: float, half_w: float, eye_px: float) -> np.ndarray:
    """Shaded upper teeth with faint gaps, white point from the eye whites."""
    tt = np.clip((ys - y_up + 0.5) / np.maximum(h_up, 1e-3), 0, 1)
    # sin(pi) is a hair below 0 in float32: clamp, or its square root is NaN
    vertical = 0.86 + 0.14 * np.sqrt(np.maximum(np.sin(np.pi * tt), 0)) - 0.08 * tt
    side = 1 - 0.45 * np.clip(u * u / TEETH_HALF_SPAN ** 2, 0, 1)
    edges_px = (cx + np.concatenate([-np.array(TOOTH_EDGES_U), TOOTH_EDGES_U]) * half_w).astype(xs.dtype)
    dist = np.min(np.abs(xs[:, None] - edges_px[None, :]), axis=1)[None, :]
    line_w = max(0.7, 0.008 * eye_px)
    seams = 1 - 0.07 * np.exp(-(dist / line_w) ** 2) * np.clip(tt * 2, 0, 1)
    return colors.white[None, None, :] * (TEETH_BRIGHTNESS * vertical * side * seams)[..., None]


def _lower_teeth(colors: MouthColors, xs: np.ndarray, ys: np.ndarray, y_lo: np.ndarray,
                 gap: np.ndarray, u: np.ndarray, cx: float, half_w: float, eye_px: float,
                 height_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Coverage and colour of the lower teeth rising from the lower lip (box arrays)."""
    arch = np.clip(1 - (u / LOWER_TEETH_HALF_SPAN) ** 2, 0, 1)
    h_lo = np.minimum(height_px * np.sqrt(arch), 0.35 * gap)          # lower toward the sides
    above_lip = y_lo - ys                                             # px above the lower lip
    edges_px = (cx + np.concatenate([-np.array(LOWER_TOOTH_EDGES_U), LOWER_TOOTH_EDGES_U]) * half_w
                ).astype(xs.dtype)
    dist = np.min(np.abs(xs[:, None] - edges_px[None, :]), axis=1)[None, :]
    # Biting edges dip a little at the gaps between teeth.
    tooth_w = 0.13 * half_w
    h_tooth = h_lo * (1 - 0.12 * (1 - np.clip(dist / (0.5 * tooth_w), 0, 1)) ** 2)
    cover = np.clip((h_tooth - above_lip) / 1.2, 0, 1) * (above_lip >= -1) * (h_lo > 0.5)
    tt = np.clip(above_lip / np.maximum(h_lo, 1e-3), 0, 1)            # 0 at the lip .. 1 at the edge
    # Lit at the biting edge, shaded down toward the lip, darker toward the sides.
    vertical = 0.84 + 0.16 * tt
    side = 1 - 0.35 * np.clip(u * u / LOWER_TEETH_HALF_SPAN ** 2, 0, 1)
    line_w = max(0.6, 0.006 * eye_px)
    seams = 1 - 0.06 * np.exp(-(dist / line_w) ** 2)
    rgb = colors.white[None, None, :] * (LOWER_TEETH_BRIGHTNESS * vertical * side * seams)[..., None]
    return cover * 0.92, rgb


def _blend(roi: np.ndarray, x0: int, y0: int, alpha: np.ndarray, color: np.ndarray) -> None:
    h, w = alpha.shape
    patch = roi[y0:y0 + h, x0:x0 + w].astype(np.float32)
    al = alpha[..., None]
    roi[y0:y0 + h, x0:x0 + w] = np.clip(patch * (1 - al) + color.astype(np.float32) * al + 0.5,
                                        0, 255).astype(np.uint8)
