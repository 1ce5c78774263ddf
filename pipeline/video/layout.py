"""Placing the photo in the output frame: talking-head framing, frame always filled.

The face is scaled to a fixed fraction of the frame and put in the upper middle.
Where the crop window reaches past the photo (a head-and-shoulders selfie in a 9:16
frame leaves a third of it or more), the frame is filled with the photo's edge colours
carried outward and defocused more the further they go, darkening a little: a soft
continuation of the photo, so there are never black bars or hard seams. The real pixels
dissolve into it over a band just inside the photo's edge. Above the photo, where a head
ends, the backdrop is carried rather than the person (mediapipe's person mask tells them
apart): hair the top edge cuts off fades out instead of rising as a plume. (Stretching
the edge row with one fixed blur, as this did before, drew every column of the edge into
a vertical bar, sharp where it met the photo.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.easing import smoothstep
from pipeline.face import landmarks as lm
from pipeline.face.segment import person_mask
from pipeline.types import Layout, Portrait


@dataclass(frozen=True)
class Framing:
    face_width_frac: float        # face width over frame width
    face_height_max_frac: float   # cap on face height over frame height (wide frames)
    face_center_y_frac: float     # face centre (mid forehead-chin) over frame height
    caption_box_frac: tuple[float, float, float, float]  # x0, y0, x1, y1 over width, height


# Per aspect ratio: vertical talking heads show the shoulders; captions sit below the
# chin, clear of the platforms' UI (bottom ~20% and right ~12% on 9:16).
FRAMINGS = {
    "9:16": Framing(0.46, 0.36, 0.40, (0.08, 0.63, 0.88, 0.78)),
    "4:5": Framing(0.42, 0.44, 0.39, (0.08, 0.68, 0.90, 0.84)),
    "1:1": Framing(0.36, 0.46, 0.40, (0.07, 0.72, 0.93, 0.90)),
    "16:9": Framing(0.30, 0.46, 0.41, (0.12, 0.76, 0.88, 0.93)),
}
FACE_HEIGHT_PER_WIDTH = 1.25     # forehead-top (10) to chin (152) over oval width, typical
CAPTION_CHIN_GAP_FRAC = 0.025    # caption top stays at least this far (of height) below the chin
CAPTION_MAX_SHIFT_FRAC = 0.06    # ... but moves down at most this much
RECENTER_TOLERANCE_FRAC = 0.05   # face may move this far off its spot to show more real photo
FILL_DOWNSCALE = 6               # the fill is made at 1/6 resolution ...
FILL_DEFOCUS_PER_PX = 1.0        # ... blurred with a sigma of this share of the distance from the photo ...
FILL_SIGMAS_PX = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)   # ... between these (low-res px; 64 is ~380 px)
FILL_DARKEN = 0.88               # the fill darkens to this far out (the photo stays the subject) ...
FILL_DARKEN_FRAC = 0.25          # ... over this share of the frame height
FILL_FEATHER_FRAC = 0.03         # the photo fades into the fill over this share of the width, inside its edge
FILL_PERSON_FADE_FRAC = 0.04    # above the photo the person (hair its top edge cuts) gives way to
                                # the backdrop over this share of the frame height
BACKDROP_MIN_SHARE = 0.03       # ... when at least this share of the photo is backdrop to carry
BACKDROP_PX = 160               # the backdrop behind the person is estimated at this size
BACKDROP_GROW_FRAC = 0.03       # ... from pixels this far (of its size) clear of the person
UNSHARP_AMOUNT = 0.35            # mild sharpening after upscaling
UNSHARP_SIGMA_PX = 1.2


def framing_for(width_px: int, height_px: int) -> Framing:
    """The preset framing whose aspect ratio is nearest to width/height."""
    aspect = width_px / height_px
    presets = {"9:16": 9 / 16, "4:5": 4 / 5, "1:1": 1.0, "16:9": 16 / 9}
    name = min(presets, key=lambda k: abs(np.log(presets[k] / aspect)))
    return FRAMINGS[name]


def face_geometry(landmarks_px: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Face centre (x, y), oval width and forehead-to-chin height, in the landmarks' pixels."""
    p = np.asarray(landmarks_px, dtype=np.float64)[:, :2]
    oval = p[list(lm.FACE_OVAL)]
    width = float(oval[:, 0].max() - oval[:, 0].min())
    height = float(np.linalg.norm(p[lm.CHIN] - p[lm.FOREHEAD_TOP]))
    center = np.array([0.5 * (oval[:, 0].min() + oval[:, 0].max()),
                       0.5 * (p[lm.CHIN, 1] + p[lm.FOREHEAD_TOP, 1])])
    return center, width, height


def plan_layout(portrait: Portrait, width_px: int = 1080, height_px: int = 1920) -> Layout:
    """Scale and place the photo so the face sits in the upper middle, and fill the frame."""
    framing = framing_for(width_px, height_px)
    photo_h, photo_w = portrait.image.shape[:2]
    center, face_w, face_h = face_geometry(portrait.landmarks_px)
    face_h = max(face_h, 0.8 * FACE_HEIGHT_PER_WIDTH * face_w)
    scale = min(framing.face_width_frac * width_px / face_w,
                framing.face_height_max_frac * height_px / face_h)
    target = np.array([0.5 * width_px, framing.face_center_y_frac * height_px])
    offset = target - scale * center
    offset[0] = _recenter(offset[0], scale * photo_w, width_px)
    offset[1] = _recenter(offset[1], scale * photo_h, height_px)
    affine = np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]]], dtype=np.float64)

    background = _compose_background(portrait.image, affine, width_px, height_px)
    chin_y = scale * float(portrait.landmarks_px[lm.CHIN, 1]) + offset[1]
    caption = _caption_box(framing, width_px, height_px, chin_y)
    return Layout(width_px=width_px, height_px=height_px, photo_to_frame=affine,
                  background=background, caption_box_px=caption)


def _recenter(offset: float, photo_extent_px: float, frame_extent_px: float) -> float:
    """Nudge the photo (within a tolerance) so that less of the frame needs the fake fill."""
    tolerance = RECENTER_TOLERANCE_FRAC * frame_extent_px
    gap_low = offset                                       # uncovered at the left/top
    gap_high = frame_extent_px - (offset + photo_extent_px)  # uncovered at the right/bottom
    if gap_low > 0 and gap_high < 0:
        return offset - min(gap_low, -gap_high, tolerance)
    if gap_high > 0 and gap_low < 0:
        return offset + min(gap_high, -gap_low, tolerance)
    return offset


def _caption_box(framing: Framing, width_px: int, height_px: int, chin_y_px: float
                 ) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = framing.caption_box_frac
    top = y0 * height_px
    wanted = chin_y_px + CAPTION_CHIN_GAP_FRAC * height_px
    shift = float(np.clip(wanted - top, 0.0, CAPTION_MAX_SHIFT_FRAC * height_px))
    bottom = min(y1 * height_px + shift, 0.94 * height_px)
    return (int(round(x0 * width_px)), int(round(top + shift)),
            int(round(x1 * width_px)), int(round(bottom)))


def _compose_background(image: np.ndarray, affine: np.ndarray, width_px: int, height_px: int
                        ) -> np.ndarray:
    scale = float(affine[0, 0])
    interp = cv2.INTER_LANCZOS4 if scale > 1.0 else cv2.INTER_AREA
    if scale < 1.0:
        # INTER_AREA is only honoured by resize: shrink first, then place.
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        shift = np.array([[1.0, 0.0, affine[0, 2]], [0.0, 1.0, affine[1, 2]]])
        sharp = cv2.warpAffine(small, shift, (width_px, height_px), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    else:
        sharp = cv2.warpAffine(image, affine, (width_px, height_px), flags=interp,
                               borderMode=cv2.BORDER_REPLICATE)
        if scale > 1.2:
            blurred = cv2.GaussianBlur(sharp, (0, 0), UNSHARP_SIGMA_PX)
            sharp = cv2.addWeighted(sharp, 1 + UNSHARP_AMOUNT, blurred, -UNSHARP_AMOUNT, 0)

    inside, outside = _edge_distances(image.shape, affine, width_px, height_px)
    if outside.max() <= 0.0 and inside.min() >= FILL_FEATHER_FRAC * width_px:
        return sharp
    fill = _fill(image, affine, width_px, height_px, outside)
    alpha = smoothstep(inside / (FILL_FEATHER_FRAC * width_px)).astype(np.float32)[..., None]
    out = alpha * sharp.astype(np.float32) + (1 - alpha) * fill
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _fill(image: np.ndarray, affine: np.ndarray, width_px: int, height_px: int,
          outside: np.ndarray) -> np.ndarray:
    """The photo continued past its edges, defocused more the further out: float32 [h, w, 3].

    The edge's own colours are carried outward, and each point is blurred in proportion to
    its distance from the photo, so the columns of the edge never stand as bars (they merge
    as they leave it) and nothing from inside the photo (a face, hair) comes back as a ghost,
    as a mirrored fill would."""
    small_w, small_h = max(1, width_px // FILL_DOWNSCALE), max(1, height_px // FILL_DOWNSCALE)
    fx, fy = small_w / width_px, small_h / height_px
    to_small = np.array([[affine[0, 0] * fx, 0.0, affine[0, 2] * fx],
                         [0.0, affine[1, 1] * fy, affine[1, 2] * fy]])
    scale = float(np.sqrt(abs(to_small[0, 0] * to_small[1, 1])))
    src = image
    if scale < 1.0:
        # shrink with area averaging first: a warp that shrinks by 10x would alias
        src = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        to_small = to_small.copy()
        to_small[0, 0] /= scale
        to_small[1, 1] /= scale
    stretched = cv2.warpAffine(src, to_small, (small_w, small_h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    dist = cv2.resize(outside, (small_w, small_h), interpolation=cv2.INTER_AREA) * fx
    backdrop = _backdrop(src) if to_small[1, 2] > 0 else None    # only above the photo
    if backdrop is not None:
        # Past the bottom and the sides the person goes on (shoulders, a sweater, long hair).
        # Past the top the head ends: hair the photo's edge cuts off fades into the backdrop
        # instead of rising to the frame's top as a plume of smoke.
        behind = cv2.warpAffine(backdrop, to_small, (small_w, small_h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        above_px = to_small[1, 2] - (np.arange(small_h, dtype=np.float32) + 0.5)
        to_backdrop = smoothstep(above_px / (FILL_PERSON_FADE_FRAC * small_h)).astype(np.float32)
        stretched += to_backdrop[:, None, None] * (behind - stretched)
    # A stack of ever softer blurs; each pixel takes the one its distance calls for
    # (interpolated in log sigma, so the defocus grows smoothly).
    sigma = np.clip(FILL_DEFOCUS_PER_PX * dist, FILL_SIGMAS_PX[0], FILL_SIGMAS_PX[-1])
    level = np.interp(np.log(sigma), np.log(FILL_SIGMAS_PX), np.arange(len(FILL_SIGMAS_PX)))
    out = np.zeros_like(stretched)
    for i, s in enumerate(FILL_SIGMAS_PX):
        weight = np.clip(1.0 - np.abs(level - i), 0.0, 1.0)
        if weight.any():
            blurred = cv2.GaussianBlur(stretched, (0, 0), s, borderType=cv2.BORDER_REPLICATE)
            out += weight[..., None] * blurred
    darken = 1.0 - (1.0 - FILL_DARKEN) * smoothstep(dist / (FILL_DARKEN_FRAC * small_h)).astype(np.float32)
    out *= darken[..., None]
    return cv2.resize(out, (width_px, height_px), interpolation=cv2.INTER_CUBIC)


def _backdrop(image: np.ndarray) -> np.ndarray | None:
    """The photo with the person painted out by the backdrop around them (soft, low detail:
    it is only ever seen defocused), or None when the photo shows almost no backdrop."""
    person = person_mask(image) > 0.5
    if 1.0 - person.mean() < BACKDROP_MIN_SHARE:
        return None
    h, w = image.shape[:2]
    k = BACKDROP_PX / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    # grown, so the fringe of hair and its halo count as person too
    grow = max(1, round(BACKDROP_GROW_FRAC * BACKDROP_PX))
    hole = cv2.dilate(cv2.resize(person.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST),
                      np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    if hole.all():
        return None
    painted = cv2.inpaint(small, hole, 3, cv2.INPAINT_TELEA)
    return cv2.resize(painted, (w, h), interpolation=cv2.INTER_LINEAR)


def _edge_distances(shape: tuple[int, ...], affine: np.ndarray, width_px: int, height_px: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per frame pixel: its distance inside the photo from the nearest photo edge that lies
    within the frame (an edge beyond the frame needs no fade), and its distance outside the
    photo (0 on it). Frame px, float32 [h, w] each."""
    h, w = shape[:2]
    sx, sy = float(affine[0, 0]), float(affine[1, 1])
    tx, ty = float(affine[0, 2]), float(affine[1, 2])
    x = np.arange(width_px, dtype=np.float32) + 0.5
    y = np.arange(height_px, dtype=np.float32) + 0.5
    left, right, top, bottom = tx, tx + sx * w, ty, ty + sy * h
    never = np.full_like(x, np.inf)
    in_x = np.minimum(x - left if left > 0 else never, right - x if right < width_px else never)
    in_y = np.minimum(y - top if top > 0 else np.full_like(y, np.inf),
                      bottom - y if bottom < height_px else np.full_like(y, np.inf))
    inside = np.maximum(np.minimum(in_y[:, None], in_x[None, :]), 0.0)
    out_x = np.maximum(left - x, 0) + np.maximum(x - right, 0)
    out_y = np.maximum(top - y, 0) + np.maximum(y - bottom, 0)
    outside = np.sqrt(out_y[:, None] ** 2 + out_x[None, :] ** 2)
    return inside.astype(np.float32), outside.astype(np.float32)
