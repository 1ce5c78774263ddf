"""Articulation shading: the skin darkens and brightens a little as the mouth moves.

A pure warp stretches the photo's skin like rubber: when the jaw drops, real cheeks
hollow under the cheekbones, the nasolabial folds deepen and the chin catches light.
Each control gets one smooth relative-luminance map, built once on the renderer's
coarse grid from the rest landmarks (Gaussians in eye-distance units, limited to the
face oval). Per frame the maps are mixed with the control values, carried along with
the face by sampling them through the frame's backward field, upsampled over a fixed
lower-face box only, and multiplied into the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.animate import field
from pipeline.face import landmarks as lm

# Shading amplitudes: relative luminance change at control value 1 (negative darkens).
CHEEK_HOLLOW = -0.035        # under the cheekbones, jaw open
FOLD_JAW = -0.045            # nasolabial folds, jaw open
FOLD_SPREAD = -0.04          # nasolabial folds, lips spread
FOLD_CHEEK_LIFT = 0.015      # the cheek bulging beside a deepened fold
CHIN_LIGHT = 0.03            # the chin catching light as the jaw drops
CHEEK_APPLE_LIGHT = 0.015    # cheeks lifted by a spread mouth
CORNER_PUCKER = -0.04        # mouth corners, lips rounded
# Shapes, in eye distances (33-263).
CHEEK_HOLLOW_AT_E = (0.3, -0.1)     # from the mouth corner: outward, down (negative: up)
CHEEK_HOLLOW_SIGMA_E = (0.12, 0.2)  # across, along the face
FOLD_SIGMA_E = 0.035                # fold width
FOLD_END_E = (0.1, 0.07)            # the fold ends this far outside and below the mouth corner
FOLD_START_OUT_E = 0.06             # and starts this far outside the nose wing
FOLD_LIFT_OUT_E = 0.09              # the cheek bulge lies this far outside the fold
FOLD_LIFT_SIGMA_E = 0.07
CHIN_AT = 0.6                       # between the lower lip's bottom and the chin
CHIN_SIGMA_E = (0.16, 0.1)
APPLE_AT_E = (0.22, -0.32)
APPLE_SIGMA_E = 0.14
CORNER_OUT_E = 0.05
CORNER_SIGMA_E = 0.06
FACE_SHRINK = 0.04           # the shading stays this far (face widths) inside the face oval
FACE_FEATHER_E = 0.04
MIN_SHADE = 1e-3             # map values below this are zero (the background stays exact)
BOX_PAD_E = 0.15             # the output box reaches this far beyond the maps' support
JAW_TRAVEL_E = 0.3           # ... and this much further down (the chin's drop)
NOSE_WINGS = (98, 327)       # alar base, image left and right
GAIN_ONE = 230              # uint8 gain for 1.0: steps of 0.4 %, up to +10 %
CONTROLS = ("jaw_open", "lip_width", "lip_round")


@dataclass
class SkinShading:
    names: tuple[str, ...]   # the control of each map
    maps: np.ndarray         # [K, gh, gw] float32 relative luminance change per unit control (rest face)
    cells: tuple[int, int, int, int]  # i0, i1, j0, j1: grid cells of the output box
    box_px: tuple[int, int, int, int]  # x0, y0, x1, y1: the output box in frame px
    grid_x0: float           # grid cell (0, 0) centre, frame px, and the cell size
    grid_y0: float
    step_px: float


def build_shading(points_px: np.ndarray, grid: field.Grid, eye_px: float) -> SkinShading | None:
    """Per-control shading maps for the rest face `points_px` (frame px) on `grid`."""
    p = np.asarray(points_px, np.float64)[:, :2]
    e = float(eye_px)
    ex = (p[lm.LEFT_EYE_OUTER] - p[lm.RIGHT_EYE_OUTER]) / max(e, 1e-6)   # image left -> right
    ey = np.array([-ex[1], ex[0]])                                         # toward the chin
    gp = grid.points().astype(np.float64)

    def gauss(center, sigma_x_e, sigma_y_e):
        d = gp - center
        a, b = d @ ex / (sigma_x_e * e), d @ ey / (sigma_y_e * e)
        return np.exp(-0.5 * (a * a + b * b))

    def segment(start, end, sigma_e):
        # Darkest in the middle of the fold, fading toward both ends.
        seg = end - start
        t = np.clip((gp - start) @ seg / max(seg @ seg, 1e-9), 0, 1)
        dist = np.linalg.norm(gp - (start + t[:, None] * seg), axis=1)
        return np.exp(-0.5 * (dist / (sigma_e * e)) ** 2) * np.sin(np.pi * (0.15 + 0.7 * t))

    hollow, fold, lift, apple, corner = (np.zeros(len(gp)) for _ in range(5))
    wings = sorted(NOSE_WINGS, key=lambda i: p[i, 0])
    for corner_i, wing_i, out in ((lm.MOUTH_LEFT_CORNER, wings[0], -1.0),
                                  (lm.MOUTH_RIGHT_CORNER, wings[1], 1.0)):
        c = p[corner_i]
        hollow += gauss(c + e * (out * CHEEK_HOLLOW_AT_E[0] * ex + CHEEK_HOLLOW_AT_E[1] * ey),
                        *CHEEK_HOLLOW_SIGMA_E)
        start = p[wing_i] + out * FOLD_START_OUT_E * e * ex
        end = c + e * (out * FOLD_END_E[0] * ex + FOLD_END_E[1] * ey)
        fold += segment(start, end, FOLD_SIGMA_E)
        shift = out * FOLD_LIFT_OUT_E * e * ex
        lift += segment(start + shift, end + shift, FOLD_LIFT_SIGMA_E)
        apple += gauss(c + e * (out * APPLE_AT_E[0] * ex + APPLE_AT_E[1] * ey), APPLE_SIGMA_E, APPLE_SIGMA_E)
        corner += gauss(c + out * CORNER_OUT_E * e * ex, CORNER_SIGMA_E, CORNER_SIGMA_E)
    chin_c = p[17] + CHIN_AT * (p[lm.CHIN] - p[17])
    chin = gauss(chin_c, *CHIN_SIGMA_E)

    maps = np.stack([
        CHEEK_HOLLOW * hollow + FOLD_JAW * fold + FOLD_CHEEK_LIFT * lift + CHIN_LIGHT * chin,
        FOLD_SPREAD * fold + FOLD_CHEEK_LIFT * lift + CHEEK_APPLE_LIGHT * apple,
        CORNER_PUCKER * corner,
    ]).reshape(len(CONTROLS), *grid.shape)
    maps = (maps * _face_weight(p, grid, e)[None]).astype(np.float32)
    maps[np.abs(maps) < MIN_SHADE] = 0.0

    support = np.argwhere(np.any(maps != 0, axis=0))
    if len(support) == 0:
        return None
    pad = BOX_PAD_E * e / grid.step_px
    gh, gw = grid.shape
    i0 = max(int(support[:, 0].min() - pad), 0)
    i1 = min(int(support[:, 0].max() + pad + JAW_TRAVEL_E * e / grid.step_px) + 1, gh)
    j0 = max(int(support[:, 1].min() - pad), 0)
    j1 = min(int(support[:, 1].max() + pad) + 1, gw)
    # The box is the footprint of those cells, so that one cv2.resize upsamples them
    # (cell centres as make_grid places them; rounding moves the smooth maps < 1 px).
    cell_w, cell_h = grid.width_px / gw, grid.height_px / gh
    box_px = (int(round(grid.x0 + j0 * cell_w)), int(round(grid.y0 + i0 * cell_h)),
              int(round(grid.x0 + j1 * cell_w)), int(round(grid.y0 + i1 * cell_h)))
    return SkinShading(names=CONTROLS, maps=maps, cells=(i0, i1, j0, j1), box_px=box_px,
                       grid_x0=float(grid.xs[0]), grid_y0=float(grid.ys[0]),
                       step_px=float(grid.xs[1] - grid.xs[0]))


def _face_weight(p: np.ndarray, grid: field.Grid, eye_px: float) -> np.ndarray:
    """1 inside the (slightly shrunk) face oval, 0 outside: no shading on hair, neck or background."""
    oval = p[list(lm.FACE_OVAL)]
    center = oval.mean(axis=0)
    face_w = float(oval[:, 0].max() - oval[:, 0].min())
    radius = max(float(np.linalg.norm(oval - center, axis=1).mean()), 1.0)
    shrunk = center + (oval - center) * (1 - FACE_SHRINK * face_w / radius)
    cells = (shrunk - [grid.xs[0], grid.ys[0]]) / grid.step_px
    mask = np.zeros(grid.shape, np.float32)
    cv2.fillPoly(mask, [np.round(cells * 8).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=3)
    sigma = max(FACE_FEATHER_E * eye_px / grid.step_px, 0.5)
    # Feathered inward only: the blur's outer half is cut, so nothing leaks past the oval.
    return cv2.GaussianBlur(mask, (0, 0), sigma) * mask


def shade(shading: SkinShading, roi: np.ndarray, origin: tuple[int, int], values: np.ndarray,
          source_grid: np.ndarray) -> None:
    """Multiply the shading for control `values` ([K], in `shading.names` order) into `roi` in place.

    `source_grid` ([gh, gw, 2] frame px) is where each output grid cell samples the rest
    image: the maps are read there, so the shading moves with the face.
    """
    active = np.flatnonzero(np.abs(values) > 1e-3)
    if len(active) == 0:
        return
    rest = np.tensordot(values[active].astype(np.float32), shading.maps[active], axes=1)
    i0, i1, j0, j1 = shading.cells
    src = source_grid[i0:i1, j0:j1]
    sx = (src[..., 0] - shading.grid_x0) / shading.step_px
    sy = (src[..., 1] - shading.grid_y0) / shading.step_px
    moved = cv2.remap(rest, sx.astype(np.float32), sy.astype(np.float32), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    bx0, by0, bx1, by1 = shading.box_px
    gain = cv2.resize(moved, (bx1 - bx0, by1 - by0), interpolation=cv2.INTER_LINEAR)
    # Fixed point (GAIN_ONE is 1.0): a uint8 product is a fraction of the float one's cost,
    # and a gain of exactly 1 leaves a pixel exactly as it was.
    gain = cv2.convertScaleAbs(gain, alpha=GAIN_ONE, beta=GAIN_ONE)
    ox, oy = origin
    box = roi[by0 - oy:by1 - oy, bx0 - ox:bx1 - ox]
    box[:] = cv2.multiply(box, cv2.merge((gain, gain, gain)), scale=1.0 / GAIN_ONE)
