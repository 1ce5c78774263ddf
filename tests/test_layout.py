"""Layout: the photo placed in the frame, real mediapipe landmarks on real photos."""

from __future__ import annotations

import dataclasses
import functools

import cv2
import numpy as np
import pytest
import skimage.data

from pipeline.face import analyze
from pipeline.face import landmarks as lm
from pipeline.video.layout import plan_layout

SIZES = [(1080, 1920), (1080, 1080), (1920, 1080), (1080, 1350)]


@functools.cache
def astronaut():
    # A tight head-and-shoulders crop: no photo has enough border for every frame shape.
    return analyze(np.ascontiguousarray(skimage.data.astronaut()[10:330, 100:370]))


def _photo_footprint(layout, shape) -> np.ndarray:
    a = layout.photo_to_frame
    ys, xs = np.mgrid[0:layout.height_px, 0:layout.width_px]
    px = (xs - a[0, 2]) / a[0, 0]
    py = (ys - a[1, 2]) / a[1, 1]
    return (px >= 0) & (px < shape[1]) & (py >= 0) & (py < shape[0])


def _face_center_px(layout, portrait) -> np.ndarray:
    p = portrait.landmarks_px[:, :2].astype(np.float64)
    center = 0.5 * (p[lm.FOREHEAD_TOP] + p[lm.CHIN])
    return layout.photo_to_frame[:, :2] @ center + layout.photo_to_frame[:, 2]


@pytest.mark.parametrize("width,height", SIZES)
def test_frame_filled_and_face_in_upper_middle(width, height):
    portrait = astronaut()
    layout = plan_layout(portrait, width, height)
    bg = layout.background
    assert bg.shape == (height, width, 3) and bg.dtype == np.uint8
    assert (layout.width_px, layout.height_px) == (width, height)
    # The 512 px photo is far too small for the frame: the fill must cover the rest, no black bars.
    dark = bg.max(axis=-1) < 8
    assert not dark.all(axis=1).any() and not dark.all(axis=0).any(), "black bar"
    outside = ~_photo_footprint(layout, portrait.image.shape)
    if height > 1.5 * width:
        assert outside.mean() > 0.05      # the fill is really exercised here
    if outside.any():
        # The fill continues the photo's own edges: its colour is near the photo border's.
        img = portrait.image.astype(np.float64)
        border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).mean(axis=0)
        assert np.abs(bg[outside].mean(axis=0) - border).max() < 60

    cx, cy = _face_center_px(layout, portrait)
    assert abs(cx - width / 2) < 0.1 * width
    assert 0.3 * height < cy < 0.5 * height
    face_w = layout.photo_to_frame[0, 0] * portrait.report.face_px
    assert 0.15 * width < face_w < 0.6 * width

    x0, y0, x1, y1 = layout.caption_box_px
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    chin_y = (layout.photo_to_frame @ np.r_[portrait.landmarks_px[lm.CHIN, :2], 1.0])[1]
    assert y0 > chin_y, "captions must sit below the face"


def test_vertical_caption_box_clear_of_platform_ui():
    layout = plan_layout(astronaut(), 1080, 1920)
    x0, y0, x1, y1 = layout.caption_box_px
    assert y1 <= 0.8 * 1920 and x1 <= 0.9 * 1080


def test_real_photo_pixels_kept_where_photo_covers_frame():
    portrait = astronaut()
    layout = plan_layout(portrait, 1080, 1920)
    a = layout.photo_to_frame
    # The nose tip sits where the affine says, and its colour is the photo's own.
    x, y = portrait.landmarks_px[lm.NOSE_TIP, :2]
    fx, fy = a @ np.array([x, y, 1.0])
    frame_px = layout.background[int(round(fy)), int(round(fx))].astype(int)
    photo_px = portrait.image[int(round(y)), int(round(x))].astype(int)
    assert np.abs(frame_px - photo_px).max() < 40


def test_eval_portrait_layout():
    from conftest import eval_dir

    path = eval_dir("portraits", "facerec_obama.jpg")
    portrait = analyze(path)
    layout = plan_layout(portrait, 1080, 1920)
    assert layout.background.shape == (1920, 1080, 3)
    dark = layout.background.max(axis=-1) < 8
    assert not dark.all(axis=1).any() and not dark.all(axis=0).any()
    cx, cy = _face_center_px(layout, portrait)
    assert 0.3 * 1920 < cy < 0.5 * 1920


def test_fill_beyond_the_photo_has_no_bars():
    """A photo cut off at the chest: the frame below it is filled without drawing the edge's
    columns out into vertical bars (knitwear at the edge, in stripes here, is the worst case)."""
    portrait = analyze(np.ascontiguousarray(skimage.data.astronaut()[10:250, 100:370]))
    image = portrait.image.copy()
    stripes = (np.arange(image.shape[1]) // 2) % 2 == 0          # 2 px dark and light stripes
    image[-24:] = np.where(stripes[None, :, None], 20, 235).astype(np.uint8)
    layout = plan_layout(dataclasses.replace(portrait, image=image), 1080, 1920)
    a = layout.photo_to_frame
    bottom = int(np.ceil(a[1, 2] + a[1, 1] * image.shape[0]))
    assert bottom < 1920 - 300, "the photo must leave the frame's bottom to the fill here"
    left = int(np.ceil(max(a[0, 2], 0))) + 60
    right = int(np.floor(min(a[0, 2] + a[0, 0] * image.shape[1], 1080))) - 60
    grey = layout.background.astype(np.float64).mean(axis=-1)
    # Inside the photo the stripes are real (its own pixels, well clear of the fade) ...
    inside = grey[bottom - 80:bottom - 60, left:right]
    assert (inside - cv2.blur(inside, (61, 1))).std() > 40
    # ... and from 30 px below its edge on, they are gone: only slow changes across a row.
    for y in (bottom + 30, bottom + 60, bottom + 200):
        row = grey[y, left:right]
        detail = row - np.convolve(row, np.ones(61) / 61, mode="same")
        assert np.abs(detail[30:-30]).max() < 8, f"bars {y - bottom} px below the photo"
    # The fill still takes the photo's colours: the stripes' mean, a little darkened.
    below = grey[bottom + 100:bottom + 300, left:right].mean()
    assert 0.75 * 127 < below < 1.05 * 127


def test_hair_cut_by_the_photos_top_fades_into_the_backdrop():
    """A photo whose top edge cuts through the hair: above it, the frame continues the backdrop
    (mediapipe's person mask tells them apart), not a plume of hair rising to the frame's top."""
    portrait = analyze(np.ascontiguousarray(skimage.data.astronaut()[40:300, 100:370]))
    image = portrait.image
    layout = plan_layout(portrait, 1080, 1920)
    a = layout.photo_to_frame
    top = int(np.floor(a[1, 2]))
    assert top > 250, "the photo must leave the frame's top to the fill here"
    x0, _, x1, _ = portrait.face_box_px
    hair = image[:6, x0:x1].reshape(-1, 3).astype(np.float64).mean(axis=0)
    backdrop = image[:20, :30].reshape(-1, 3).astype(np.float64).mean(axis=0)
    assert np.linalg.norm(hair - backdrop) > 60, "the photo's top edge must cut through hair"
    fx0, fx1 = (int(a[0, 0] * x + a[0, 2]) for x in (x0, x1))
    above = layout.background[top - 200:top - 150, fx0:fx1].reshape(-1, 3).astype(np.float64).mean(axis=0)
    # the fill darkens a little with distance; compare with the backdrop as darkened there
    assert np.linalg.norm(above - 0.97 * backdrop) < 0.35 * np.linalg.norm(hair - backdrop)
