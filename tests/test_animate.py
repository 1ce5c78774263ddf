"""Rendering: real mediapipe portraits, real pixels, measured again with mediapipe."""

from __future__ import annotations

import functools

import mediapipe as mp
import numpy as np
import pytest
import skimage.data

from pipeline.animate import Renderer, frames
from pipeline.face import analyze
from pipeline.face import landmarks as lm
from pipeline.types import ARTICULATION, MOTION, MotionTrack, MouthTrack
from pipeline.video.layout import plan_layout

# A smaller frame keeps the tests quick; the renderer does not care about the size.
WIDTH, HEIGHT = 540, 960


@functools.cache
def astronaut_renderer() -> Renderer:
    portrait = analyze(skimage.data.astronaut())
    return Renderer(portrait, plan_layout(portrait, WIDTH, HEIGHT))


@functools.cache
def _mesh():
    return mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True,
                                           max_num_faces=1)


def measure(frame: np.ndarray) -> np.ndarray:
    """Face mesh landmarks (x, y px) on a rendered frame."""
    h, w = frame.shape[:2]
    result = _mesh().process(np.ascontiguousarray(frame))
    assert result.multi_face_landmarks, "no face found in the rendered frame"
    pts = result.multi_face_landmarks[0].landmark
    return np.array([[p.x * w, p.y * h] for p in pts])


def eye_openness(p: np.ndarray) -> float:
    gaps = [np.linalg.norm(p[a] - p[b]) for a, b in (lm.RIGHT_EYE_LID_PAIR, lm.LEFT_EYE_LID_PAIR)]
    return float(np.mean(gaps) / lm.eye_distance(p))


def values(names, **kw) -> np.ndarray:
    v = np.zeros(len(names), np.float32)
    for k, x in kw.items():
        v[names.index(k)] = x
    return v


def render(r: Renderer, mouth=None, motion=None) -> np.ndarray:
    return r.render_frame(values(ARTICULATION, **(mouth or {})), values(MOTION, **(motion or {})))


def test_neutral_frame_is_the_background():
    r = astronaut_renderer()
    frame = render(r)
    assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8
    assert np.abs(frame.astype(int) - r.background.astype(int)).max() <= 2


def test_jaw_and_lips_open_the_mouth():
    r = astronaut_renderer()
    neutral = lm.mouth_aperture(measure(render(r)))
    opened = lm.mouth_aperture(measure(render(r, dict(jaw_open=1, lip_open=1, teeth_show=0.5))))
    assert opened > neutral + 0.12, (neutral, opened)


def test_smiling_photo_rests_closed_and_opens():
    """The astronaut smiles with her teeth showing: rest and p/b/m close, open opens."""
    r = astronaut_renderer()
    assert lm.mouth_aperture(measure(r.background)) < 0.03   # the closed base itself
    assert lm.mouth_aperture(measure(render(r))) < 0.03
    assert lm.mouth_aperture(measure(render(r, dict(lip_press=1)))) < 0.03
    assert lm.mouth_aperture(measure(render(r, dict(jaw_open=0.8, lip_open=0.8)))) > 0.08


def test_lip_press_wins_over_anticipated_rounding():
    """The "m" of "Pam walked" is pressed while the lips already round for the "w"."""
    r = astronaut_renderer()
    pressed = render(r, dict(lip_press=1, lip_round=1, lip_open=0.5, upper_lip_raise=1))
    assert lm.mouth_aperture(measure(pressed)) < 0.03
    assert lm.mouth_aperture(measure(render(r, dict(lip_round=1)))) > 0.05


def test_closed_base_keeps_the_face_outside_the_mouth():
    portrait = analyze(skimage.data.astronaut())
    layout = plan_layout(portrait, WIDTH, HEIGHT)
    r = astronaut_renderer()
    changed = np.abs(r.background.astype(int) - layout.background.astype(int)).max(axis=2) > 8
    ys, xs = np.nonzero(changed)
    assert len(ys) > 0                      # the teeth were closed over ...
    lips = r.points[list(lm.OUTER_LIPS)]
    # ... and only between the nose and the chin, within the face's width.
    assert ys.min() > r.points[lm.NOSE_TIP, 1]
    assert ys.max() < r.points[lm.CHIN, 1]
    assert xs.min() > lips[:, 0].min() - 0.3 * r.face_px and xs.max() < lips[:, 0].max() + 0.3 * r.face_px


@pytest.mark.parametrize("name", ["sadtalker_happy1.png", "liveportrait_d19_mouth_open.jpg"])
def test_open_mouthed_eval_portrait_rests_closed(name):
    from conftest import eval_dir

    portrait = analyze(eval_dir("portraits", name))
    assert lm.mouth_aperture(portrait.landmarks_px) > 0.05       # the photo's mouth is open
    r = Renderer(portrait, plan_layout(portrait, WIDTH, HEIGHT))
    assert lm.mouth_aperture(measure(render(r))) < 0.03
    assert lm.mouth_aperture(measure(render(r, dict(lip_press=1)))) < 0.03
    assert lm.mouth_aperture(measure(render(r, dict(jaw_open=0.8, lip_open=0.8)))) > 0.08


def test_closed_portrait_is_left_as_it_is():
    from conftest import eval_dir

    portrait = analyze(eval_dir("portraits", "liveportrait_s12_einstein.jpg"))
    layout = plan_layout(portrait, WIDTH, HEIGHT)
    r = Renderer(portrait, layout)
    assert r.photo_teeth is None
    assert np.array_equal(r.background, layout.background)


def test_blink_closes_the_eyes():
    r = astronaut_renderer()
    open_ = eye_openness(measure(render(r)))
    closed = eye_openness(measure(render(r, motion=dict(blink=1))))
    assert closed < 0.5 * open_, (open_, closed)


def test_brow_raise_lifts_brows_not_lids():
    """A raise reads as brows and forehead: the brows rise in the pixels, the eyes do not
    open wider (lifting the lids had pulled the lashes up and cost identity)."""
    r = astronaut_renderer()
    rest, raised = measure(render(r)), measure(render(r, motion=dict(brow_raise=1)))
    brows = list(lm.RIGHT_BROW + lm.LEFT_BROW)
    eye_px = lm.eye_distance(rest)
    lift = float(np.mean(rest[brows, 1] - raised[brows, 1])) / eye_px
    assert lift > 0.02, lift
    assert abs(eye_openness(raised) - eye_openness(rest)) < 0.1 * eye_openness(rest)
    # in the rig itself: nothing on the eye's outline or iris moves at all
    ids = list(lm.RIGHT_EYE + lm.LEFT_EYE + (lm.RIGHT_IRIS_CENTER, lm.LEFT_IRIS_CENTER))
    assert np.abs(r.rig.displacements["brow_raise"][ids]).max() == 0.0


def test_outside_the_roi_is_untouched():
    r = astronaut_renderer()
    frame = render(r, dict(jaw_open=1, lip_open=1, lip_width=1, teeth_show=1),
                   dict(blink=1, head_yaw_deg=4, head_pitch_deg=-3, head_roll_deg=3, head_dx=0.05,
                        brow_raise=1, gaze_x=1))
    x0, y0, x1, y1 = r.roi
    outside = np.ones(frame.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert outside.any()
    assert np.array_equal(frame[outside], r.background[outside])
    # ... while inside the ROI something did change.
    assert np.abs(frame[y0:y1, x0:x1].astype(int) - r.background[y0:y1, x0:x1]).max() > 50


@pytest.mark.parametrize("channel,axis,sign", [("head_yaw_deg", 0, 1), ("head_pitch_deg", 1, 1),
                                               ("head_dx", 0, 1)])
def test_head_motion_moves_the_nose(channel, axis, sign):
    r = astronaut_renderer()
    amount = 0.06 if channel == "head_dx" else 5.0
    before = measure(render(r))[lm.NOSE_TIP]
    after = measure(render(r, motion={channel: amount}))[lm.NOSE_TIP]
    shift = (after - before)[axis] * sign
    assert shift > 0.01 * r.face_px, (channel, before, after)


def test_frames_yields_one_frame_per_track_frame():
    portrait = analyze(skimage.data.astronaut())
    layout = plan_layout(portrait, 360, 640)
    n = 4
    mouth_v = np.zeros((n, len(ARTICULATION)), np.float32)
    mouth_v[:, 0] = np.linspace(0, 1, n)
    motion_v = np.zeros((n, len(MOTION)), np.float32)
    out = list(frames(portrait, layout, MouthTrack(30.0, mouth_v), MotionTrack(30.0, motion_v)))
    assert len(out) == n
    assert all(f.shape == (640, 360, 3) and f.dtype == np.uint8 for f in out)
    # The first frame is the renderer's (closed-mouth) still, the last one moved.
    still = Renderer(portrait, layout).background
    assert np.array_equal(out[0], still)
    assert not np.array_equal(out[-1], still)


def test_eval_portrait_opens_and_closes():
    from conftest import eval_dir

    portrait = analyze(eval_dir("portraits", "sadtalker_people_0.png"))
    r = Renderer(portrait, plan_layout(portrait, WIDTH, HEIGHT))
    neutral = measure(render(r))
    opened = measure(render(r, dict(jaw_open=0.8, lip_open=0.6, teeth_show=1)))
    assert lm.mouth_aperture(opened) > lm.mouth_aperture(neutral) + 0.1
    assert lm.mouth_aperture(measure(render(r, dict(lip_press=1)))) < 0.03
    assert eye_openness(measure(render(r, motion=dict(blink=1)))) < 0.5 * eye_openness(neutral)
