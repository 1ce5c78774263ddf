"""Articulation skin shading and lower teeth, measured in pixels of real renders of the example selfie."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from pipeline.animate import Renderer
from pipeline.face import analyze
from pipeline.face import landmarks as lm
from pipeline.types import ARTICULATION, MOTION
from pipeline.video.encode import rgb_to_i420
from pipeline.video.layout import plan_layout

from conftest import EXAMPLES

WIDTH, HEIGHT = 360, 640


@functools.cache
def selfie_renderer() -> Renderer:
    portrait = analyze(EXAMPLES / "selfie.png")
    return Renderer(portrait, plan_layout(portrait, WIDTH, HEIGHT))


def values(names, **kw) -> np.ndarray:
    v = np.zeros(len(names), np.float32)
    for k, x in kw.items():
        v[names.index(k)] = x
    return v


def render_pair(**mouth) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same frame with and without skin shading, and the warped landmarks."""
    r = selfie_renderer()
    m, mo = values(ARTICULATION, **mouth), values(MOTION)
    shaded = r.render_frame(m, mo)
    shading, r.skin = r.skin, None
    try:
        plain = r.render_frame(m, mo)
    finally:
        r.skin = shading
    return shaded, plain, r.warped_points(m, mo)


def luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ [0.299, 0.587, 0.114]


def disc(shape, center, radius_px) -> np.ndarray:
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return (xx - center[0]) ** 2 + (yy - center[1]) ** 2 <= radius_px ** 2


def test_renderer_has_shading():
    assert selfie_renderer().skin is not None


def test_jaw_open_darkens_the_nasolabial_folds():
    shaded, plain, pts = render_pair(jaw_open=0.7, lip_open=0.3)
    eye_px = lm.eye_distance(pts)
    ratios = []
    for corner, wing in ((lm.MOUTH_LEFT_CORNER, 98), (lm.MOUTH_RIGHT_CORNER, 327)):
        outward = np.sign(pts[corner, 0] - pts[lm.NOSE_TIP, 0])
        center = 0.5 * (pts[corner, :2] + pts[wing, :2]) + [outward * 0.08 * eye_px, 0]
        m = disc(shaded.shape, center, 0.05 * eye_px)
        ratios.append(luma(shaded)[m].mean() / luma(plain)[m].mean())
    # Darker on both sides, by a few percent: subtle, not a painted line.
    assert all(0.9 < r < 0.99 for r in ratios), ratios


def test_jaw_open_lights_the_chin():
    shaded, plain, pts = render_pair(jaw_open=0.7, lip_open=0.3)
    center = pts[17, :2] + 0.6 * (pts[lm.CHIN, :2] - pts[17, :2])
    m = disc(shaded.shape, center, 0.05 * lm.eye_distance(pts))
    assert 1.005 < luma(shaded)[m].mean() / luma(plain)[m].mean() < 1.08


def test_background_hair_and_forehead_untouched():
    for mouth in ({"jaw_open": 0.8, "lip_open": 0.3}, {"lip_width": 1.0}, {"lip_round": 1.0}):
        shaded, plain, pts = render_pair(**mouth)
        assert np.any(shaded != plain), mouth                   # the shading is on at all
        face = np.zeros(shaded.shape[:2], np.uint8)
        cv2.fillPoly(face, [np.round(pts[list(lm.FACE_OVAL), :2]).astype(np.int32)], 1)
        face = cv2.dilate(face, np.ones((5, 5), np.uint8))
        outside = face == 0
        assert np.array_equal(shaded[outside], plain[outside]), mouth
        brows_y = pts[list(lm.RIGHT_BROW) + list(lm.LEFT_BROW), 1].max()
        assert np.array_equal(shaded[:int(brows_y)], plain[:int(brows_y)]), mouth


def test_i420_frames_carry_the_shading():
    r = selfie_renderer()
    m, mo = values(ARTICULATION, jaw_open=0.7, lip_width=0.5), values(MOTION)
    expected = rgb_to_i420(r.render_frame(m, mo)).astype(int)
    got = r.render_frame_i420(m, mo).astype(int)
    assert np.abs(got - expected).max() <= 1


def lower_band_bright(jaw_open: float) -> int:
    """Bright pixels in the bottom of the mouth opening, just above the lower inner lip."""
    r = selfie_renderer()
    m, mo = values(ARTICULATION, jaw_open=jaw_open, teeth_show=0.5), values(MOTION)
    frame = r.render_frame(m, mo)
    pts = r.warped_points(m, mo)
    up, lo = pts[13, :2], pts[14, :2]
    gap = lo[1] - up[1]
    half_w = 0.25 * (pts[lm.INNER_MOUTH_RIGHT_CORNER, 0] - pts[lm.INNER_MOUTH_LEFT_CORNER, 0])
    # Below the upper teeth's reach (at most 85 % of the gap) and above the lip's edge.
    rows = slice(int(np.ceil(lo[1] - 0.14 * gap)), int(np.floor(lo[1] - 1)) + 1)
    cols = slice(int(lo[0] - half_w), int(lo[0] + half_w) + 1)
    white = luma(r.mouth_colors.white[None])[0]
    return int((luma(frame[rows, cols]) > 0.5 * white).sum())


def test_lower_teeth_show_only_at_wide_openings():
    assert lower_band_bright(0.8) >= 10
    assert lower_band_bright(0.2) == 0
