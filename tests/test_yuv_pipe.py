"""I420 frames in the ffmpeg pipe: the same colours as the RGB pipe, checked with real ffmpeg."""

import functools
import subprocess

import numpy as np
import pytest
import skimage.data

from pipeline.animate import Renderer
from pipeline.face import analyze
from pipeline.types import ARTICULATION, MOTION
from pipeline.video.encode import (
    _rawvideo_input,
    _video_filters,
    encode,
    frame_shape,
    i420_planes,
    rgb_to_i420,
)
from pipeline.video.layout import plan_layout
from pipeline.video.probe import probe, read_frames

W, H = 96, 64
FPS = 30.0


def ffmpeg_i420(rgb: np.ndarray) -> np.ndarray:
    """What the rgb24 pipe path makes of an RGB frame: ffmpeg's own BT.709 conversion."""
    h, w = rgb.shape[:2]
    cmd = [*_rawvideo_input(FPS, w, h), "-vf", _video_filters(None, None), "-f", "rawvideo",
           "-pix_fmt", "yuv420p", "-"]
    out = subprocess.run(cmd, input=rgb.tobytes(), capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(h * 3 // 2, w)


def colour_field() -> np.ndarray:
    """Smooth ramps in all three channels plus saturated patches: the whole gamut's corners."""
    y, x = np.mgrid[0:H, 0:W]
    rgb = np.stack([x * 255 // (W - 1), y * 255 // (H - 1), (x + y) * 255 // (W + H - 2)], -1)
    rgb[:16, :16] = (255, 0, 0)
    rgb[:16, 16:32] = (0, 255, 0)
    rgb[16:32, :16] = (0, 0, 255)
    rgb[16:32, 16:32] = (255, 214, 0)     # the caption highlight yellow
    return rgb.astype(np.uint8)


def test_conversion_matches_ffmpeg_within_a_level():
    rgb = colour_field()
    ours = rgb_to_i420(rgb).astype(int)
    theirs = ffmpeg_i420(rgb).astype(int)
    assert np.abs(ours[:H] - theirs[:H]).max() <= 1
    # Chroma: ours is each 2x2 block's mean, ffmpeg's vertical filter reaches a row further,
    # which shows only at the saturated patches' edges. Inside the patches and over the
    # ramps the two agree to rounding.
    chroma = np.abs(ours[H:] - theirs[H:]).reshape(2, H // 2, W // 2)
    assert chroma[:, 18:].max() <= 2            # ramps, away from the patches
    for r0, c0 in ((0, 0), (0, 8), (8, 0), (8, 8)):
        assert chroma[:, r0 + 2:r0 + 6, c0 + 2:c0 + 6].max() <= 1
    assert chroma.mean() < 0.5
    # Limited range: black and white land on 16 and 235.
    y, cb, cr = i420_planes(rgb_to_i420(np.zeros((2, 2, 3), np.uint8)), 2, 2)
    assert y.max() == 16 and cb.max() == 128 and cr.max() == 128
    assert rgb_to_i420(np.full((2, 2, 3), 255, np.uint8))[:2].min() == 235


def test_odd_sizes_and_unknown_formats_are_refused():
    with pytest.raises(ValueError, match="even"):
        rgb_to_i420(np.zeros((3, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="pix_fmt"):
        frame_shape("nv12", W, H)


def test_i420_encode_decodes_to_the_rgb_frames(tmp_path):
    frames = [np.roll(colour_field(), 4 * i, axis=1) for i in range(6)]
    out = encode((rgb_to_i420(f) for f in frames), len(frames), None, tmp_path / "i420.mp4", FPS, W, H,
                 pix_fmt="yuv420p")
    info = probe(out)
    assert (info.width, info.height, info.pix_fmt) == (W, H, "yuv420p")
    decoded = list(read_frames(out))
    assert len(decoded) == len(frames)
    err = np.abs(decoded[3].astype(int) - frames[3]).mean()
    assert err < 6, err   # x264 at crf 20 on hard saturated edges; a wrong matrix is far off


def test_i420_encode_checks_the_frame_shape(tmp_path):
    with pytest.raises(ValueError, match="expected uint8"):
        encode(iter([colour_field()]), 1, None, tmp_path / "bad.mp4", FPS, W, H, pix_fmt="yuv420p")


@functools.cache
def astronaut_renderer() -> Renderer:
    portrait = analyze(skimage.data.astronaut())
    return Renderer(portrait, plan_layout(portrait, 270, 480))


@pytest.mark.parametrize("moving", [False, True])
def test_render_frame_i420_is_the_rgb_frame_converted(moving):
    r = astronaut_renderer()
    mouth = np.zeros(len(ARTICULATION), np.float32)
    motion = np.zeros(len(MOTION), np.float32)
    if moving:
        mouth[ARTICULATION.index("jaw_open")] = 0.8
        motion[MOTION.index("head_yaw_deg")] = 4.0
        motion[MOTION.index("blink")] = 0.9
    rgb = r.render_frame(mouth, motion)
    i420 = r.render_frame_i420(mouth, motion)
    assert i420.shape == frame_shape("yuv420p", 270, 480)
    assert np.array_equal(i420, rgb_to_i420(rgb))
    if moving:
        assert not np.array_equal(i420, rgb_to_i420(r.background))
