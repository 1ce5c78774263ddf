"""Dense displacement fields from sparse landmark displacements.

Landmark displacements are interpolated with a compactly supported radial basis
(Wendland C2) over the landmarks plus zero-displacement anchors on the ROI border,
on a coarse grid. The mouth line is a tear: the lips are interpolated twice, once
without the lower inner lip (for everything above the line) and once without the
upper inner lip (below it), and the two are joined along the line, so the lips
can part without the field having to be continuous across them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.face import landmarks as lm

KERNEL_RADIUS_FACE = 0.42     # Wendland support radius, in face widths
RIDGE = 1e-7                  # keeps the solve well posed where landmarks crowd together
DUPLICATE_PX = 0.75           # control points closer than this are merged
BORDER_ANCHORS = 12           # anchors per ROI side
CHUNK_ROWS = 8192


@dataclass
class Grid:
    """A coarse grid over the ROI: cell (i, j) centres in frame px."""

    x0: int                  # ROI origin in frame px
    y0: int
    width_px: int            # ROI size
    height_px: int
    step_px: int             # frame px per grid cell
    xs: np.ndarray           # [gw] cell centre x, frame px
    ys: np.ndarray           # [gh]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ys), len(self.xs)

    def points(self) -> np.ndarray:
        gx, gy = np.meshgrid(self.xs, self.ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1)


def make_grid(x0: int, y0: int, width_px: int, height_px: int, step_px: int) -> Grid:
    gw = int(np.ceil(width_px / step_px))
    gh = int(np.ceil(height_px / step_px))
    # Cell centres as cv2.resize(INTER_LINEAR) places them when upsampling by step_px.
    xs = x0 + (np.arange(gw) + 0.5) * (width_px / gw) - 0.5
    ys = y0 + (np.arange(gh) + 0.5) * (height_px / gh) - 0.5
    return Grid(x0, y0, width_px, height_px, step_px, xs, ys)


def wendland(r: np.ndarray) -> np.ndarray:
    t = np.maximum(1.0 - r, 0.0)
    t *= t                    # t ** 2, in place: the integer power is several times slower
    t *= t
    return t * (4.0 * r + 1.0)


def border_anchors(grid: Grid) -> np.ndarray:
    x0, y0 = grid.x0, grid.y0
    x1, y1 = x0 + grid.width_px - 1, y0 + grid.height_px - 1
    t = np.linspace(0.0, 1.0, BORDER_ANCHORS, endpoint=False)
    top = np.stack([x0 + t * (x1 - x0), np.full_like(t, y0)], 1)
    right = np.stack([np.full_like(t, x1), y0 + t * (y1 - y0)], 1)
    bottom = np.stack([x1 - t * (x1 - x0), np.full_like(t, y1)], 1)
    left = np.stack([np.full_like(t, x0), y1 - t * (y1 - y0)], 1)
    return np.concatenate([top, right, bottom, left])


def interpolate(points: np.ndarray, values: np.ndarray, anchors: np.ndarray, keep: np.ndarray,
                grid: Grid, radius_px: float) -> np.ndarray:
    """RBF-interpolate per-landmark `values` [N, C] (kept where `keep`) onto the grid.

    Anchors hold zero. Returns [gh, gw, C] float32.
    """
    ctrl = np.concatenate([points[keep], anchors])
    vals = np.concatenate([values[keep], np.zeros((len(anchors), values.shape[1]))])
    ctrl, vals = _merge_duplicates(ctrl, vals)
    dist = np.linalg.norm(ctrl[:, None, :] - ctrl[None, :, :], axis=2) / radius_px
    kernel = wendland(dist) + RIDGE * np.eye(len(ctrl))
    weights = np.linalg.solve(kernel, vals)
    pts = grid.points()
    out = np.empty((len(pts), vals.shape[1]), dtype=np.float64)
    ctrl_sq = (ctrl ** 2).sum(1)
    for start in range(0, len(pts), CHUNK_ROWS):
        chunk = pts[start:start + CHUNK_ROWS]
        # |a - b|^2 = |a|^2 + |b|^2 - 2ab: one matrix product instead of an [n, m, 2] difference.
        d2 = chunk @ (-2.0 * ctrl.T)
        d2 += (chunk ** 2).sum(1)[:, None]
        d2 += ctrl_sq[None, :]
        np.maximum(d2, 0.0, out=d2)
        d = np.sqrt(d2, out=d2)
        d /= radius_px
        out[start:start + CHUNK_ROWS] = wendland(d) @ weights
    return out.reshape(*grid.shape, vals.shape[1]).astype(np.float32)


def _merge_duplicates(ctrl: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys = np.round(ctrl / DUPLICATE_PX).astype(np.int64)
    _, first = np.unique(keys, axis=0, return_index=True)
    first = np.sort(first)
    return ctrl[first], vals[first]


def lower_weight(grid: Grid, points: np.ndarray) -> np.ndarray:
    """Per grid cell: 1 below the mouth line (jaw side), 0 above; a soft blend beside the mouth."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    axis = p[lm.LEFT_EYE_OUTER] - p[lm.RIGHT_EYE_OUTER]
    axis /= max(np.linalg.norm(axis), 1e-6)
    rot = np.array([axis, [-axis[1], axis[0]]])
    origin = 0.5 * (p[lm.MOUTH_LEFT_CORNER] + p[lm.MOUTH_RIGHT_CORNER])
    mid = 0.5 * (p[list(lm.UPPER_INNER_LIP)] + p[list(lm.LOWER_INNER_LIP)])
    mq = (mid - origin) @ rot.T
    order = np.argsort(mq[:, 0])
    q = (grid.points() - origin) @ rot.T
    line_y = np.interp(q[:, 0], mq[order, 0], mq[order, 1])
    half = 0.5 * float(mq[:, 0].max() - mq[:, 0].min())
    outside = np.maximum(np.abs(q[:, 0]) - half, 0.0)
    soft = 0.5 + 0.9 * outside
    w = np.clip(0.5 + (q[:, 1] - line_y) / (2.0 * soft), 0.0, 1.0)
    return w.reshape(grid.shape).astype(np.float32)


def invert(forward: np.ndarray, grid: Grid, iterations: int = 2) -> np.ndarray:
    """Backward field B with B(x) ~ F(x - B(x)): where to sample the source for each output cell.

    `forward` is [gh, gw, 2] in frame px, defined at source positions.
    """
    gh, gw = forward.shape[:2]
    jj, ii = _cell_positions(gh, gw)
    sx = gw / grid.width_px          # grid cells per frame px
    sy = gh / grid.height_px
    back = forward
    for _ in range(iterations):
        # Two planar maps: remap's float-map path is faster with them than with one (x, y) map.
        map_x = jj - back[..., 0] * sx
        map_y = ii - back[..., 1] * sy
        back = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return back


@functools.lru_cache(maxsize=4)
def _cell_positions(gh: int, gw: int) -> tuple[np.ndarray, np.ndarray]:
    """Column and row index of every grid cell, [gh, gw] float32 each; read only."""
    jj, ii = np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))
    jj.flags.writeable = False
    ii.flags.writeable = False
    return jj, ii
