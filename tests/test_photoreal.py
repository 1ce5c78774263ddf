"""Photoreal measures (issue 4) on a real short render, read back from the output pixels.

Uses benchmarks/bench_photoreal.py's measuring functions (dlib descriptors, FaceMesh EAR,
background change) on a ~3 s clip of a closed-mouth eval portrait.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
PORTRAIT = EVAL / "portraits" / "liveportrait_s9_monalisa.jpg"   # lips closed in the photo
CLIP = EVAL / "speech" / "speechbrain_spk1_snt1.wav"             # 2.9 s of speech

pytest.importorskip("dlib")
pytest.importorskip("face_recognition_models")


def _bench():
    return load_benchmark("bench_photoreal")


bench = _bench()


def test_blink_events_from_ear_series():
    fps = 30.0
    ear = np.full(300, 0.30)
    ear[50:56] = [0.27, 0.15, 0.05, 0.06, 0.18, 0.28]      # full: 4 frames above 1/5 of its peak
    ear[150:153] = [0.24, 0.20, 0.25]                       # partial: peak closure 1/3
    ear[200:203] = [0.28, 0.285, 0.28]                      # lid jitter, not a blink
    ear[250] = np.nan                                       # a frame without a face
    durations, peaks, deepest = bench.blink_events(ear, fps)
    assert len(durations) == 2
    assert durations[0] == pytest.approx(133.3, abs=0.1)
    assert durations[1] == pytest.approx(100.0)
    assert peaks[0] == pytest.approx(1 - 0.05 / 0.30)
    assert deepest == [52, 151]


def test_head_mask_covers_face_not_frame():
    import skimage.data

    from pipeline.face import analyze
    from pipeline.video.layout import plan_layout

    portrait = analyze(skimage.data.astronaut())
    layout = plan_layout(portrait, 540, 540)
    a = np.asarray(layout.photo_to_frame, dtype=np.float64)
    pts = portrait.landmarks_px[:, :2] @ a[:, :2].T + a[:, 2]
    mask, ring = bench.head_mask(np.concatenate([pts, np.zeros((len(pts), 1))], 1), (540, 540))
    inside = np.round(pts).astype(int)
    assert mask[inside[:, 1], inside[:, 0]].all()       # every landmark is inside the head mask
    assert 0.05 < mask.mean() < 0.6                      # ...which leaves background to measure
    assert not (mask & ring).any() and ring.any()


@pytest.mark.skipif(not (PORTRAIT.exists() and CLIP.exists()), reason="needs ../shared/eval")
def test_short_render_keeps_identity_background_and_face(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "OUT_DIR", tmp_path)
    m = bench.measure_clip("monalisa", PORTRAIT, CLIP, tmp_path, identity_every_n=3, with_sheet=True)
    assert m.n_frames >= 80
    assert m.frames_without_face == 0
    assert m.photo_descriptor and m.identity_missed == 0
    assert m.identity_max is not None and m.identity_max <= bench.IDENTITY_MAX_TARGET
    # the rest face every frame starts from reads closed to FaceMesh
    assert m.rest_aperture is not None and m.rest_aperture < 0.03
    assert m.background_grey <= bench.BACKGROUND_TARGET_GREY
    # every full blink the motion track asked for shows up in the pixels
    assert m.blinks_measured >= sum(p >= 0.95 for p in m.scheduled_peaks)
    assert Path(m.sheet).exists()


def test_full_blink_closes_the_eye_in_the_pixels():
    """At blink 1 the eye must read as closed to FaceMesh: no iris or sclera left where the
    smooth warp lags the lid landmarks (a full blink measured only ~0.5 closure before)."""
    import skimage.data

    from pipeline.animate import Renderer
    from pipeline.face import analyze
    from pipeline.types import ARTICULATION, MOTION
    from pipeline.video.layout import plan_layout

    portrait = analyze(skimage.data.astronaut())
    renderer = Renderer(portrait, plan_layout(portrait, 1080, 1080))
    box = bench.crop_box(renderer.points, renderer.background.shape)
    ears = []
    for blink in (0.0, 1.0):
        motion = np.zeros(len(MOTION), np.float32)
        motion[list(MOTION).index("blink")] = blink
        frame = renderer.render_frame(np.zeros(len(ARTICULATION), np.float32), motion)
        points = bench.mesh_landmarks(frame, box)
        assert points is not None
        ears.append(bench.eye_aspect_ratio(points))
    assert 1.0 - ears[1] / ears[0] >= 0.65, ears


def test_black_and_white_photo_gets_no_coloured_mouth():
    import skimage.color
    import skimage.data

    from pipeline.animate import Renderer
    from pipeline.face import analyze
    from pipeline.face import landmarks as lm
    from pipeline.types import ARTICULATION, MOTION
    from pipeline.video.layout import plan_layout

    grey = (skimage.color.rgb2gray(skimage.data.astronaut()) * 255).round().astype(np.uint8)
    portrait = analyze(np.repeat(grey[..., None], 3, axis=2))
    renderer = Renderer(portrait, plan_layout(portrait, 540, 540))
    mouth = np.zeros(len(ARTICULATION), np.float32)
    mouth[list(ARTICULATION).index("jaw_open")] = 1.0
    mouth[list(ARTICULATION).index("tongue_show")] = 1.0
    frame = renderer.render_frame(mouth, np.zeros(len(MOTION), np.float32)).astype(int)
    p = renderer.points
    x0, x1 = int(p[lm.MOUTH_LEFT_CORNER, 0]), int(p[lm.MOUTH_RIGHT_CORNER, 0])
    y0, y1 = int(p[lm.NOSE_TIP, 1]), int(p[lm.CHIN, 1])
    assert np.ptp(frame[y0:y1, x0:x1], axis=2).max() <= 2


def _synthetic_eye():
    from pipeline.animate.eyes import EyeShape

    u = np.linspace(-20.0, 20.0, 9)
    opening = 8.0 * (1 - (u / 20.0) ** 2)
    return EyeShape(center=np.array([50.0, 50.0]), axis_u=np.array([1.0, 0.0]),
                    axis_v=np.array([0.0, 1.0]), upper_u=u, upper_v=-0.6 * opening,
                    lower_u=u, lower_v=0.4 * opening, brow_u=u, brow_v=np.full(9, -25.0),
                    half_px=20.0, lash_px=3.0, skin_u=u, skin_rgb=np.full((9, 3), 180.0),
                    iris_px=np.array([50.0, 50.0]))


def test_lid_slides_down_like_a_curtain():
    """Open: every pixel reads itself. Closed: no pixel inside the eye reads the eyeball
    (the lids cover it, nothing is squeezed), and the lid never folds over itself."""
    from pipeline.animate.eyes import lid_source

    eye = _synthetic_eye()
    u, v = np.meshgrid(np.linspace(-15, 15, 31), np.linspace(-30, 15, 451))
    src_up, src_other, cover, eyeball = lid_source(eye, u, v, 0.0)
    src = np.where(cover >= 1.0, src_up, src_other)
    assert np.allclose(src, v) and eyeball.max() > 0.9

    src_up, src_other, cover, eyeball = lid_source(eye, u, v, 1.0)
    top = np.interp(u, eye.upper_u, eye.upper_v)
    bottom = np.interp(u, eye.lower_u, eye.lower_v)
    inside = (v > top + 0.5) & (v < bottom - 0.5)
    src = np.where(cover >= 0.5, src_up, src_other)     # the pixel each position mostly shows
    # every source lies on a lid (at or beyond the still opening's edges), none on the eyeball
    reads_eyeball = (src > top + 0.5) & (src < bottom - 0.5)
    assert not (inside & reads_eyeball).any()
    assert (eyeball <= 1.0 - cover + 1e-9).all()          # gaze moves only what the lid leaves
    # the upper lid's source rises with v: stretched skin, never a fold
    assert (np.diff(src_up, axis=0) >= -1e-9).all()
    # the lash margin arrives low in the eye: the closed line sits near the lower lid
    edge_row = np.argmax(cover < 0.5, axis=0)
    mid = u.shape[1] // 2
    assert v[edge_row[mid], mid] > 0.7 * bottom[0, mid] + 0.3 * top[0, mid]


def test_closed_lash_line_has_no_hook_at_the_corners():
    """Near the corners the lash zone above the still margin (the photo's lash wing) is
    left out of a closed lid: those positions read skin above the lashes, not lashes."""
    from pipeline.animate.eyes import LASH_HALF, lid_source

    eye = _synthetic_eye()
    u = np.full(7, 0.95 * eye.half_px)
    top = float(np.interp(u[0], eye.upper_u, eye.upper_v))
    v = np.linspace(top - eye.lash_px, top - LASH_HALF * eye.half_px, 7)
    src_open = lid_source(eye, u, v, 0.0)[0]
    src_shut = lid_source(eye, u, v, 1.0)[0]
    assert np.allclose(src_open, v)
    assert (src_shut < top - eye.lash_px).all()


def _lid_and_cheek(frame: np.ndarray, eye) -> tuple[np.ndarray, np.ndarray]:
    """Luma of a closed lid (mid-lid, above the closed margin) and of the skin under the eye."""
    import cv2

    luma = frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    half = eye.half_px
    top, bottom = (float(np.interp(0.0, xs, ys)) for xs, ys in ((eye.upper_u, eye.upper_v),
                                                                 (eye.lower_u, eye.lower_v)))

    def region(v0: float, v1: float) -> np.ndarray:
        uu, vv = np.meshgrid(np.arange(-0.6 * half, 0.6 * half), np.arange(v0, v1))
        p = eye.center + uu[..., None] * eye.axis_u + vv[..., None] * eye.axis_v
        return cv2.remap(luma, p[..., 0].astype(np.float32), p[..., 1].astype(np.float32),
                         cv2.INTER_LINEAR)

    return region(top - 0.1 * half, bottom - 0.25 * half), region(bottom + 0.3 * half, bottom + 0.7 * half)


def test_closed_lid_is_skin_without_streaks():
    """A closed lid has about the grain of the skin under the eye (not a smooth patch), and
    no vertical streaks (stretched lashes): across the lid it changes no more than down it."""
    import cv2
    import skimage.data

    from pipeline.animate import Renderer
    from pipeline.face import analyze
    from pipeline.types import ARTICULATION, MOTION
    from pipeline.video.layout import plan_layout

    portrait = analyze(skimage.data.astronaut())
    renderer = Renderer(portrait, plan_layout(portrait, 540, 540))
    motion = np.zeros(len(MOTION), np.float32)
    motion[list(MOTION).index("blink")] = 1.0
    frame = renderer.render_frame(np.zeros(len(ARTICULATION), np.float32), motion)
    for eye in renderer.lid_colors.eyes:
        lid, cheek = _lid_and_cheek(frame, eye)
        grain = [float((a - cv2.GaussianBlur(a, (0, 0), 1.5)).std()) for a in (lid, cheek)]
        assert grain[0] > 0.6 * grain[1], grain
        across = float(np.abs(np.diff(lid, axis=1)).mean())
        down = float(np.abs(np.diff(lid, axis=0)).mean())
        assert across < down, (across, down)


def test_closed_eye_shows_lid_not_iris():
    """A full blink covers the iris with the person's lid; a partial one covers its top."""
    import skimage.data

    from pipeline.animate import Renderer
    from pipeline.face import analyze
    from pipeline.face import landmarks as lm
    from pipeline.types import ARTICULATION, MOTION
    from pipeline.video.layout import plan_layout

    portrait = analyze(skimage.data.astronaut())
    renderer = Renderer(portrait, plan_layout(portrait, 540, 540))
    frames = {}
    for blink in (0.0, 0.5, 1.0):
        motion = np.zeros(len(MOTION), np.float32)
        motion[list(MOTION).index("blink")] = blink
        frames[blink] = renderer.render_frame(np.zeros(len(ARTICULATION), np.float32), motion).astype(float)
    p = renderer.points
    for iris in (lm.RIGHT_IRIS_CENTER, lm.LEFT_IRIS_CENTER):
        x, y = np.round(p[iris, :2]).astype(int)
        open_luma = frames[0.0][y - 1:y + 2, x - 1:x + 2].mean()
        shut_luma = frames[1.0][y - 1:y + 2, x - 1:x + 2].mean()
        assert shut_luma > open_luma + 40            # skin over a dark iris
    # blink 0.5: the lower part of the iris still shows, the upper part is lid
    eye = renderer.lid_colors.eyes[0]
    x, y = np.round(p[lm.RIGHT_IRIS_CENTER, :2]).astype(int)
    low = int(round(y + 0.3 * (np.interp(0, eye.lower_u, eye.lower_v))))
    assert abs(frames[0.5][low, x].mean() - frames[0.0][low, x].mean()) < 25
