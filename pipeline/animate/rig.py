"""The face rig: how each landmark moves for one unit of each control.

Every control (articulation parameter, blink, brow raise, gaze) is a forward
displacement of the 478 mesh landmarks, in frame pixels, computed from the face's
own geometry in a face-aligned frame (x along the eye line, y down) so tilted faces
work too. The dense warp interpolates these; the renderer adds them up per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.face import landmarks as lm

# Sizes in units of the outer-eye-corner distance E (33-263), per unit control. The opening
# sizes are set so rendered speech opens as wide as real speakers' mouths do: at 0.27 / 0.12
# the rendered inner-lip gap on the eval videos' audio reached 1.5-1.8x the real one (99th
# percentile 0.22-0.26 E against 0.14-0.15 E); now 0.15 / 0.19 (benchmarks/eval_lipsync.py).
JAW_DROP_E = 0.19          # lower inner lip drop at jaw_open=1 (chin block moves rigidly)
JAW_CORNER_FRAC = 0.25     # mouth corners follow the jaw this much (0.3 pulled a smiling face's
                           # corners down into a long open O: identity 0.35 -> 0.33 at jaw_open 0.9;
                           # closing an open-mouthed photo's jaw has its own share, renderer.py)
JAW_CHEEK_FRAC = 0.25      # cheeks beside the mouth follow the jaw this much
LIP_OPEN_LOWER_E = 0.085   # lower lip drop at lip_open=1, beyond the jaw
LIP_OPEN_UPPER_E = 0.025   # upper lip lift at lip_open=1
SPREAD_FRAC = 0.13         # lip_width: corners out, fraction of the half mouth width
SPREAD_THIN = 0.18         # ... and lips thin by this fraction of their thickness
ROUND_FRAC = 0.11          # lip_round: corners in, fraction of the half mouth width (more moved
                           # the cheeks enough to cost 0.03-0.05 of identity at lip_round=0.8)
ROUND_POUT = 0.12          # ... lips thicken (pout) by this fraction
ROUND_OPEN_E = 0.03        # ... and part a little in the middle
PRESS_THIN = 0.12          # lip_press: lips thin by this fraction
PRESS_CLOSE = 0.5          # ... and each inner lip travels this fraction of the photo's lip gap
TUCK_LIFT = 0.75           # lower_lip_tuck: lower lip rises by this fraction of its thickness
UPPER_RAISE = 0.55         # upper_lip_raise: upper lip lifts by this fraction of its thickness
LOWER_LID_RISE = 0.12      # blink: the lower lid rises this fraction of the eye opening
BROW_RAISE_E = 0.075       # brow_raise=1 lifts the brows this much
BROW_RAISE_GAP = 0.4       # ... but at most this share of the lid-to-brow gap (the lid skin stretches)
BROW_CREASE_FRAC = 0.3     # nothing moves below the lid crease, this share of the way from lid margin to brow
GAZE_X_FRAC = 0.13         # iris travel at gaze=+-1, fraction of the eye width
GAZE_Y_FRAC = 0.08

CONTROLS = ("jaw_open", "lip_open", "lip_width", "lip_round", "lip_press", "lower_lip_tuck",
            "upper_lip_raise", "blink", "brow_raise", "gaze_x", "gaze_y")

IRIS = (lm.RIGHT_IRIS_CENTER, *lm.RIGHT_IRIS, lm.LEFT_IRIS_CENTER, *lm.LEFT_IRIS)


@dataclass
class Rig:
    displacements: dict[str, np.ndarray]   # control -> [478, 2] forward displacement, frame px
    lower: np.ndarray       # [478] bool: moves with the jaw side of the mouth line
    frame_points: np.ndarray  # [478, 2] landmark positions in frame px
    eye_px: float             # outer eye corner distance in frame px


def build_rig(points_px: np.ndarray, jaw_corner_frac: float = JAW_CORNER_FRAC) -> Rig:
    """Displacements per control for landmarks `points_px` ([478, 2+] frame px).

    `jaw_corner_frac`: how much the mouth corners follow jaw_open (the renderer closes an
    open-mouthed photo's jaw with its own share)."""
    p = np.asarray(points_px, dtype=np.float64)[:, :2]
    eye_px = float(np.linalg.norm(p[lm.LEFT_EYE_OUTER] - p[lm.RIGHT_EYE_OUTER]))
    axis = (p[lm.LEFT_EYE_OUTER] - p[lm.RIGHT_EYE_OUTER]) / max(eye_px, 1e-6)
    rot = np.array([axis, [-axis[1], axis[0]]])            # rows: face x, face y
    origin = 0.5 * (p[lm.MOUTH_LEFT_CORNER] + p[lm.MOUTH_RIGHT_CORNER])
    q = (p - origin) @ rot.T                                # face-aligned coordinates

    mouth = _mouth_frame(q)
    lower = _lower_side(q, mouth)
    disp = {
        "jaw_open": _jaw_open(q, mouth, lower, eye_px, jaw_corner_frac),
        "lip_open": _lip_open(q, mouth, lower, eye_px),
        "lip_width": _lip_width(q, mouth),
        "lip_round": _lip_round(q, mouth, lower, eye_px),
        "lip_press": _lip_press(q, mouth),
        "lower_lip_tuck": _lower_lip_tuck(q, mouth, lower),
        "upper_lip_raise": _upper_lip_raise(q, mouth, lower),
        "blink": _blink(q),
        "brow_raise": _brow_raise(q, eye_px),
        "gaze_x": _gaze(q, 0),
        "gaze_y": _gaze(q, 1),
    }
    # Back to frame axes.
    disp = {k: (v @ rot).astype(np.float32) for k, v in disp.items()}
    return Rig(displacements=disp, lower=lower, frame_points=p.astype(np.float32), eye_px=eye_px)


@dataclass
class _Mouth:
    half_width: float
    line_x: np.ndarray      # mouth line (midway between the inner lips), sorted by x
    line_y: np.ndarray
    upper_thick: float      # upper lip thickness at the centre (0 -> 13)
    lower_thick: float      # lower lip thickness at the centre (14 -> 17)
    nose_y: float           # subnasale height (point 2)
    chin_y: float


def _mouth_frame(q: np.ndarray) -> _Mouth:
    up = q[list(lm.UPPER_INNER_LIP)]
    lo = q[list(lm.LOWER_INNER_LIP)]
    mid = 0.5 * (up + lo)
    order = np.argsort(mid[:, 0])
    half = 0.5 * float(q[lm.MOUTH_RIGHT_CORNER, 0] - q[lm.MOUTH_LEFT_CORNER, 0])
    return _Mouth(
        half_width=max(half, 1.0),
        line_x=mid[order, 0], line_y=mid[order, 1],
        upper_thick=max(float(q[13, 1] - q[0, 1]), 2.0),
        lower_thick=max(float(q[17, 1] - q[14, 1]), 2.0),
        nose_y=float(q[2, 1]), chin_y=float(q[lm.CHIN, 1]),
    )


def _line(q: np.ndarray, m: _Mouth) -> np.ndarray:
    return np.interp(q[:, 0], m.line_x, m.line_y)


def _lower_side(q: np.ndarray, m: _Mouth) -> np.ndarray:
    lower = q[:, 1] > _line(q, m)
    lower[list(lm.LOWER_INNER_LIP)] = True
    lower[list(lm.UPPER_INNER_LIP)] = False
    return lower


def _u(q: np.ndarray, m: _Mouth) -> np.ndarray:
    return q[:, 0] / m.half_width


def _jaw_open(q, m, lower, eye_px, corner_frac):
    u = np.abs(_u(q, m))
    dy = np.zeros(len(q))
    rel = q[:, 1] - _line(q, m)
    # Lower side: the chin block drops; toward the jaw angle less (it hinges near the ear).
    inside = np.clip(1 - u ** 2, 0, 1)
    lateral = np.where(u <= 1, corner_frac + (1 - corner_frac) * inside,
                       corner_frac * np.clip(1 - (u - 1) / 1.2, 0, 1))
    depth = np.clip(rel / max(m.chin_y, 1.0), 0, 1)          # 0 at the mouth line, 1 at the chin
    mandible = depth * np.clip(1 - (u - 1) / 2.6, 0, 1)
    dy[lower] = np.maximum(lateral, mandible)[lower]
    # Upper side: corners and cheeks stretch down a little, fading toward the nose.
    fade_up = np.clip(1 + rel / max(-m.nose_y, 1.0), 0, 1)
    upper_w = np.where(u <= 1, corner_frac * u ** 2,
                       JAW_CHEEK_FRAC * np.clip(1 - (u - 1) / 1.2, 0, 1)) * fade_up
    dy[~lower] = upper_w[~lower]
    out = np.zeros_like(q)
    out[:, 1] = dy * JAW_DROP_E * eye_px
    return out


def _lip_weight(q, m, lower):
    """1 on the lips, fading out over about one lip thickness around them."""
    u = np.abs(_u(q, m))
    rel = q[:, 1] - _line(q, m)
    thick = np.where(lower, m.lower_thick, m.upper_thick)
    v = np.abs(rel) / thick
    return np.exp(-np.maximum(u - 1, 0) ** 2 / 0.08) * np.exp(-np.maximum(v - 1, 0) ** 2 / 0.8), rel


def _lip_open(q, m, lower, eye_px):
    w, rel = _lip_weight(q, m, lower)
    center = np.clip(1 - _u(q, m) ** 2, 0, 1) ** 0.7
    out = np.zeros_like(q)
    out[:, 1] = np.where(lower, LIP_OPEN_LOWER_E, -LIP_OPEN_UPPER_E) * eye_px * w * center
    return out


def _lip_width(q, m):
    lower = q[:, 1] > _line(q, m)
    w, rel = _lip_weight(q, m, lower)
    u = _u(q, m)
    out = np.zeros_like(q)
    out[:, 0] = SPREAD_FRAC * m.half_width * np.clip(u, -1.3, 1.3) * w
    out[:, 1] = (-SPREAD_THIN * rel - 0.06 * m.half_width * np.clip(u, -1, 1) ** 2) * w
    return out


def _lip_round(q, m, lower, eye_px):
    w, rel = _lip_weight(q, m, lower)
    u = _u(q, m)
    out = np.zeros_like(q)
    out[:, 0] = -ROUND_FRAC * m.half_width * np.clip(u, -1.3, 1.3) * w
    # The lips part in the middle only: a small round opening, not a slit corner to corner.
    center = np.clip(1 - u ** 2, 0, 1) ** 2
    part = np.where(lower, 1.0, -0.7) * ROUND_OPEN_E * eye_px * center
    out[:, 1] = (ROUND_POUT * rel + part) * w
    return out


def _lip_press(q, m):
    lower = q[:, 1] > _line(q, m)
    w, rel = _lip_weight(q, m, lower)
    out = np.zeros_like(q)
    out[:, 1] = -PRESS_THIN * rel * w
    # Close whatever gap the landmarks still have (halfway each). Photos with parted
    # lips are closed once beforehand (closed.py), so this is usually nothing.
    up, lo = list(lm.UPPER_INNER_LIP), list(lm.LOWER_INNER_LIP)
    gap = q[lo, 1] - q[up, 1]
    out[up, 1] += PRESS_CLOSE * gap
    out[lo, 1] -= PRESS_CLOSE * gap
    return out


def _lower_lip_tuck(q, m, lower):
    w, rel = _lip_weight(q, m, lower)
    center = np.clip(1 - _u(q, m) ** 2, 0, 1) ** 0.5
    out = np.zeros_like(q)
    out[:, 1] = np.where(lower, -TUCK_LIFT * m.lower_thick * w * center, 0.0)
    return out


def _upper_lip_raise(q, m, lower):
    u = _u(q, m)
    rel = q[:, 1] - _line(q, m)
    center = np.clip(1 - u ** 2, 0, 1) ** 0.6
    # Full lift on the upper lip, fading to nothing at the nose.
    fade = np.clip(1 + (rel + m.upper_thick) / max(-m.nose_y - m.upper_thick, 1.0), 0, 1)
    fade = np.where(rel > -m.upper_thick, 1.0, fade)
    out = np.zeros_like(q)
    out[:, 1] = np.where(lower, 0.0, -UPPER_RAISE * m.upper_thick * center * fade)
    out[:, 1] *= np.exp(-np.maximum(np.abs(u) - 1, 0) ** 2 / 0.1)
    return out


def _blink(q):
    out = np.zeros_like(q)
    for upper_ids, lower_ids in ((lm.RIGHT_EYE_UPPER_LID, lm.RIGHT_EYE_LOWER_LID),
                                 (lm.LEFT_EYE_UPPER_LID, lm.LEFT_EYE_LOWER_LID)):
        up, lo = q[list(upper_ids)], q[list(lower_ids)]
        x0, x1 = float(min(up[0, 0], up[-1, 0])), float(max(up[0, 0], up[-1, 0]))
        half = 0.5 * (x1 - x0)
        cx = 0.5 * (x0 + x1)
        ou, ol = np.argsort(up[:, 0]), np.argsort(lo[:, 0])
        y_up = np.interp(q[:, 0], up[ou, 0], up[ou, 1])
        y_lo = np.interp(q[:, 0], lo[ol, 0], lo[ol, 1])
        opening = np.maximum(y_lo - y_up, 0)
        y_close = y_lo - LOWER_LID_RISE * opening
        ex = np.abs(q[:, 0] - cx) / max(half, 1.0)
        lateral = np.clip(1.25 - ex, 0, 0.25) / 0.25
        y = q[:, 1]
        t = np.clip((y - y_up) / np.maximum(opening, 1e-3), 0, 1)
        inside = (y >= y_up) & (y <= y_lo)
        # Eyeball and lids: squeezed into the closed lid line.
        dy = np.where(inside, (y_close + t * (y_lo - LOWER_LID_RISE * opening - y_close)) - y, 0.0)
        # Skin above the lid stretches down, less toward the brow.
        above = (y < y_up) & (y > y_up - 0.9 * half)
        dy = np.where(above, (y_close - y_up) * np.clip(1 - (y_up - y) / (0.9 * half), 0, 1) ** 1.5, dy)
        # Skin below the lower lid rises a little.
        below = (y > y_lo) & (y < y_lo + 0.5 * half)
        dy = np.where(below, -LOWER_LID_RISE * opening * np.clip(1 - (y - y_lo) / (0.5 * half), 0, 1), dy)
        out[:, 1] += dy * lateral
    return out


def _brow_raise(q, eye_px):
    out = np.zeros_like(q)
    # Per column (face x): the upper lid margin and the brow's lower edge. Only skin above
    # the lid crease moves, so a raise reads as brows and forehead, not as wider eyes
    # (lifting the lid had pulled the lashes up into streaks and cost identity).
    lids = q[list(lm.RIGHT_EYE_UPPER_LID + lm.LEFT_EYE_UPPER_LID)]
    brow_pts = q[list(lm.RIGHT_BROW + lm.LEFT_BROW)]
    ol, ob = np.argsort(lids[:, 0]), np.argsort(brow_pts[:, 0])
    x, y = q[:, 0], q[:, 1]
    lid_y = np.interp(x, lids[ol, 0], lids[ol, 1])
    brow_y = np.interp(x, brow_pts[ob, 0], brow_pts[ob, 1])
    crease_y = lid_y - BROW_CREASE_FRAC * np.maximum(lid_y - brow_y, 1.0)
    top_y = float(q[lm.FOREHEAD_TOP, 1])
    # The skin between crease and brow stretches by the raise: kept well under its own
    # height, or the warp folds over (the lashes showed up again above the lid).
    gap = float(np.median(np.interp(brow_pts[:, 0], lids[ol, 0], lids[ol, 1]) - brow_pts[:, 1]))
    raise_px = min(BROW_RAISE_E * eye_px, BROW_RAISE_GAP * max(gap, 1.0))
    t = np.clip((crease_y - y) / np.maximum(crease_y - brow_y, 1.0), 0, 1)
    w = np.where(y < brow_y, np.clip((y - top_y) / np.maximum(brow_y - top_y, 1.0), 0, 1) * 0.6 + 0.4, t)
    x0 = float(q[list(lm.RIGHT_BROW), 0].min()) - 0.1 * eye_px
    x1 = float(q[list(lm.LEFT_BROW), 0].max()) + 0.1 * eye_px
    lateral = np.clip(np.minimum(q[:, 0] - x0, x1 - q[:, 0]) / (0.15 * eye_px), 0, 1)
    brows = list(lm.RIGHT_BROW + lm.LEFT_BROW + lm.RIGHT_BROW_UPPER + lm.LEFT_BROW_UPPER)
    w[brows] = np.maximum(w[brows], 1.0)
    # The lids and everything below them stay put, whatever the columns say.
    w[list(lm.RIGHT_EYE + lm.LEFT_EYE + IRIS)] = 0.0
    out[:, 1] = -raise_px * w * lateral
    return out


def _gaze(q, axis):
    out = np.zeros_like(q)
    for center, ring, corners in ((lm.RIGHT_IRIS_CENTER, lm.RIGHT_IRIS, (33, 133)),
                                  (lm.LEFT_IRIS_CENTER, lm.LEFT_IRIS, (362, 263))):
        width = abs(float(q[corners[1], 0] - q[corners[0], 0]))
        step = (GAZE_X_FRAC if axis == 0 else GAZE_Y_FRAC) * width
        out[[center, *ring], axis] = step
    return out
