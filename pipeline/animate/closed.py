"""A closed-mouth base for photos that smile or talk with parted lips.

Every frame is rendered from one still: if the photo's lips are apart (teeth, a dark
gap), rest and p/b/m would show them. So once per photo the visible gap is found by
colour inside the outer-lip outline (teeth: bright, unsaturated; cavity: dark), and
closed with a vertical per-column warp: the upper lip's lower edge and the lower lip's
upper edge meet at a seam nearer the upper lip (SEAM_SHARE_UP). Most of each lip's move
is taken by the lip itself growing fuller, its outer edge staying put (a closed-lip
smile keeps the photo's mouth outline, which the identity measure is sensitive to); the
rest moves the lip rigidly and the skin toward the nose or chin takes that stretch. A
soft, slightly darker seam is drawn where they meet, and the inner-lip landmarks are
moved onto it so the rig opens from closed.
The photo's own teeth are kept (with the gap's top edge) for the open mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.face import landmarks as lm

OPEN_APERTURE = 0.02          # photos with a mouth aperture above this are closed
CANDIDATE_GROW_E = 0.025      # gap pixels lie within this of mediapipe's inner-lip outline
LIP_EDGE_SHRINK_E = 0.012     # ... and this far inside the outer-lip outline
TEETH_RATIO = 0.5             # teeth: redness below this share of the lips' redness
CAVITY_LUMA = 0.6             # cavity: luma below this share of the lips' luma
EDGE_MARGIN_E = 0.012         # close this much beyond the detected gap (its blended edge)
EDGE_SMOOTH_E = 0.03          # the gap's edges are smoothed over this width
RIGID_LIP = 0.3               # the first part of the falloff moves rigidly (lip thickness)
UP_REACH = 0.9                # the upper stretch fades out at this share of the way to the nose
DOWN_REACH = 0.6              # ... the lower one at this share of the way to the chin
SLIVER_E = 0.025              # gap colour left this close to the seam is inpainted
SEAM_SIGMA_E = 0.009          # seam line softness
SEAM_DARKEN = 0.15            # seam darkness in the middle of the mouth ...
SEAM_DARKEN_CORNER = 0.5      # ... and at the corners
TEETH_PROBE_E = 0.04          # the photo's teeth: probed this far under its upper lip ...
TEETH_PROBE_HALF_SPAN = 0.5   # ... across this share of the mouth ...
TEETH_PROBE_SHARE = 0.6       # ... and used when this share of the columns shows teeth
SEAM_CORNER_FADE_E = 0.07     # the seam fades in over this much from each corner
SEAM_SIDE_PX = 0.5            # lip landmarks from inside the gap land this far off the seam
# dlib's face descriptor (the identity measure) aligns faces on the eyes, nose and upper lip,
# and tells a changed mouth outline from the photo's: the upper lip moves least, and most of
# the gap is closed by fuller lips whose outer edges stay where the photo has them.
# Over a smile's teeth, growing the lips up to 2.5x (was 1.8x, with 30 % of the move rigid)
# keeps more of the photo's outline: rest identity 0.29 -> 0.22 on sadtalker_happy1, 0.27 -> 0.24
# on the selfie.
SEAM_SHARE_UP = 0.3           # share of the gap the upper lip closes (the rest: the lower lip)
LIP_STRETCH = 1.0             # share of each lip's move taken by stretching the lip itself ...
LIP_GROW_MAX = 2.5            # ... up to this many times its thickness; the rest moves rigidly
# A mouth open without teeth in view (talking, a yawn) shows the wet inner lip: grown that
# far it reads as a swollen lip, and FaceMesh takes it for an open mouth. It grows less.
TEETH_GAP_SHARE = 0.25        # teeth in view: the gap's mean teeth-likeness is at least this
LIP_STRETCH_NO_TEETH = 0.7
LIP_GROW_MAX_NO_TEETH = 1.8
# A lip grown over a mouth without teeth draws its wet inner edge and creases out into
# vertical streaks (liveportrait_d19_mouth_open's lower lip): it is smoothed across this much
# where it stretched. Over teeth the lips grow from their own (dry) surface and keep their texture.
STRETCH_SMOOTH_E = 0.015
# Without teeth the upper lip takes all of its move by growing, its outer edge (which dlib
# aligns faces on) staying put: moved rigidly it kept the thin, pale lip of a mouth stretched
# around an "O" and slid the philtrum down. Rest identity 0.262 -> 0.249 on
# liveportrait_d19_mouth_open, 0.247 -> 0.209 on liveportrait_s2_bw, 0.195 -> 0.130 on
# facerec_lin-manuel-miranda_mic.
LIP_STRETCH_UP_NO_TEETH = 1.0
LIP_GROW_MAX_UP_NO_TEETH = 4.0
# A wide-open mouth without teeth (a yawn, an "O") turns its lower lip out: the wet inner lip
# shows, and brought up to the seam it made a swollen pink lower lip under a thin upper one.
# Closed, that part rolls back in: the lower lip moves up this share of its red further than
# the gap, so the seam meets its dry outer part; the upper lip, stretched thin around the O,
# gets the lower lip's dry colour (TINT_UP share of the difference) so it reads as a lip.
# On d19 the lips' red at the middle of the mouth (tests/test_closed.py) went from 0.008 eye
# distances above the seam and 0.158 below it to 0.086 and 0.091.
# Only for gaps of at least WIDE_GAP_E (eye distances; d19: 0.18, the talking lin-manuel:
# 0.15 with some teeth) with no teeth in view and a colour photo (the red measures the lip).
WIDE_GAP_E = 0.12             # the wide-open treatment fades in from here ...
WIDE_GAP_RAMP_E = 0.04        # ... over this much more gap
WIDE_TEETH_SHARE = 0.05       # and only where the gap's teeth-likeness is below this
ROLL_IN_DN = 0.3              # share of the lower lip's red (below the gap) that rolls in
TINT_UP = 0.7                 # share of the colour difference to the dry lower lip
TINT_EDGE_SIGMA_E = 0.008     # the tinted upper lip's edges soften over this
TINT_PROBE_E = 0.06           # the dry lower lip's colour: sampled this deep under the seam
# The upper lip, now fuller, meets the lower one a bit higher: on d19 (rest / blink) the seam
# at 30 % of the gap measured 0.253 / 0.377, at 28 % 0.253 / 0.378, at 22 % 0.253 / 0.368,
# at 20 % 0.256 / 0.372.
SEAM_SHARE_UP_WIDE = 0.22
# Below a lip moved rigidly (without teeth: the lower one) the skin takes the move over
# `reach`; a short reach with a big move folded it (slope 1.1 under d19's lower lip: a flat
# brown band of one stretched shadow row). Its slope is held to this (1: just no fold).
SKIN_SLOPE_MAX = 1.0


@dataclass
class PhotoTeeth:
    """The photo's own open mouth, to show its teeth when the rendered mouth opens."""

    image: np.ndarray        # [h, w, 3] uint8: the original mouth box
    origin: tuple[int, int]  # box origin in frame px
    top_y: np.ndarray        # [w] frame px: the gap's top edge (under the upper lip) per box column
    bottom_y: np.ndarray     # [w] frame px: the gap's bottom edge
    teeth: np.ndarray        # [h, w] float32 in [0, 1]: how teeth-like each pixel is
    center_x: float          # mouth centre and half width (frame px) in the photo
    half_width: float


@dataclass
class ClosedMouth:
    image: np.ndarray        # the frame with the lips closed
    points: np.ndarray       # [478, 2] landmarks moved with the warp, inner lips on the seam
    teeth: PhotoTeeth | None


def close_mouth(image: np.ndarray, points_px: np.ndarray) -> ClosedMouth | None:
    """Close the lips of `image` (RGB uint8, landmarks `points_px` [478, 2+] in its px).

    None when the mouth is already closed or no gap is found.
    """
    p = np.asarray(points_px, dtype=np.float64)[:, :2]
    if lm.mouth_aperture(p) <= OPEN_APERTURE:
        return None
    eye_px = lm.eye_distance(p)
    h_img, w_img = image.shape[:2]
    outer = p[list(lm.OUTER_LIPS)]
    pad = int(np.ceil(0.1 * eye_px)) + 2
    bx0 = max(int(np.floor(outer[:, 0].min())) - pad, 0)
    bx1 = min(int(np.ceil(outer[:, 0].max())) + pad, w_img)
    by0 = max(int(np.floor(outer[:, 1].min())) - pad, 0)
    by1 = min(int(np.ceil(outer[:, 1].max())) + pad, h_img)
    box = image[by0:by1, bx0:bx1].astype(np.float32)
    off = np.array([bx0, by0], np.float64)

    lips = _lip_reference(box, p - off)
    gap, teethness = _gap_mask(box, p - off, eye_px, lips)
    cols = np.flatnonzero(gap.any(axis=0))
    if len(cols) < 3:
        return None
    bw = bx1 - bx0
    top = np.full(bw, np.nan)
    bot = np.full(bw, np.nan)
    for c in cols:
        rows = np.flatnonzero(gap[:, c])
        top[c], bot[c] = rows[0] - 0.5, rows[-1] + 0.5
    span = np.arange(cols[0], cols[-1] + 1)
    top[span] = np.interp(span, cols, top[cols])
    bot[span] = np.interp(span, cols, bot[cols])
    # Smooth edges that still cover every gap pixel: a min/max envelope, then a blur.
    k = max(3, int(round(EDGE_SMOOTH_E * eye_px)) | 1)
    mid = 0.5 * (top + bot)
    half = 0.5 * (bot - top)
    half[span] += EDGE_MARGIN_E * eye_px
    half = np.where(np.isfinite(half), half, 0.0)
    mid_full = np.interp(np.arange(bw), span, mid[span])
    half = cv2.dilate(half.astype(np.float32)[None, :], np.ones((1, k), np.uint8))[0].astype(np.float64)
    sigma = 0.4 * k
    half = cv2.GaussianBlur(half[None, :], (0, 0), sigma)[0]
    mid_full = cv2.GaussianBlur(mid_full[None, :], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)[0]
    half = np.maximum(half, 0.0)

    # Where the lips meet, and how far each lip moves to get there (box px per column).
    teeth_share = float(teethness[gap].mean())
    with_teeth = teeth_share >= TEETH_GAP_SHARE
    wide = _wide_open(teeth_share, lips, half, eye_px)
    share_up = SEAM_SHARE_UP + wide * (SEAM_SHARE_UP_WIDE - SEAM_SHARE_UP)
    seam = mid_full + (2 * share_up - 1) * half
    move_up = 2 * share_up * half
    move_dn = 2 * (1 - share_up) * half
    # Each lip's outer edge: the part of the move that stretches the lip stops there.
    xs_box = np.arange(bw, dtype=np.float64) + bx0
    edge_up = _edge_y(p, lm.UPPER_OUTER_LIP, xs_box) - by0
    edge_dn = _edge_y(p, lm.LOWER_OUTER_LIP, xs_box) - by0
    lip_up = np.maximum(seam - edge_up, move_up + 1.0)
    lip_dn = np.maximum(edge_dn - seam, move_dn + 1.0)
    stretch, grow_max = (LIP_STRETCH, LIP_GROW_MAX) if with_teeth else \
        (LIP_STRETCH_NO_TEETH, LIP_GROW_MAX_NO_TEETH)
    stretch_up, grow_max_up = (LIP_STRETCH, LIP_GROW_MAX) if with_teeth else \
        (LIP_STRETCH_UP_NO_TEETH, LIP_GROW_MAX_UP_NO_TEETH)
    grow_up = np.minimum(stretch_up * move_up, (grow_max_up - 1) * (lip_up - move_up))
    grow_dn = np.minimum(stretch * move_dn, (grow_max - 1) * (lip_dn - move_dn))
    rigid_up = move_up - grow_up
    rigid_dn = move_dn - grow_dn
    if wide > 0:
        # Bounded by the gap's own move, so it fades out toward the corners with the gap.
        red_dn = _red_below(box, mid_full + half, p - off, eye_px, lips)
        roll = np.minimum(ROLL_IN_DN * red_dn, move_dn)
        rigid_dn = rigid_dn + wide * roll
    # Reach of the stretch above and below, per column (box px).
    nose_y = p[2, 1] - by0
    chin_y = p[lm.CHIN, 1] - by0
    reach_up = np.maximum(UP_REACH * (seam - nose_y), 2.2 * half / (1 - RIGID_LIP))
    reach_dn = np.maximum(DOWN_REACH * (chin_y - seam), 2.2 * half / (1 - RIGID_LIP))
    if not with_teeth:
        # The fade's steepest slope (smoothstep: 1.5 / its width) stays below SKIN_SLOPE_MAX.
        reach_dn = np.maximum(reach_dn, 1.5 * rigid_dn / (SKIN_SLOPE_MAX * (1 - RIGID_LIP)))
    if wide > 0:
        # The rest of the lower lip's red moves rigidly: the fade starts under it (at the sides
        # of d19's mouth the red reaches deeper, and fading across it drew pink vertical bars).
        reach_dn = np.maximum(reach_dn, wide * (red_dn - roll) / RIGID_LIP)
    # The warp region can extend past the lip box: work on a taller box.
    wy0 = max(int(np.floor(by0 + (seam - reach_up).min())) - 2, 0)
    wy1 = min(int(np.ceil(by0 + (seam + reach_dn).max())) + 2, h_img)
    shift = by0 - wy0
    seam_w = seam + shift                       # in warp-box rows
    ys = np.arange(wy1 - wy0, dtype=np.float64)[:, None]
    above = ys < seam_w[None, :]
    dist = np.where(above, seam_w[None, :] - ys, ys - seam_w[None, :])
    up = _shift(dist, *(a[None, :] for a in (grow_up, rigid_up, lip_up, reach_up)))
    dn = _shift(dist, *(a[None, :] for a in (grow_dn, rigid_dn, lip_dn, reach_dn)))
    src_y = np.where(above, ys - up, ys + dn)
    src_x = np.broadcast_to(np.arange(bx0, bx1, dtype=np.float32)[None, :], src_y.shape)
    out = image.copy()
    warped = cv2.remap(image, np.ascontiguousarray(src_x, np.float32), (src_y + wy0).astype(np.float32),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if not with_teeth and STRETCH_SMOOTH_E > 0:
        rate = np.gradient(src_y, axis=0)                    # source rows per output row
        w = np.clip((1.0 - rate) / 0.5, 0.0, 1.0).astype(np.float32)[..., None]   # full at 2x drawn out
        across = cv2.GaussianBlur(warped.astype(np.float32), (0, 0), sigmaX=STRETCH_SMOOTH_E * eye_px,
                                  sigmaY=0.5)
        warped = np.clip(warped + w * (across - warped) + 0.5, 0, 255).astype(np.uint8)
    out[wy0:wy1, bx0:bx1] = warped

    seam_y = seam + by0                         # frame px per box column
    xs = np.arange(bx0, bx1, dtype=np.float64)
    _fill_sliver(out, xs, seam_y, half > 0.5, eye_px, lips)
    _draw_seam(out, p, xs, seam_y, half, eye_px)

    new_p = _move_points(p, xs, seam_y, (grow_up, grow_dn), (rigid_up, rigid_dn),
                         (lip_up, lip_dn), (reach_up, reach_dn))
    if wide > 0:
        _tint_upper_lip(out, new_p, xs, seam_y, eye_px, wide * TINT_UP)
    teeth = _photo_teeth(image, (bx0, by0, bx1, by1), top, bot, teethness, p, eye_px)
    return ClosedMouth(image=out, points=new_p, teeth=teeth)


def _wide_open(teeth_share: float, lips: tuple[float, float], half: np.ndarray, eye_px: float) -> float:
    """0..1: how much this is a wide-open mouth without teeth (the gap's mean teeth-likeness
    under WIDE_TEETH_SHARE) in a colour photo (`lips`: _lip_reference's redness and luma)."""
    if teeth_share >= WIDE_TEETH_SHARE or lips[0] < 0.05:
        return 0.0
    gap_e = 2 * float(half.max()) / eye_px
    return float(np.clip((gap_e - WIDE_GAP_E) / WIDE_GAP_RAMP_E, 0, 1))


def _red_below(box: np.ndarray, start: np.ndarray, p: np.ndarray, eye_px: float,
               lips: tuple[float, float]) -> np.ndarray:
    """Per box column: how far (px) the lower lip's red reaches below `start` (box rows).

    Red: redness over halfway from the skin around the mouth to the lips' median.
    """
    h, w = box.shape[:2]
    redness, _ = _redness_luma(cv2.GaussianBlur(box, (0, 0), 1.0))
    outer = np.zeros((h, w), np.uint8)
    cv2.fillPoly(outer, [np.round(p[list(lm.OUTER_LIPS)]).astype(np.int32)], 1)
    g = max(1, int(round(0.05 * eye_px)))
    ring = (cv2.dilate(outer, np.ones((2 * g + 1, 2 * g + 1), np.uint8)) > 0) & (outer == 0)
    threshold = 0.5 * (lips[0] + float(np.median(redness[ring])))
    out = np.zeros(w)
    for c in range(w):
        if not np.isfinite(start[c]) or int(np.ceil(start[c])) >= h:
            continue
        pale = redness[int(np.ceil(start[c])):, c] < threshold
        out[c] = float(np.argmax(pale)) if pale.any() else float(len(pale))
    return cv2.GaussianBlur(out[None, :], (0, 0), 0.02 * eye_px)[0]


def _tint_upper_lip(out: np.ndarray, p: np.ndarray, xs: np.ndarray, seam_y: np.ndarray, eye_px: float,
                    amount: float) -> None:
    """Shift the upper lip's mean colour toward the dry lower lip's, keeping its texture."""
    left, right = p[lm.MOUTH_LEFT_CORNER], p[lm.MOUTH_RIGHT_CORNER]
    cols = np.flatnonzero((xs > left[0]) & (xs < right[0]))
    if len(cols) < 3:
        return
    sx, sy = xs[cols], seam_y[cols]
    edge = _edge_y(p, lm.UPPER_OUTER_LIP, sx)
    sigma = max(TINT_EDGE_SIGMA_E * eye_px, 0.7)
    x0, x1 = int(sx[0]), int(sx[-1]) + 1
    y0 = max(int(np.floor(edge.min() - 4 * sigma)), 0)
    y1 = min(int(np.ceil(sy.max() + 4 * sigma)) + 1, out.shape[0])
    rows = np.arange(y0, y1, dtype=np.float64)[:, None]
    # Between the upper lip's outer outline and the seam, soft-edged; fading into the corners
    # (where the photo's outline and the seam meet at an angle the tint would overshoot).
    inside = 1 / (1 + np.exp(-(rows - edge[None, :]) / sigma)) / (1 + np.exp((rows - sy[None, :]) / sigma))
    cx, hw = 0.5 * (left[0] + right[0]), max(0.5 * (right[0] - left[0]), 1.0)
    u = (sx - cx) / hw
    inside *= np.clip((1 - np.abs(u)) / 0.25, 0, 1)[None, :]
    depth = max(2, int(round(TINT_PROBE_E * eye_px)))
    middle = np.abs(u) < 0.4
    probe = [out[int(y) + 2:int(y) + 2 + depth, int(x)] for x, y in zip(sx[middle], sy[middle], strict=True)]
    # (a photo cut off just under the lips leaves nothing to sample: no tint then)
    dry_px = np.concatenate(probe).astype(np.float32) if probe else np.zeros((0, 3), np.float32)
    if len(dry_px) == 0 or not (inside > 0.5).any():
        return
    dry = np.median(dry_px, axis=0)
    patch = out[y0:y1, x0:x1].astype(np.float32)
    upper = np.median(patch[inside > 0.5], axis=0)
    patch += amount * inside[..., None] * (dry - upper)[None, None, :]
    out[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)


def _photo_teeth(image: np.ndarray, box: tuple[int, int, int, int], top: np.ndarray, bot: np.ndarray,
                 teethness: np.ndarray, p: np.ndarray, eye_px: float) -> PhotoTeeth | None:
    """The photo's upper teeth when it shows enough of them (else None: synthesized ones)."""
    bx0, by0, bx1, by1 = box
    cx = 0.5 * (p[lm.MOUTH_LEFT_CORNER, 0] + p[lm.MOUTH_RIGHT_CORNER, 0])
    half_w = 0.5 * abs(p[lm.MOUTH_RIGHT_CORNER, 0] - p[lm.MOUTH_LEFT_CORNER, 0])
    band = max(2, int(round(TEETH_PROBE_E * eye_px)))
    shown = []
    for c in range(len(top)):
        if abs(bx0 + c - cx) > TEETH_PROBE_HALF_SPAN * half_w:
            continue
        if not np.isfinite(top[c]):
            shown.append(0.0)
            continue
        r0 = int(np.ceil(top[c]))
        shown.append(float(teethness[r0:r0 + band, c].mean()) if r0 < teethness.shape[0] else 0.0)
    if not shown or float(np.mean(np.asarray(shown) > 0.4)) < TEETH_PROBE_SHARE:
        return None
    # The teeth cover everything from the lip down to their biting edge: the pink gum
    # triangles between them are part of the picture, not holes into the cavity.
    cover = np.maximum.accumulate(teethness[::-1], axis=0)[::-1]
    rows = np.arange(teethness.shape[0], dtype=np.float64)[:, None]
    cover = cover * (rows >= np.nan_to_num(top, nan=np.inf)[None, :] - 1)
    cover = cv2.GaussianBlur(cover.astype(np.float32), (0, 0), 0.7)
    return PhotoTeeth(image=image[by0:by1, bx0:bx1].copy(), origin=(bx0, by0),
                      top_y=top + by0, bottom_y=bot + by0, teeth=cover, center_x=cx,
                      half_width=half_w)


def _falloff(s: np.ndarray) -> np.ndarray:
    """1 over the rigid lip, then a smooth fade to 0 at s = 1."""
    t = np.clip((s - RIGID_LIP) / (1 - RIGID_LIP), 0, 1)
    return 1 - t * t * (3 - 2 * t)


def _lip_reference(box: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Median redness and luma of the lips (outer outline minus a grown inner outline)."""
    h, w = box.shape[:2]
    eye_px = lm.eye_distance(p)
    outer = np.zeros((h, w), np.uint8)
    cv2.fillPoly(outer, [np.round(p[list(lm.OUTER_LIPS)]).astype(np.int32)], 1)
    inner = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inner, [np.round(p[list(lm.INNER_LIPS)]).astype(np.int32)], 1)
    g = max(1, int(round(0.02 * eye_px)))
    inner = cv2.dilate(inner, np.ones((2 * g + 1, 2 * g + 1), np.uint8))
    redness, luma = _redness_luma(box)
    sel = (outer > 0) & (inner == 0)
    if sel.sum() < 10:
        sel = outer > 0
    return float(np.median(redness[sel])), float(np.median(luma[sel]))


def _redness_luma(px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    px = px.astype(np.float32)
    luma = 0.299 * px[..., 0] + 0.587 * px[..., 1] + 0.114 * px[..., 2]
    redness = (px[..., 0] - 0.5 * (px[..., 1] + px[..., 2])) / (luma + 20.0)
    return redness, luma


def _gap_mask(box: np.ndarray, p: np.ndarray, eye_px: float, lips: tuple[float, float]
              ) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of the visible gap (teeth, cavity) and a teeth-likeness map, in the box
    (`lips`: _lip_reference's redness and luma)."""
    h, w = box.shape[:2]
    lip_red, lip_luma = lips
    redness, luma = _redness_luma(box)
    teeth = (redness < TEETH_RATIO * lip_red) & (luma > 0.8 * lip_luma)
    dark = luma < CAVITY_LUMA * lip_luma
    colour = teeth | dark
    if lip_red < 0.05:          # no colour to go by (grey photo): darkness only
        colour = dark | (luma > 1.25 * lip_luma)

    inner = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inner, [np.round(p[list(lm.INNER_LIPS)]).astype(np.int32)], 1)
    g = max(1, int(round(CANDIDATE_GROW_E * eye_px)))
    near = cv2.dilate(inner, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * g + 1, 2 * g + 1)))
    outer = np.zeros((h, w), np.uint8)
    cv2.fillPoly(outer, [np.round(p[list(lm.OUTER_LIPS)]).astype(np.int32)], 1)
    s = max(1, int(round(LIP_EDGE_SHRINK_E * eye_px)))
    outer = cv2.erode(outer, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * s + 1, 2 * s + 1)))
    gap = (colour & (near > 0) & (outer > 0)).astype(np.uint8)
    # Mediapipe's own inner outline counts too (a pink tongue in a wide-open mouth is
    # neither bright nor dark), but not the blended ring at its edge.
    gap |= cv2.erode(inner, np.ones((3, 3), np.uint8)) & (outer > 0)
    c = max(3, int(round(0.015 * eye_px)) | 1)
    gap = cv2.morphologyEx(gap, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (c, c)))
    # Only what connects to the mouth opening: stray specks on the lips stay lips.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(gap, connectivity=8)
    keep = np.zeros(n, bool)
    for i in range(1, n):
        keep[i] = bool((inner[labels == i] > 0).any()) or stats[i, cv2.CC_STAT_AREA] > 0.002 * eye_px ** 2
    gap = keep[labels] & (gap > 0)
    teethness = np.clip((0.85 * lip_red - redness) / max(0.4 * lip_red, 0.02), 0, 1)
    teethness *= np.clip((luma - 0.75 * lip_luma) / (0.25 * lip_luma + 1), 0, 1)
    return gap, teethness.astype(np.float32)


def _fill_sliver(out: np.ndarray, xs: np.ndarray, seam_y: np.ndarray, active: np.ndarray,
                 eye_px: float, lip_ref: tuple[float, float]) -> None:
    """Inpaint gap-coloured pixels left next to the seam with the surrounding lip colour."""
    r = max(1, int(np.ceil(SLIVER_E * eye_px)))
    cols = np.flatnonzero(active)
    if len(cols) == 0:
        return
    x0, x1 = int(xs[cols[0]]), int(xs[cols[-1]]) + 1
    y0 = max(int(np.floor(seam_y[cols].min())) - r - 4, 0)
    y1 = min(int(np.ceil(seam_y[cols].max())) + r + 5, out.shape[0])
    patch = out[y0:y1, x0:x1]
    redness, luma = _redness_luma(patch)
    lip_red, lip_luma = lip_ref
    bad = ((redness < TEETH_RATIO * lip_red) & (luma > 0.8 * lip_luma)) | (luma < CAVITY_LUMA * lip_luma)
    rows = np.arange(y0, y1, dtype=np.float64)[:, None]
    seam = seam_y[cols[0]:cols[-1] + 1][None, :]
    band = np.abs(rows - seam) <= r
    mask = (bad & band).astype(np.uint8)
    if mask.any():
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        out[y0:y1, x0:x1] = cv2.inpaint(np.ascontiguousarray(patch), mask, 3, cv2.INPAINT_TELEA)


def _draw_seam(out: np.ndarray, p: np.ndarray, xs: np.ndarray, seam_y: np.ndarray, half: np.ndarray,
               eye_px: float) -> None:
    """A soft darker line where the lips meet, corner to corner."""
    left, right = p[lm.MOUTH_LEFT_CORNER], p[lm.MOUTH_RIGHT_CORNER]
    in_mouth = (xs > left[0]) & (xs < right[0])
    if not in_mouth.any():
        return
    sx = xs[in_mouth]
    sy = seam_y[in_mouth]
    # Toward the corners the line bends to the corner points.
    cx, hw = 0.5 * (left[0] + right[0]), max(0.5 * (right[0] - left[0]), 1.0)
    u = (sx - cx) / hw
    corner_y = np.where(u < 0, left[1], right[1])
    blend = np.clip((np.abs(u) - 0.75) / 0.25, 0, 1) ** 2
    sy = sy + blend * (corner_y - sy)
    sigma = max(SEAM_SIGMA_E * eye_px, 0.6)
    reach = int(np.ceil(3 * sigma)) + 1
    y0 = max(int(np.floor(sy.min())) - reach, 0)
    y1 = min(int(np.ceil(sy.max())) + reach + 1, out.shape[0])
    x0, x1 = int(sx[0]), int(sx[-1]) + 1
    rows = np.arange(y0, y1, dtype=np.float64)[:, None]
    profile = np.exp(-0.5 * ((rows - sy[None, :]) / sigma) ** 2)
    strength = SEAM_DARKEN + (SEAM_DARKEN_CORNER - SEAM_DARKEN) * np.clip(u * u, 0, 1)
    # Fade in from the corners over a few px so the line does not start abruptly.
    # The very corners stay light: opening the mouth stretches them, and a dark line
    # there would trail down the sides of the opening.
    ends = np.clip(np.minimum(sx - left[0], right[0] - sx) / max(SEAM_CORNER_FADE_E * eye_px, 1.0), 0, 1)
    dark = (profile * (strength * ends)[None, :])[..., None]
    patch = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(patch * (1 - dark) + 0.5, 0, 255).astype(np.uint8)


def _move_points(p: np.ndarray, xs: np.ndarray, seam_y: np.ndarray, grow: tuple[np.ndarray, np.ndarray],
                 rigid: tuple[np.ndarray, np.ndarray], lip: tuple[np.ndarray, np.ndarray],
                 reach: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Landmarks carried by the closing warp; the inner lips land on the seam."""
    new = p.copy()
    col = np.interp(p[:, 0], xs, np.arange(len(xs), dtype=np.float64))

    def at(a: np.ndarray) -> np.ndarray:
        return np.interp(col, np.arange(len(xs)), a)

    m = at(seam_y)
    gu, gd, mu, md, lu, ld, ru, rd = (at(a) for a in (*grow, *rigid, *lip, *reach))
    inside = (p[:, 0] >= xs[0]) & (p[:, 0] <= xs[-1])
    y = p[:, 1]
    # Each point stays on its own lip's side: the side of the photo's inner-lip midline
    # (points of a lip that lay inside the detected gap end up next to the seam).
    line = 0.5 * (p[list(lm.UPPER_INNER_LIP)] + p[list(lm.LOWER_INNER_LIP)])
    order = np.argsort(line[:, 0])
    above = y < np.interp(p[:, 0], line[order, 0], line[order, 1])
    above[list(lm.UPPER_INNER_LIP)] = True
    above[list(lm.LOWER_INNER_LIP)] = False
    y_new = y.copy()
    # Forward motion is the inverse of the backward map: a few fixed-point steps.
    for _ in range(8):
        d_up = _shift(np.maximum(m - y_new, 0), gu, mu, lu, ru)
        d_dn = _shift(np.maximum(y_new - m, 0), gd, md, ld, rd)
        y_new = np.where(above, np.minimum(y + d_up, m - SEAM_SIDE_PX),
                         np.maximum(y - d_dn, m + SEAM_SIDE_PX))
    new[:, 1] = np.where(inside, y_new, y)
    lips = list(lm.UPPER_INNER_LIP) + list(lm.LOWER_INNER_LIP)
    new[lips, 1] = m[lips]
    return new


def _shift(dist: np.ndarray, grow: np.ndarray, rigid: np.ndarray, lip: np.ndarray, reach: np.ndarray
           ) -> np.ndarray:
    """Backward shift at `dist` px from the seam: grow + rigid at the seam, fading to 0.

    `grow` fades linearly across the lip (to its outer edge, `lip` px from the seam, which
    so stays put: the lip gets fuller); `rigid` moves the lip as it is and fades out in the
    skin over `reach`.
    """
    lin = np.clip(1 - dist / np.maximum(lip, 1e-6), 0, 1)
    return grow * lin + rigid * _falloff(dist / np.maximum(reach, 1e-6))


def _edge_y(p: np.ndarray, idx: tuple[int, ...], xs: np.ndarray) -> np.ndarray:
    """y of a lip outline at columns `xs` (held flat beyond the corners)."""
    pts = p[list(idx)]
    order = np.argsort(pts[:, 0])
    return np.interp(xs, pts[order, 0], pts[order, 1])
