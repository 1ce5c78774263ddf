"""Per-frame rendering: one backward remap of a head ROI plus painted mouth and lids.

Everything that depends only on the photo is computed once in `Renderer.__init__`:
landmarks in frame px, the head ROI, one coarse displacement field per control, the
head-motion fields (weighted by a soft head mask), and colours sampled from the photo.
Per frame the fields are summed, inverted on the coarse grid, upsampled, and the ROI
is remapped from the still background; outside the ROI the frame is the background.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import cv2
import numpy as np

from pipeline.animate import closed, eyes, field, mouth, rig, skin
from pipeline.face import landmarks as lm
from pipeline.face.detect import quiet_native_logs
from pipeline.types import ARTICULATION, MOTION, Layout, MotionTrack, MouthTrack, Portrait
from pipeline.video.encode import i420_planes, rgb_to_i420, rgb_to_yuv420

# Controls whose vertical parting gives way to lip_press.
PRESS_YIELDS = ("lip_open", "lip_round", "upper_lip_raise")
GRID_STEP_PX = 4              # coarse field resolution (frame px per cell)
ROI_MARGIN_X_FACE = 0.5       # ROI beyond the face oval, in face widths, each side
ROI_MARGIN_TOP_FACE = 0.6     # above the forehead landmark (hair)
ROI_MARGIN_BOTTOM_FACE = 0.45  # below the chin (neck)
YAW_PIVOT_DEPTH_FACE = 0.55   # the head turns about an axis this far behind the face plane
ROLL_PIVOT_BELOW_CHIN_FACE = 0.25
HEAD_MASK_FEATHER_FACE = 0.08
NECK_FADE_FACE = 0.35         # head motion fades out over this much neck below the chin
HEAD_DEPTH_BLUR_FACE = 0.06   # head depth smoothed over this much (no folds at the face edge)
SEGMENT_THRESHOLD = 0.5
MOUTH_BOX_PAD_E = 0.12        # mouth box beyond the outer lips, in eye distances
LIP_BAND_E = 0.16             # lip landmarks lie within this of the mouth line
JAW_CLOSE_FROM_E = 0.12       # photo lip gaps beyond this (eye distances) are closed by the jaw ...
JAW_CLOSE_MAX_E = 0.27        # ... by at most this much (the lips close the rest)
JAW_CLOSE_CORNER_FRAC = 0.3   # ... the mouth corners following it this much (its own share,
                              # apart from the rig's jaw_open: below 0.25 the raised jaw of
                              # liveportrait_d19_mouth_open no longer closes it; 0.3 lifts its
                              # corners a little out of the O's droop: rest / blink identity
                              # 0.254 / 0.377 at 0.25, 0.253 / 0.368 at 0.3, 0.267 / 0.371 at 0.4)
PHOTO_TEETH_APERTURE = 0.05   # photo mouths open wider than this show their own teeth
HEAD_CHANNELS = ("head_yaw_deg", "head_pitch_deg", "head_roll_deg", "head_dx", "head_dy")


class Renderer:
    """Precomputation for one portrait in one layout; `render_frame` is cheap and stateless."""

    def __init__(self, portrait: Portrait, layout: Layout,
                 mouth_names: tuple[str, ...] = ARTICULATION, motion_names: tuple[str, ...] = MOTION):
        self.background = np.ascontiguousarray(layout.background)
        height, width = self.background.shape[:2]
        a = np.asarray(layout.photo_to_frame, dtype=np.float64)
        lms = np.asarray(portrait.landmarks_px, dtype=np.float64)
        pts = lms[:, :2] @ a[:, :2].T + a[:, 2]
        scale = float(np.sqrt(abs(np.linalg.det(a[:, :2]))))
        depth = -lms[:, 2] * scale                       # toward the camera, frame px
        oval = pts[list(lm.FACE_OVAL)]
        face_w = float(oval[:, 0].max() - oval[:, 0].min())
        self.face_px = face_w

        x0 = int(np.floor(oval[:, 0].min() - ROI_MARGIN_X_FACE * face_w))
        x1 = int(np.ceil(oval[:, 0].max() + ROI_MARGIN_X_FACE * face_w))
        y0 = int(np.floor(oval[:, 1].min() - ROI_MARGIN_TOP_FACE * face_w))
        y1 = int(np.ceil(oval[:, 1].max() + ROI_MARGIN_BOTTOM_FACE * face_w))
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, width), min(y1, height)
        self.roi = (x0, y0, x1, y1)
        self.grid = field.make_grid(x0, y0, x1 - x0, y1 - y0, GRID_STEP_PX)

        # A photo with parted lips is closed once: every frame opens from closed lips.
        # A wide-open mouth first gets its jaw raised, so the face keeps its length.
        self.background, pts = _close_jaw(self.background, pts, self.roi, self.grid, face_w)
        shut = closed.close_mouth(self.background, pts)
        self.photo_teeth = shut.teeth if shut is not None else None
        if shut is not None:
            self.background = shut.image
            pts = shut.points
        self.points = pts

        self.rig = rig.build_rig(pts)
        self.controls = rig.CONTROLS
        self._mouth_index = {n: mouth_names.index(n) for n in self.controls if n in mouth_names}
        self._motion_index = {n: motion_names.index(n) for n in (*self.controls, *HEAD_CHANNELS)
                              if n in motion_names}
        self._teeth_i = mouth_names.index("teeth_show") if "teeth_show" in mouth_names else None
        self._tongue_i = mouth_names.index("tongue_show") if "tongue_show" in mouth_names else None
        self._blink_i = motion_names.index("blink") if "blink" in motion_names else None

        # Control fields: the face above the mouth line and below it are interpolated
        # separately (each smooth), and joined along the line per output pixel.
        disp = np.stack([self.rig.displacements[n] for n in self.controls], 1)  # [478, K, 2]
        oval_depth = np.median(depth[list(lm.FACE_OVAL)])
        values = np.concatenate([disp.reshape(len(pts), -1), depth[:, None] - oval_depth], axis=1)
        anchors = field.border_anchors(self.grid)
        radius = field.KERNEL_RADIUS_FACE * face_w
        # Each side's field leaves out the other lip: with closed lips, points of the two
        # lips sit a pixel apart and move apart, which the interpolation cannot follow.
        keep_upper, keep_lower = _keep_sides(pts, self.rig)
        # Whatever lies between the photo's own lips (teeth, when it smiles) moves with the
        # lip on its side: the mouth line itself takes each side's inner-lip motion.
        mid = 0.5 * (pts[list(lm.UPPER_INNER_LIP[1:-1])] + pts[list(lm.LOWER_INNER_LIP[1:-1])])
        pts_aug = np.concatenate([pts, mid])
        keep_upper = np.concatenate([keep_upper, np.ones(len(mid), bool)])
        keep_lower = np.concatenate([keep_lower, np.ones(len(mid), bool)])
        values_up = np.concatenate([values, values[list(lm.UPPER_INNER_LIP[1:-1])]])
        values_lo = np.concatenate([values, values[list(lm.LOWER_INNER_LIP[1:-1])]])[:, :-1]
        upper = field.interpolate(pts_aug, values_up, anchors, keep_upper, self.grid, radius)
        lower = field.interpolate(pts_aug, values_lo, anchors, keep_lower, self.grid, radius)
        gh, gw = self.grid.shape
        k = len(self.controls)
        self.upper_fields = np.ascontiguousarray(upper[..., :-1].reshape(gh, gw, k, 2).transpose(2, 0, 1, 3))
        self.lower_fields = np.ascontiguousarray(lower.reshape(gh, gw, k, 2).transpose(2, 0, 1, 3))
        self.below = field.lower_weight(self.grid, pts)               # [gh, gw], 1 on the jaw side
        depth_grid = upper[..., -1]

        head_mask = _head_mask(self.background, self.roi, self.grid, pts, face_w)
        self.head_mask = head_mask
        self.head_fields, self.head_point_disp = _head_fields(
            self.grid, head_mask, depth_grid, pts, depth - np.median(depth[list(lm.FACE_OVAL)]), face_w)

        self.mouth_colors = mouth.sample_colors(self.background, pts)
        self._mouth_line = 0.5 * (pts[list(lm.UPPER_INNER_LIP)] + pts[list(lm.LOWER_INNER_LIP)])
        # A photo that already shows its teeth keeps them: paint cavity only, no teeth.
        self._draw_teeth = lm.mouth_aperture(pts) <= PHOTO_TEETH_APERTURE
        self.lid_colors = eyes.sample_lids(self.background, pts, photo_px=scale)
        # Skin shading that follows the articulation (folds, cheeks, chin), per control.
        self.skin = skin.build_shading(pts, self.grid, self.rig.eye_px)
        self._skin_k = np.array([self.controls.index(n) if n in self.controls else -1
                                 for n in skin.CONTROLS])

        # Per frame each side's forward field is one product: [head values, control values]
        # times these stacked fields, instead of a sum of K whole-grid array operations.
        # The per-control arrays stay as views into the stacks (no second copy).
        n_head, n_cells = len(HEAD_CHANNELS), gh * gw * 2
        self._stack_up = np.concatenate([self.head_fields.reshape(n_head, n_cells),
                                         self.upper_fields.reshape(k, n_cells)])
        self._stack_lo = np.concatenate([self.head_fields.reshape(n_head, n_cells),
                                         self.lower_fields.reshape(k, n_cells)])
        self.head_fields = self._stack_up[:n_head].reshape(self.head_fields.shape)
        self.upper_fields = self._stack_up[n_head:].reshape(self.upper_fields.shape)
        self.lower_fields = self._stack_lo[n_head:].reshape(self.lower_fields.shape)
        # Sampling positions are upsampled directly from the coarse grid (cell centres minus
        # the backward field): bilinear upsampling reproduces a linear ramp exactly, except in
        # the pixel or two outside the outermost cell centres, where resize holds the edge
        # value. Those edge columns and rows get the missing ramp added back.
        self._grid_xy = np.dstack(np.meshgrid(self.grid.xs, self.grid.ys)).astype(np.float32)
        upsampled = cv2.resize(self._grid_xy, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        fix_x = np.arange(x0, x1, dtype=np.float64) - upsampled[0, :, 0]
        fix_y = np.arange(y0, y1, dtype=np.float64) - upsampled[:, 0, 1]
        self._edge_cols = np.flatnonzero(np.abs(fix_x) > 1e-3)
        self._edge_rows = np.flatnonzero(np.abs(fix_y) > 1e-3)
        self._fix_cols = fix_x[self._edge_cols].astype(np.float32)
        self._fix_rows = fix_y[self._edge_rows].astype(np.float32)[:, None]
        # The still background in the encoder's layout, for render_frame_i420 (even sizes only).
        self._background_i420 = rgb_to_i420(self.background) if width % 2 == height % 2 == 0 else None

    def control_values(self, mouth_values: np.ndarray, motion_values: np.ndarray) -> np.ndarray:
        v = np.zeros(len(self.controls), np.float32)
        for k, name in enumerate(self.controls):
            if name in self._mouth_index:
                v[k] = mouth_values[self._mouth_index[name]]
            elif name in self._motion_index:
                v[k] = motion_values[self._motion_index[name]]
        # p, b and m shut the lips whatever else the mouth is doing: anticipated rounding
        # for a following "w" or "oo" (or a lingering lip_open) must not part them.
        if "lip_press" in self._mouth_index:
            press = float(np.clip(mouth_values[self._mouth_index["lip_press"]], 0.0, 1.0))
            for k, name in enumerate(self.controls):
                if name in PRESS_YIELDS:
                    v[k] *= 1.0 - press
        return v

    def head_values(self, motion_values: np.ndarray) -> np.ndarray:
        return np.array([motion_values[self._motion_index[n]] if n in self._motion_index else 0.0
                         for n in HEAD_CHANNELS], np.float32)

    def warped_points(self, mouth_values: np.ndarray, motion_values: np.ndarray) -> np.ndarray:
        """Landmark positions (frame px) after the warp for these values."""
        v = self.control_values(mouth_values, motion_values)
        h = self.head_values(motion_values)
        disp = np.zeros_like(self.points)
        for k, name in enumerate(self.controls):
            if v[k] != 0:
                disp += v[k] * self.rig.displacements[name]
        for j in range(len(HEAD_CHANNELS)):
            if h[j] != 0:
                disp += h[j] * self.head_point_disp[j]
        return self.points + disp

    def render_frame(self, mouth_values: np.ndarray, motion_values: np.ndarray) -> np.ndarray:
        """One RGB frame (height x width x 3 uint8)."""
        frame = self.background.copy()
        x0, y0, x1, y1 = self.roi
        self._draw(frame[y0:y1, x0:x1], mouth_values, motion_values)
        return frame

    def render_frame_i420(self, mouth_values: np.ndarray, motion_values: np.ndarray) -> np.ndarray:
        """The same frame as I420 ([height * 3 // 2, width] uint8, BT.709 limited range), for
        encode(..., pix_fmt="yuv420p"): only the head ROI is converted, the rest is the
        background converted once."""
        height, width = self.background.shape[:2]
        if self._background_i420 is None:
            raise ValueError(f"I420 frames need an even frame size, not {width}x{height}")
        frame = self._background_i420.copy()
        x0, y0, x1, y1 = self.roi
        # The ROI grown to even edges, so that its chroma blocks are whole.
        ex0, ey0 = x0 - x0 % 2, y0 - y0 % 2
        ex1, ey1 = min(x1 + x1 % 2, width), min(y1 + y1 % 2, height)
        box = self.background[ey0:ey1, ex0:ex1].copy()
        if self._draw(box[y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0], mouth_values, motion_values):
            y, cb, cr = i420_planes(frame, width, height)
            rgb_to_yuv420(box, y[ey0:ey1, ex0:ex1], cb[ey0 // 2:ey1 // 2, ex0 // 2:ex1 // 2],
                          cr[ey0 // 2:ey1 // 2, ex0 // 2:ex1 // 2])
        return frame

    def _draw(self, roi: np.ndarray, mouth_values: np.ndarray, motion_values: np.ndarray) -> bool:
        """Draw the ROI (a view holding the background's ROI) in place; False: nothing moved."""
        mouth_values = np.asarray(mouth_values, np.float32)
        motion_values = np.asarray(motion_values, np.float32)
        v = self.control_values(mouth_values, motion_values)
        h = self.head_values(motion_values)
        active = np.flatnonzero(np.abs(v) > 1e-4)
        active_head = np.flatnonzero(np.abs(h) > 1e-4)
        if len(active) == 0 and len(active_head) == 0:
            return False
        points = self.warped_points(mouth_values, motion_values)
        coef = np.zeros(len(HEAD_CHANNELS) + len(v), np.float32)
        coef[active_head] = h[active_head]
        coef[len(HEAD_CHANNELS) + active] = v[active]
        grid_shape = (*self.grid.shape, 2)
        # einsum, not a matrix product: BLAS threads spin between calls and take the CPU
        # that ffmpeg, encoding beside us, needs (measured: a third more Python CPU).
        back_up = field.invert(np.einsum("k,kn->n", coef, self._stack_up).reshape(grid_shape), self.grid)
        back_lo = field.invert(np.einsum("k,kn->n", coef, self._stack_lo).reshape(grid_shape), self.grid)
        below = self.below[..., None]
        coarse = self._grid_xy - back_up
        coarse -= below * (back_lo - back_up)
        x0, y0, x1, y1 = self.roi
        source = cv2.resize(coarse, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        source[:, self._edge_cols, 0] += self._fix_cols
        source[self._edge_rows, :, 1] += self._fix_rows
        # OpenCV calls release the GIL and use both cores; the ROI is remapped straight into
        # the frame (a view), so no ROI-sized copy is made.
        cv2.remap(self.background, source, None, cv2.INTER_LINEAR, dst=roi,
                  borderMode=cv2.BORDER_REPLICATE)
        map_x, map_y = source[..., 0], source[..., 1]

        # Around the mouth, the two sides meet exactly at the moved mouth line.
        moved = points - self.points
        upper = self._mouth_line + moved[list(lm.UPPER_INNER_LIP)]
        lower = self._mouth_line + moved[list(lm.LOWER_INNER_LIP)]
        self._redraw_mouth(roi, points, upper, lower, back_up, back_lo)
        if self.skin is not None:
            skin_values = np.where(self._skin_k >= 0, v[self._skin_k], 0.0).astype(np.float32)
            skin.shade(self.skin, roi, (x0, y0), skin_values, coarse)

        teeth = float(mouth_values[self._teeth_i]) if self._teeth_i is not None else 0.5
        tongue = float(mouth_values[self._tongue_i]) if self._tongue_i is not None else 0.0
        # The opening is what the warp tore apart along the mouth line: the line carried
        # by the upper lip's motion above, by the lower lip's below. In a photo with parted
        # lips its own teeth stay with their lips; only the new gap is painted.
        mouth.paint_mouth(roi, (x0, y0), upper, lower, self.mouth_colors, self.rig.eye_px,
                          teeth, tongue, draw_teeth=self._draw_teeth,
                         photo_teeth=self.photo_teeth)
        blink = float(motion_values[self._blink_i]) if self._blink_i is not None else 0.0
        eyes.paint_lids(roi, (x0, y0), points, self.lid_colors, blink, self.rig.eye_px,
                        source_px=(map_x, map_y), rest_points_px=self.points)
        return True

    def _redraw_mouth(self, roi: np.ndarray, points: np.ndarray, upper: np.ndarray, lower: np.ndarray,
                      back_up: np.ndarray, back_lo: np.ndarray) -> None:
        """Re-sample the mouth box choosing the upper or lower field by the moved mouth line."""
        rx0, ry0, rx1, ry1 = self.roi
        lips = points[list(lm.OUTER_LIPS)]
        pad = MOUTH_BOX_PAD_E * self.rig.eye_px
        bx0 = max(int(np.floor(lips[:, 0].min() - pad)), rx0)
        bx1 = min(int(np.ceil(lips[:, 0].max() + pad)), rx1)
        by0 = max(int(np.floor(lips[:, 1].min() - pad)), ry0)
        by1 = min(int(np.ceil(lips[:, 1].max() + pad)), ry1)
        if bx1 - bx0 < 2 or by1 - by0 < 2:
            return
        g = self.grid
        gh, gw = g.shape
        # Grid-cell coordinates of the box pixels, to upsample just this part of the fields
        # (from the few grid cells around the box: inside the grid, edge replication is the
        # same as for the whole grid).
        cx = ((np.arange(bx0, bx1) - g.xs[0]) / (g.xs[1] - g.xs[0])).astype(np.float32)
        cy = ((np.arange(by0, by1) - g.ys[0]) / (g.ys[1] - g.ys[0])).astype(np.float32)
        j0, j1 = max(int(np.floor(cx[0])) - 1, 0), min(int(np.ceil(cx[-1])) + 2, gw)
        i0, i1 = max(int(np.floor(cy[0])) - 1, 0), min(int(np.ceil(cy[-1])) + 2, gh)
        mx, my = np.meshgrid(cx - j0, cy - i0)
        b_up = cv2.remap(back_up[i0:i1, j0:j1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        b_lo = cv2.remap(back_lo[i0:i1, j0:j1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        xs = np.arange(bx0, bx1, dtype=np.float64)
        tear = 0.5 * (upper + lower)
        order = np.argsort(tear[:, 0])
        tear_y = np.interp(xs, tear[order, 0], tear[order, 1]).astype(np.float32)
        inside = (xs >= tear[:, 0].min()) & (xs <= tear[:, 0].max())
        ys = np.arange(by0, by1, dtype=np.float32)[:, None]
        w = np.clip(ys - (tear_y - 0.5), 0, 1)
        if not inside.all():
            # Beside the mouth corners the fields blend as on the coarse grid.
            below = cv2.remap(self.below[i0:i1, j0:j1], mx, my, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
            w = np.where(inside[None, :], w, below)
        back = b_lo - b_up
        back *= w[..., None]
        back += b_up
        # Sampling positions: each box pixel's own position minus the field.
        map_x = xs.astype(np.float32)[None, :] - back[..., 0]
        map_y = ys - back[..., 1]
        patch = cv2.remap(self.background, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        roi[by0 - ry0:by1 - ry0, bx0 - rx0:bx1 - rx0] = patch


def _keep_sides(pts: np.ndarray, face_rig: rig.Rig) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks each side's field is fitted to: all but the other lip.

    With closed lips, points of the two lips sit a pixel apart and move apart, which
    one smooth interpolation cannot follow.
    """
    mid = 0.5 * (pts[list(lm.UPPER_INNER_LIP)] + pts[list(lm.LOWER_INNER_LIP)])
    order = np.argsort(mid[:, 0])
    line_y = np.interp(pts[:, 0], mid[order, 0], mid[order, 1])
    left, right = pts[lm.MOUTH_LEFT_CORNER, 0], pts[lm.MOUTH_RIGHT_CORNER, 0]
    pad = 0.05 * (right - left)
    within = (pts[:, 0] > left - pad) & (pts[:, 0] < right + pad)
    near = within & (np.abs(pts[:, 1] - line_y) < LIP_BAND_E * face_rig.eye_px)
    keep_upper = ~(face_rig.lower & near)
    keep_upper[list(lm.LOWER_INNER_LIP[1:-1])] = False
    keep_lower = ~(~face_rig.lower & near)
    keep_lower[list(lm.UPPER_INNER_LIP[1:-1])] = False
    return keep_upper, keep_lower


def _close_jaw(background: np.ndarray, pts: np.ndarray, roi: tuple[int, int, int, int],
               grid: field.Grid, face_w: float) -> tuple[np.ndarray, np.ndarray]:
    """Raise the jaw of a wide-open photo mouth (a negative jaw_open), image and landmarks.

    Only the opening beyond what the lips can close by themselves is taken up by the
    jaw; a photo with a smaller opening is returned as it is.
    """
    eye_px = lm.eye_distance(pts)
    gap_px = float(np.linalg.norm(pts[14, :2] - pts[13, :2]))
    raise_px = float(np.clip(gap_px - JAW_CLOSE_FROM_E * eye_px, 0, JAW_CLOSE_MAX_E * eye_px))
    amount = raise_px / (rig.JAW_DROP_E * eye_px)
    if amount <= 0.02:
        return background, pts
    face_rig = rig.build_rig(pts, jaw_corner_frac=JAW_CLOSE_CORNER_FRAC)
    disp = -amount * face_rig.displacements["jaw_open"].astype(np.float64)
    keep_upper, keep_lower = _keep_sides(pts, face_rig)
    anchors = field.border_anchors(grid)
    radius = field.KERNEL_RADIUS_FACE * face_w
    upper = field.interpolate(pts, disp, anchors, keep_upper, grid, radius)
    lower = field.interpolate(pts, disp, anchors, keep_lower, grid, radius)
    below = field.lower_weight(grid, pts)[..., None]
    back = field.invert(upper, grid) * (1 - below) + field.invert(lower, grid) * below
    x0, y0, x1, y1 = roi
    back = cv2.resize(back, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    out = background.copy()
    out[y0:y1, x0:x1] = cv2.remap(background, gx - back[..., 0], gy - back[..., 1], cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
    return out, pts + disp


def frames(portrait: Portrait, layout: Layout, mouth_track: MouthTrack, motion: MotionTrack
           ) -> Iterator[np.ndarray]:
    """One RGB frame (height x width x 3 uint8) per track frame."""
    renderer = Renderer(portrait, layout, tuple(mouth_track.names), tuple(motion.names))
    n = min(len(mouth_track), len(motion))
    for i in range(n):
        yield renderer.render_frame(mouth_track.values[i], motion.values[i])


@functools.lru_cache(maxsize=1)
def _segmenter():
    import mediapipe as mp

    with quiet_native_logs():
        return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)


def _person_mask(image: np.ndarray) -> np.ndarray | None:
    try:
        with quiet_native_logs():
            result = _segmenter().process(np.ascontiguousarray(image))
    except Exception:   # the mask only refines the head region; the ellipse below still works
        return None
    if result.segmentation_mask is None:
        return None
    return np.asarray(result.segmentation_mask, np.float32)


def _head_mask(background: np.ndarray, roi: tuple[int, int, int, int], grid: field.Grid,
               pts: np.ndarray, face_w: float) -> np.ndarray:
    """Soft weight per grid cell: 1 on the head and hair, 0 on the background and below the neck."""
    x0, y0, x1, y1 = roi
    gp = grid.points()
    center = np.array([0.5 * (pts[lm.FACE_LEFT_EDGE, 0] + pts[lm.FACE_RIGHT_EDGE, 0]),
                       0.5 * (pts[lm.FOREHEAD_TOP, 1] + pts[lm.CHIN, 1]) - 0.12 * face_w])
    half_h = 0.5 * (pts[lm.CHIN, 1] - pts[lm.FOREHEAD_TOP, 1]) + 0.32 * face_w
    # Head-and-hair ellipse: the region that may move with the head.
    r = np.sqrt(((gp[:, 0] - center[0]) / (0.78 * face_w)) ** 2 + ((gp[:, 1] - center[1]) / half_h) ** 2)
    ellipse = np.clip((1.15 - r) / 0.3, 0, 1)
    chin_y = pts[lm.CHIN, 1]
    neck = np.clip(1 - (gp[:, 1] - chin_y) / (NECK_FADE_FACE * face_w), 0, 1)
    neck_x = np.clip(1 - (np.abs(gp[:, 0] - pts[lm.CHIN, 0]) - 0.3 * face_w) / (0.3 * face_w), 0, 1)
    neck = np.where(gp[:, 1] > chin_y, neck * neck_x, 1.0)
    weight = (ellipse * neck).reshape(grid.shape)

    person = _person_mask(background[y0:y1, x0:x1])
    if person is not None:
        person = cv2.resize(person, (grid.shape[1], grid.shape[0]), interpolation=cv2.INTER_AREA)
        person = np.clip((person - 0.2) / 0.6, 0, 1)
        face = np.zeros(grid.shape, np.float32)
        oval = ((pts[list(lm.FACE_OVAL)] - [grid.xs[0], grid.ys[0]]) / grid.step_px).astype(np.int32)
        cv2.fillPoly(face, [oval], 1.0)
        weight = weight * np.maximum(person, face)
    sigma = max(HEAD_MASK_FEATHER_FACE * face_w / grid.step_px, 0.5)
    weight = cv2.GaussianBlur(weight.astype(np.float32), (0, 0), sigma)
    return weight.astype(np.float32)


def _head_fields(grid: field.Grid, mask: np.ndarray, depth_grid: np.ndarray, pts: np.ndarray,
                 depth_pts: np.ndarray, face_w: float) -> tuple[np.ndarray, np.ndarray]:
    """Per head channel (per degree / per face width): coarse fields [5, gh, gw, 2] and landmark shifts."""
    pivot = np.array([pts[lm.CHIN, 0], pts[lm.CHIN, 1] + ROLL_PIVOT_BELOW_CHIN_FACE * face_w])
    arm = YAW_PIVOT_DEPTH_FACE * face_w
    rad = np.pi / 180.0

    def channels(x, y, d, w):
        zero = np.zeros_like(x)
        lever = (arm + d) * rad
        return [
            (w * lever, zero),                                   # yaw: + turns the nose to image right
            (zero, w * lever),                                   # pitch: + chin down
            (-w * (y - pivot[1]) * rad, w * (x - pivot[0]) * rad),  # roll: + clockwise
            (w * face_w, zero),
            (zero, w * face_w),
        ]

    # Depth interpolated from the landmarks overshoots past the face edge (negative or larger
    # than the nose), so hair beside the temple moved against the face and folded from about
    # 3 degrees of yaw. Clamped to the landmarks' own range and smoothed, it only fades.
    depth_grid = cv2.GaussianBlur(
        np.clip(depth_grid, 0.0, float(depth_pts.max())).astype(np.float32), (0, 0),
        HEAD_DEPTH_BLUR_FACE * face_w / grid.step_px)
    depth_pts = np.clip(depth_pts, 0.0, None)
    gx, gy = np.meshgrid(grid.xs, grid.ys)
    fields = np.stack([np.stack(c, -1) for c in channels(gx, gy, depth_grid, mask)]).astype(np.float32)
    # The mask at the landmarks, sampled from the grid.
    mx = (pts[:, 0] - grid.xs[0]) / (grid.xs[1] - grid.xs[0])
    my = (pts[:, 1] - grid.ys[0]) / (grid.ys[1] - grid.ys[0])
    w_pts = cv2.remap(mask, mx.astype(np.float32)[None, :], my.astype(np.float32)[None, :],
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0]
    point_disp = np.stack([np.stack(c, -1) for c in channels(pts[:, 0], pts[:, 1], depth_pts, w_pts)])
    return fields, point_disp
