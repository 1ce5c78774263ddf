"""Closing the eyes: the upper lid slides down over the eyeball like a curtain.

The face rig's smooth warp squeezes the whole eye into a line (iris, sclera and lashes
smeared together, the skin above stretched into streaks), and any lid painted over that
is a flat patch. Instead, around each eye the frame is re-sampled from the photo with a
lid model in the eye's own frame (u along the corners' axis, v down):

- above the moving lid edge the photo's upper lid slides down, its lash margin carried
  rigidly and only the skin toward the brow stretched, so the closed lid is the person's
  own lid skin ending in their own lash line;
- between the lid edge and the lower lid the eyeball stays put and is covered, not
  squeezed (a partial blink hides the top of the iris);
- the lower lid rises a little, and meets the upper one at full closure;
- the lashes standing above the margin fold down with it: toward the corners the stretched
  skin leaves them out (the photo's lash wing would stay up as a hook), mid-lid they become
  the lid's shadow toward the margin, smoothed across so nothing stretches into streaks
  (long lash tips under the brow included); their darker parts hang below the closed
  margin, and the stretched skin gets back the grain of the skin around the eye.

Where the head or brows moved the eye region is taken from the renderer's own remap
(an affine fitted to it around the eye, where the blink does not reach), and gaze shifts
the eye opening as the rig's iris points do, so the patch joins the warped frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.animate.rig import LOWER_LID_RISE  # the rig's blink meets the lids at the same line
from pipeline.easing import smoothstep
from pipeline.face import landmarks as lm

LID_SKIN_HALF = 0.9          # lid skin stretched: at most this far above the margin (eye half widths) ...
LID_SKIN_BROW = 0.6          # ... and at most this share of the way up to the brow (no brow hair pulled down)
LID_SKIN_MIN_HALF = 0.3
LASH_HALF = 0.12             # the lash margin that moves down rigidly (eye half widths)
LASH_DARK = 0.85             # above the margin, lashes are darker than this share of the lid skin
LASH_MAX_SKIN = 0.7          # lashes are looked for over at most this share of the lid band
LOWER_SKIN_HALF = 0.5        # skin under the lower lid that follows its rise
BOX_HALF_U = 1.4             # the re-sampled box: beyond the corners (eye half widths) ...
BOX_ABOVE_HALF = 1.3         # ... above the upper lid, where the rig's blink no longer reaches ...
BOX_BELOW_HALF = 0.75        # ... and below the lower lid
FEATHER_HALF = 0.3           # the box blends into the warped frame over this much
ONSET_BLINK = 0.15           # the lid model takes over from the warp by this closure
LASH_FOLD_BLINK = 0.8        # by this closure the lashes above the margin have folded down
LASH_SKIP_MID = 0.0          # the stretched lid leaves out this share of the lash zone mid-lid ...
LASH_SKIP_CORNER = (0.5, 0.9)   # ... and all of it from these |u| (eye half widths) outward
LASH_FOLD_END_HALF = 1.2     # lashes fold up to this far out (eye half widths; the corners are at 1) ...
LASH_WING_HALF = 0.4         # ... fading out over this much
LASH_TIPS_HALF = 0.08        # ... and faint lash tips this far above their measured reach
SKIN_START_SHARE = 0.5       # the lid's skin colour is taken from at least this share of the band up
STRETCH_BLUR_HALF = 0.2      # stretched lid skin is smoothed across by this (eye half widths)
BROW_CLEAR_HALF = 0.2        # ... and all skin from this far under the brow down to the lid
GRAIN_SMEAR_SHARE = 0.5      # smoothed skin gets this much grain, unless stretched more
BLUR_RAMP = 0.15             # the smoothing across reaches its full weight this far down the band
GRAIN_RAMP = 0.5             # ... reaching its full weight half way down the stretched band
GRAIN_SIGMA_PX = 0.7         # the lid's added skin grain: blurred noise this fine ...
GRAIN_HIGHPASS_PX = 1.5      # ... as strong as the photo's lid skin detail finer than this
                             # (both in photo px: an enlarged photo's grain is coarser)
GRAIN_BELOW_HALF = (0.35, 0.75)   # ... measured this far under the lower lid (eye half widths)
GRAIN_SEED = 4
LID_SHADE = 0.06             # a closed lid is this much darker at its lash margin (a fold of skin)
LASH_HANG_SHARE = 0.6        # closed, the lashes hang this share of their length below the margin
LASH_HANG_FADE_HALF = 0.25   # ... fading out toward the corners over this much (eye half widths)
LASH_CONTRAST = 40.0         # grey levels darker than the lid skin for a lash to be laid on fully
MIN_HALF_PX = 3.0

EYES = ((lm.RIGHT_EYE_UPPER_LID, lm.RIGHT_EYE_LOWER_LID, lm.RIGHT_IRIS_CENTER, lm.RIGHT_BROW),
        (lm.LEFT_EYE_UPPER_LID, lm.LEFT_EYE_LOWER_LID, lm.LEFT_IRIS_CENTER, lm.LEFT_BROW))


@dataclass
class EyeShape:
    """One eye at rest, in its own frame: u along the corners' axis, v toward the cheek (px)."""

    center: np.ndarray       # [2] background px
    axis_u: np.ndarray       # [2] unit vector, corner to corner (image-right)
    axis_v: np.ndarray       # [2] unit vector, down the face
    upper_u: np.ndarray      # upper lid margin, sorted by u
    upper_v: np.ndarray
    lower_u: np.ndarray      # lower lid margin, sorted by u
    lower_v: np.ndarray
    brow_u: np.ndarray       # the brow's lower edge, sorted by u
    brow_v: np.ndarray
    half_px: float           # half the corner-to-corner width
    lash_px: float           # how far the upper lashes reach above the lid margin at rest
    skin_u: np.ndarray       # lid skin colour above the lashes, per column (u) ...
    skin_rgb: np.ndarray     # ... [n, 3] float
    iris_px: np.ndarray      # [2] iris centre at rest, background px
    grain: np.ndarray | None = None   # skin grain in the eye frame (luma, photo's strength), ...
    grain_origin: tuple[float, float] = (0.0, 0.0)   # ... its (u, v) at index [0, 0], 1 px cells


@dataclass
class LidColors:
    """What the lids are made of: the still background they are sampled from, and each eye."""

    image: np.ndarray        # the renderer's still background (a reference, not a copy)
    eyes: list[EyeShape]


def _eye_shape(p: np.ndarray, upper_ids: tuple[int, ...], lower_ids: tuple[int, ...],
               iris_id: int, brow_ids: tuple[int, ...]) -> EyeShape:
    a, b = p[upper_ids[0]], p[upper_ids[-1]]
    if b[0] < a[0]:
        a, b = b, a
    axis_u = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    axis_v = np.array([-axis_u[1], axis_u[0]])
    center = 0.5 * (a + b)
    up = (p[list(upper_ids)] - center) @ np.stack([axis_u, axis_v]).T
    lo = (p[list(lower_ids)] - center) @ np.stack([axis_u, axis_v]).T
    brow = (p[list(brow_ids)] - center) @ np.stack([axis_u, axis_v]).T
    ou, ol, ob = np.argsort(up[:, 0]), np.argsort(lo[:, 0]), np.argsort(brow[:, 0])
    return EyeShape(center=center, axis_u=axis_u, axis_v=axis_v,
                    upper_u=up[ou, 0], upper_v=up[ou, 1], lower_u=lo[ol, 0], lower_v=lo[ol, 1],
                    brow_u=brow[ob, 0], brow_v=brow[ob, 1],
                    half_px=max(0.5 * float(np.linalg.norm(b - a)), MIN_HALF_PX), lash_px=0.0,
                    skin_u=np.zeros(1), skin_rgb=np.zeros((1, 3)),
                    iris_px=p[iris_id].copy())


def sample_lids(image: np.ndarray, points_px: np.ndarray, photo_px: float = 1.0) -> LidColors:
    """The eyes of the still `image` (landmarks `points_px`, its px), once per portrait.

    `photo_px`: image px per px of the original photo (the layout's enlargement)."""
    p = np.asarray(points_px, dtype=np.float64)[:, :2]
    eyes = [_eye_shape(p, *ids) for ids in EYES]
    for eye in eyes:
        eye.lash_px = _lash_reach(image, eye)
        eye.skin_u, eye.skin_rgb = _lid_skin(image, eye)
        eye.grain, eye.grain_origin = _lid_grain(image, eye, max(photo_px, 1.0))
    return LidColors(image=image, eyes=eyes)


def _lid_grain(image: np.ndarray, eye: EyeShape, photo_px: float = 1.0
               ) -> tuple[np.ndarray, tuple[float, float]]:
    """A fixed noise texture over the eye box, as strong as the fine detail of the skin under
    the eye: stretched skin is smoother than the face around it, and this puts back what the
    stretch took (fixed in the eye frame, so it does not shimmer). Not measured on the lid
    itself: lash tips and shimmering make-up there read as noise."""
    half = eye.half_px
    u0, u1 = -BOX_HALF_U * half, BOX_HALF_U * half
    v0 = float(eye.upper_v.min()) - BOX_ABOVE_HALF * half
    v1 = float(eye.lower_v.max()) + BOX_BELOW_HALF * half
    # the photo's detail: luma minus its blur, sampled on the skin under the lower lid
    u = np.linspace(-0.8, 0.8, 33) * half
    bottom = np.interp(u, eye.lower_u, eye.lower_v)
    vv = bottom[None, :] + np.linspace(GRAIN_BELOW_HALF[0], GRAIN_BELOW_HALF[1], 12)[:, None] * half
    uu = np.broadcast_to(u[None, :], vv.shape)
    src = eye.center + uu[..., None] * eye.axis_u + vv[..., None] * eye.axis_v
    luma = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    detail = luma - cv2.GaussianBlur(luma, (0, 0), GRAIN_HIGHPASS_PX * photo_px)
    hp = cv2.remap(detail, src[..., 0].astype(np.float32), src[..., 1].astype(np.float32),
                   cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    strength = 1.4826 * float(np.median(np.abs(hp - np.median(hp))))   # robust: creases are rare
    rng = np.random.default_rng(GRAIN_SEED)
    noise = rng.standard_normal((int(np.ceil(v1 - v0)) + 2, int(np.ceil(u1 - u0)) + 2)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), GRAIN_SIGMA_PX * photo_px)
    noise *= strength / max(float(noise.std()), 1e-6)
    return noise, (u0, v0)


def _lid_skin_px(eye: EyeShape, u: np.ndarray, top: np.ndarray) -> np.ndarray:
    brow = np.interp(u, eye.brow_u, eye.brow_v)
    return np.clip(LID_SKIN_BROW * (top - brow), LID_SKIN_MIN_HALF * eye.half_px,
                   LID_SKIN_HALF * eye.half_px)


def _skin_start(eye: EyeShape, skin: np.ndarray) -> np.ndarray:
    """Where, above the lid margin, the lid's own skin starts: past the lashes' tips and the
    shadow of the fold just above them (closing unfolds lighter skin than that)."""
    return np.clip(eye.lash_px + LASH_TIPS_HALF * eye.half_px, SKIN_START_SHARE * skin, 0.85 * skin)


def _lid_skin(image: np.ndarray, eye: EyeShape) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the median colour of the lid skin between the lashes' reach and the band top."""
    u = np.linspace(-1.1, 1.1, 23) * eye.half_px
    top = np.interp(u, eye.upper_u, eye.upper_v)
    skin = _lid_skin_px(eye, u, top)
    share = np.linspace(0.0, 1.0, 9)
    start = _skin_start(eye, skin)
    d = start[None, :] + share[:, None] * (skin - start)[None, :]
    uu = np.broadcast_to(u[None, :], d.shape)
    src = eye.center + uu[..., None] * eye.axis_u + (top[None, :] - d)[..., None] * eye.axis_v
    px = cv2.remap(image, src[..., 0].astype(np.float32), src[..., 1].astype(np.float32),
                   cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float64)
    # The brighter half of each column: skin, not the brow hairs, lash tips or fold shadow
    # that reach into the band on some faces.
    luma = px @ np.array([0.299, 0.587, 0.114])
    bright = luma >= np.median(luma, axis=0, keepdims=True)
    rgb = (px * bright[..., None]).sum(0) / np.maximum(bright.sum(0), 1)[:, None]
    # a little smoothing across columns: skin, not stripes
    rgb = cv2.GaussianBlur(rgb[None].astype(np.float32), (0, 0), 1.5, borderType=cv2.BORDER_REPLICATE)[0]
    return u, rgb.astype(np.float64)


def _lash_reach(image: np.ndarray, eye: EyeShape) -> float:
    """How far above the lid margin the upper lashes (and liner) stay dark, px.

    Closing, the lid shows skin there: lashes point down from a closed margin.
    """
    u = np.linspace(-0.6, 0.6, 13) * eye.half_px
    top = np.interp(u, eye.upper_u, eye.upper_v)
    skin = float(np.median(_lid_skin_px(eye, u, top)))
    lash = LASH_HALF * eye.half_px
    d = np.arange(0.0, skin, 0.5)
    uu, vv = np.meshgrid(u, d)
    src = eye.center + uu[..., None] * eye.axis_u + (top[None, :] - vv)[..., None] * eye.axis_v
    px = cv2.remap(image, src[..., 0].astype(np.float32), src[..., 1].astype(np.float32),
                   cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    luma = (px @ np.array([0.299, 0.587, 0.114], np.float32)).mean(axis=1)   # per height above
    ref = float(np.median(luma[d >= 0.8 * skin])) if (d >= 0.8 * skin).any() else float(luma[-1])
    dark = np.flatnonzero(luma < LASH_DARK * ref)
    reach = float(d[dark[-1]]) if len(dark) else lash
    return float(np.clip(reach, lash, LASH_MAX_SKIN * skin))


def lid_margin(eye: EyeShape, u: np.ndarray, blink: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column u: the upper lid margin at rest, the eye opening, and how far the margin has
    come down at `blink` (the lower lid rises to meet it the rest of the way)."""
    top = np.interp(u, eye.upper_u, eye.upper_v)
    opening = np.maximum(np.interp(u, eye.lower_u, eye.lower_v) - top, 0.0)
    return top, opening, blink * (1.0 - LOWER_LID_RISE) * opening


def lid_source(eye: EyeShape, u: np.ndarray, v: np.ndarray, blink: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where each eye-frame position (u, v) of a closing eye reads the still eye from.

    Returns the source v on the upper lid, the source v elsewhere (eyeball, lower lid),
    how much of the upper lid covers each position (0..1, a pixel-wide soft edge), and the
    share of the eye opening each position shows (0 on lid skin, 1 mid-eyeball), by which
    gaze moves it.
    """
    top, opening, drop = lid_margin(eye, u, blink)           # drop: the upper lid margin's descent
    bottom = np.interp(u, eye.lower_u, eye.lower_v)
    rise = blink * LOWER_LID_RISE * opening                  # the lower lid's lift
    edge = top + drop
    skin = _lid_skin_px(eye, u, top)
    lash = LASH_HALF * eye.half_px
    # Upper lid: the lash margin moves down rigidly; the skin above it, up to `skin` below
    # the lid margin's rest place, stretches evenly to make up the drop.
    band_top = top - skin
    # The lashes standing above the margin fold down with it: the skin above them stretches
    # over the lid and the lash zone itself is left out (stretched, it became vertical
    # streaks). Beside the corners too, or the photo's lash wing stays up as a hook.
    skin_end = top - lash - _lash_skip(eye, u, blink)
    stretch = (skin_end - band_top) / np.maximum(edge - lash - band_top, 1e-6)
    src_upper = np.where(v >= edge - lash, v - drop,
                         np.where(v > band_top, band_top + (v - band_top) * stretch, v))
    below = LOWER_SKIN_HALF * eye.half_px
    z_lo = np.clip((bottom + below - v) / (below + rise), 0.0, 1.0)
    src_lower = np.where(v >= bottom - rise, v + rise * (1.0 - (1.0 - z_lo) ** 2), v)
    cover = np.clip(edge - v + 0.5, 0.0, 1.0)
    t = (v - top) / np.maximum(opening, 1e-6)
    eyeball = (1.0 - cover) * (v < bottom - rise) * smoothstep(4.0 * np.minimum(t, 1.0 - t))
    return src_upper, src_lower, cover, eyeball


def _lash_fold(eye: EyeShape, u: np.ndarray, blink: float) -> np.ndarray:
    """How far the lashes above the margin have folded down (0..1), per column u."""
    beside = (LASH_FOLD_END_HALF * eye.half_px - np.abs(u)) / (LASH_WING_HALF * eye.half_px)
    return smoothstep(blink / LASH_FOLD_BLINK) * smoothstep(beside)


def _lash_skip(eye: EyeShape, u: np.ndarray, blink: float) -> np.ndarray:
    """How much of the lash zone above the margin the stretched lid leaves out, px per column.

    Toward the corners all of it (or the photo's lash wing stays up as a hook); mid-lid only
    part: stretched and smoothed across, the rest is the lash shadow a closed lid shows
    toward its margin (and the face descriptor reads the eye by it)."""
    corner = smoothstep((np.abs(u) / eye.half_px - LASH_SKIP_CORNER[0])
                       / (LASH_SKIP_CORNER[1] - LASH_SKIP_CORNER[0]))
    share = LASH_SKIP_MID + (1.0 - LASH_SKIP_MID) * corner
    zone = max(eye.lash_px - LASH_HALF * eye.half_px, 0.0) + LASH_TIPS_HALF * eye.half_px
    return _lash_fold(eye, u, blink) * share * zone


def lid_texture(eye: EyeShape, u: np.ndarray, v: np.ndarray, blink: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """How much skin grain each position of the upper lid lost to the stretch (0..1): where
    it is smoothed across, and where the lid's skin colour and grain replace it."""
    top, _, drop = lid_margin(eye, u, blink)
    edge = top + drop
    lash = LASH_HALF * eye.half_px
    band_top = top - _lid_skin_px(eye, u, top)
    skin_end = top - lash - _lash_skip(eye, u, blink)
    stretch = (edge - lash - band_top) / np.maximum(skin_end - band_top, 1e-6)
    lost = np.clip(1.0 - 1.0 / np.maximum(stretch, 1.0), 0.0, 1.0)
    # from nothing at the band's top (where the stretch starts), so the lid has no edge there
    lost = np.where(v < edge - lash, lost, 0.0)
    band = np.maximum(edge - lash - band_top, 1.0)
    smear = lost * smoothstep((v - band_top) / (BLUR_RAMP * band))
    # Long lashes reach past the band: their tips, left behind by the margin, would stand as
    # streaks under the brow. Everything from the brow down to the margin is smoothed across
    # (which keeps the brow's and the crease's horizontal edges).
    brow = np.interp(u, eye.brow_u, eye.brow_v)
    tips = _lash_fold(eye, u, blink) * smoothstep((v - brow) / (BROW_CLEAR_HALF * eye.half_px))
    smear = np.maximum(smear, np.where(v < edge - lash, tips, 0.0))
    return smear, lost * smoothstep((v - band_top) / (GRAIN_RAMP * band))


def _hang_lashes(patch: np.ndarray, image: np.ndarray, eye: EyeShape, u: np.ndarray, v: np.ndarray,
                 top: np.ndarray, edge: np.ndarray, blink: float) -> None:
    """The folded lashes hang below the closing margin (in place on `patch`): the photo's
    own lashes above the still margin, turned upside down and foreshortened. Only what is
    darker than the lid skin is laid on, so the lower lid shows between them."""
    reach = max(eye.lash_px, 1.0)
    t = (v - edge) / (LASH_HANG_SHARE * reach)
    inside = smoothstep((eye.half_px - np.abs(u)) / (LASH_HANG_FADE_HALF * eye.half_px))
    weight = _lash_fold(eye, u, blink) * inside * np.clip(1.0 - t, 0.0, 1.0) * (t >= 0.0)
    if not (weight > 0).any():
        return
    src_v = top - np.clip(t, 0.0, 1.0) * reach
    src = eye.center + u[..., None] * eye.axis_u + src_v[..., None] * eye.axis_v
    lashes = cv2.remap(image, src[..., 0].astype(np.float32), src[..., 1].astype(np.float32),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    skin = np.stack([np.interp(u, eye.skin_u, eye.skin_rgb[:, c]) for c in range(3)], -1)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    dark = np.clip((skin @ luma - lashes @ luma) / LASH_CONTRAST, 0.0, 1.0)
    w = (weight * dark)[..., None]
    patch += w * (np.minimum(lashes, patch) - patch)


def _fit_affine(xs: np.ndarray, ys: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """2x3 affine taking roi px (xs, ys) to the remap's source px, least squares."""
    design = np.stack([xs, ys, np.ones_like(xs)], 1)
    coef, *_ = np.linalg.lstsq(design, np.stack([map_x, map_y], 1), rcond=None)
    return coef.T


def paint_lids(roi: np.ndarray, origin: tuple[int, int], points_px: np.ndarray, colors: LidColors,
               blink: float, eye_px: float, source_px: tuple[np.ndarray, np.ndarray] | None = None,
               rest_points_px: np.ndarray | None = None) -> None:
    """Re-sample each eye of the warped ROI (in place) with the lids `blink` (0..1) closed.

    `points_px` are the warped landmarks (frame px); `source_px` the ROI's remap (background
    px per ROI pixel), from which the head's and brows' motion around the eye is taken.
    Without it the eye is re-sampled from the still image where it sits at rest.
    """
    del eye_px, rest_points_px      # the eye shapes come from sample_lids
    blink = float(np.clip(blink, 0.0, 1.0))
    if blink <= 1e-3:
        return
    onset = float(smoothstep(blink / ONSET_BLINK))
    ox, oy = origin
    h, w = roi.shape[:2]
    for eye, (_, _, iris_id, _) in zip(colors.eyes, EYES, strict=True):
        half = eye.half_px
        # The box at rest (background px), moved to where the warp put this eye.
        corners_uv = np.array([[-BOX_HALF_U, -BOX_ABOVE_HALF], [BOX_HALF_U, -BOX_ABOVE_HALF],
                               [-BOX_HALF_U, BOX_BELOW_HALF], [BOX_HALF_U, BOX_BELOW_HALF]]) * half
        corners_uv[:2, 1] += eye.upper_v.min()
        corners_uv[2:, 1] += eye.lower_v.max()
        corners = eye.center + corners_uv @ np.stack([eye.axis_u, eye.axis_v])
        shift = np.asarray(points_px[iris_id, :2], np.float64) - eye.iris_px
        x0 = max(int(np.floor((corners[:, 0] + shift[0]).min())) - ox, 0)
        y0 = max(int(np.floor((corners[:, 1] + shift[1]).min())) - oy, 0)
        x1 = min(int(np.ceil((corners[:, 0] + shift[0]).max())) - ox + 1, w)
        y1 = min(int(np.ceil((corners[:, 1] + shift[1]).max())) - oy + 1, h)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        if source_px is not None:
            map_x, map_y = (m[y0:y1, x0:x1].astype(np.float64) for m in source_px)
            edge = np.zeros(xs.shape, bool)
            edge[[0, -1], :] = True
            edge[:, [0, -1]] = True
            affine = _fit_affine(xs[edge], ys[edge], map_x[edge], map_y[edge])
        else:
            affine = np.array([[1.0, 0.0, ox], [0.0, 1.0, oy]])
        still = np.stack([xs, ys, np.ones_like(xs)], -1) @ affine.T     # background px, no blink
        rel = still - eye.center
        u, v = rel @ eye.axis_u, rel @ eye.axis_v
        src_up, src_other, cover, eyeball = lid_source(eye, u, v, blink)
        # Gaze: the rig moves the iris; the eye opening follows it here.
        iris_roi = np.asarray(points_px[iris_id, :2], np.float64) - [ox, oy]
        gaze = eye.iris_px - affine @ np.array([*iris_roi, 1.0])
        patches = []
        for sv, moved in ((src_up, 0.0), (src_other, eyeball)):
            src = eye.center + u[..., None] * eye.axis_u + sv[..., None] * eye.axis_v
            src += np.asarray(moved)[..., None] * gaze
            patches.append(cv2.remap(colors.image, src[..., 0].astype(np.float32),
                                     src[..., 1].astype(np.float32), cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE).astype(np.float32))
        # The stretched lid is the photo's own lid skin (with the lash zone's shadow toward
        # the margin); where it stretched, the grain it lost comes back, and it is a touch
        # darker toward the margin, where the skin folds. (Painting it in one flat skin
        # colour looked smoother than the face and cost identity.)
        top, _, drop = lid_margin(eye, u, blink)
        edge = top + drop
        skin = _lid_skin_px(eye, u, top)
        depth = np.clip((v - (top - skin)) / np.maximum(edge - (top - skin), 1.0), 0.0, 1.0)
        shade = LID_SHADE * depth ** 2 * smoothstep((edge - top) / (0.3 * half))
        # Stretched, any detail that varies across the lid (lash tips, pores) becomes a
        # vertical streak: where the skin stretched, it is smoothed across (along u) and
        # gets grain instead.
        smear, lost = (w[..., None] for w in lid_texture(eye, u, v, blink))
        across = cv2.GaussianBlur(patches[0], (0, 0), sigmaX=STRETCH_BLUR_HALF * half, sigmaY=0.5)
        lid = patches[0] + smear * (across - patches[0])
        lid *= (1.0 - shade)[..., None]
        if eye.grain is not None:
            gu, gv = eye.grain_origin
            grain = cv2.remap(eye.grain, (u - gu).astype(np.float32), (v - gv).astype(np.float32),
                              cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            lid += grain[..., None] * np.maximum(lost, GRAIN_SMEAR_SHARE * smear)
        patch = patches[1] + cover[..., None] * (lid - patches[1])
        _hang_lashes(patch, colors.image, eye, u, v, top, edge, blink)
        feather = FEATHER_HALF * half
        inner = np.minimum.reduce([xs - x0, x1 - 1 - xs, ys - y0, y1 - 1 - ys]) / max(feather, 1.0)
        alpha = (smoothstep(inner) * onset)[..., None]
        region = roi[y0:y1, x0:x1].astype(np.float32)
        roi[y0:y1, x0:x1] = np.clip(region + alpha * (patch - region) + 0.5, 0, 255).astype(np.uint8)
