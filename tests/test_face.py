"""face: landmarks and the photo gate, on real mediapipe with real photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from pipeline.errors import PhotoError
from pipeline.face import analyze, check, format_report, landmarks, load_photo, mouth_aperture

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
needs_eval = pytest.mark.skipif(not EVAL.exists(), reason="shared eval photos not present")


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


def codes(report) -> set[str]:
    return {i.code for i in report.issues}


def test_astronaut_is_a_good_portrait(astronaut):
    p = analyze(astronaut)
    r = p.report
    assert r.ok and r.faces_found == 1 and r.face_index == 0
    assert p.landmarks_px.shape == (landmarks.N_LANDMARKS, 3)
    assert p.landmarks_px.dtype == np.float32
    x0, y0, x1, y1 = p.face_box_px
    # Her face sits in the upper middle of the 512 x 512 photo.
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 260
    assert 80 < r.face_px < 120
    assert abs(r.yaw_deg) < 15 and abs(r.pitch_deg) < 15 and abs(r.roll_deg) < 10
    assert 100 < r.brightness < 220 and r.sharpness > 100
    # The subject's right eye corner (33) is on the image's left.
    assert p.landmarks_px[33, 0] < p.landmarks_px[263, 0]
    assert p.landmarks_px[landmarks.RIGHT_IRIS_CENTER, 0] < p.landmarks_px[
        landmarks.LEFT_IRIS_CENTER, 0]
    assert 0.05 < mouth_aperture(p.landmarks_px) < 0.25  # a smile with the teeth showing


def test_blank_image_has_no_face():
    blank = np.full((480, 640, 3), 200, np.uint8)
    r = check(blank)
    assert not r.ok and r.faces_found == 0 and codes(r) == {"no_face"}
    assert "No face found" in r.errors[0].message
    with pytest.raises(PhotoError) as e:
        analyze(blank)
    assert e.value.report is not None and "no_face" in codes(e.value.report)


def test_tiny_face_is_too_small(astronaut):
    tiny = cv2.resize(astronaut, (140, 140), interpolation=cv2.INTER_AREA)
    r = check(tiny)
    assert r.faces_found == 1 and "too_small" in {i.code for i in r.errors}
    with pytest.raises(PhotoError, match="px"):
        analyze(tiny)


def test_rotation_is_measured_and_warned(astronaut):
    # Rotate the whole photo 35 deg clockwise (cv2 angles are counter-clockwise).
    m = cv2.getRotationMatrix2D((256, 256), -35, 0.8)
    turned = cv2.warpAffine(astronaut, m, (512, 512), borderValue=(255, 255, 255))
    r = check(turned)
    assert 28 < r.roll_deg < 42
    assert "rotated" in {i.code for i in r.warnings} and r.ok


def test_dark_and_blurry_faces(astronaut):
    dark = (astronaut * 0.2).astype(np.uint8)
    assert "too_dark" in {i.code for i in check(dark).errors}
    blurry = cv2.GaussianBlur(astronaut, (0, 0), 2.0)
    r = check(blurry)
    assert r.ok and "blurry" in {i.code for i in r.warnings}


def test_two_faces_warn_and_face_index_picks(astronaut):
    # The second face is much smaller, so the larger one is clearly the subject.
    big = cv2.resize(astronaut, (800, 800), interpolation=cv2.INTER_CUBIC)
    small = cv2.resize(astronaut, (420, 420), interpolation=cv2.INTER_AREA)
    pair = np.full((800, 1220, 3), 255, np.uint8)
    pair[:, :800] = big
    pair[190:610, 800:1220] = small
    r = check(pair)
    assert r.ok and r.faces_found == 2 and "several_faces" in codes(r)
    assert "--face" in [i for i in r.issues if i.code == "several_faces"][0].message
    other = analyze(pair, face_index=1)
    assert other.report.face_px < r.face_px
    assert other.landmarks_px[:, 0].min() > 800
    bad = check(pair, face_index=5)
    assert not bad.ok and "face_index" in codes(bad) and "2 faces" in bad.errors[0].message
    with pytest.raises(PhotoError):
        analyze(pair, face_index=5)


def test_unreadable_files_raise(tmp_path):
    corrupt = tmp_path / "selfie.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    with pytest.raises(PhotoError, match="selfie.jpg"):
        check(corrupt)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(PhotoError, match="not an image"):
        analyze(text)
    with pytest.raises(PhotoError, match="not found"):
        load_photo(tmp_path / "missing.jpg")


def test_load_photo_normalises_formats(tmp_path, astronaut):
    rgba = np.zeros((20, 30, 4), np.uint8)  # fully transparent -> white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_photo(tmp_path / "a.png")
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8 and (out == 255).all()

    Image.fromarray(np.full((10, 12), 77, np.uint8), "L").save(tmp_path / "g.png")
    gray = load_photo(tmp_path / "g.png")
    assert gray.shape == (10, 12, 3) and (gray == 77).all()

    # EXIF orientation 6: stored landscape, shown rotated 90 deg clockwise.
    im = Image.fromarray(astronaut[:, :300])
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(tmp_path / "o.jpg", exif=exif)
    upright = load_photo(tmp_path / "o.jpg")
    assert upright.shape == (300, 512, 3)


def test_format_report_lists_measures_and_issues(astronaut):
    text = format_report(check(astronaut))
    for word in ("faces found: 1", "px wide", "yaw", "brightness", "sharpness", "OK"):
        assert word in text
    text = format_report(check(np.zeros((300, 300, 3), np.uint8)))
    assert "ERROR [no_face]" in text and "NOT OK" in text


BAD = {
    "facerec_obama_partial_face2.jpg": "cut_off",
    "insightface_Tom_Hanks_112px.png": "too_small",
    "insightface_t1_group6.jpg": "group_photo",
    "facerec_two_people.jpg": "group_photo",
    "liveportrait_s41_cat.jpg": "no_face",
    "whisper_approach_diagram_noface.png": "no_face",
}


@needs_eval
@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_photos_are_rejected(name):
    with pytest.raises(PhotoError) as e:
        analyze(EVAL / "bad" / name)
    assert BAD[name] in {i.code for i in e.value.report.errors}
    assert name in str(e.value)


@needs_eval
def test_two_people_of_similar_size_need_face_index():
    with pytest.raises(PhotoError) as e:
        analyze(EVAL / "bad" / "facerec_two_people.jpg")
    assert "--face" in str(e.value)
    first = analyze(EVAL / "bad" / "facerec_two_people.jpg", face_index=0)
    assert first.report.faces_found == 2 and "several_faces" in codes(first.report)
    other = analyze(EVAL / "bad" / "facerec_two_people.jpg", face_index=1)
    assert abs(other.landmarks_px[:, 0].mean() - first.landmarks_px[:, 0].mean()) > 300


@needs_eval
@pytest.mark.parametrize("path", sorted((EVAL / "portraits").glob("*")) if EVAL.exists() else [],
                         ids=lambda p: p.name)
def test_portraits_pass(path):
    p = analyze(path)
    assert p.report.ok and p.report.faces_found == 1
    x0, y0, x1, y1 = p.face_box_px
    h, w = p.image.shape[:2]
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h


@needs_eval
def test_mouth_aperture_open_vs_closed():
    portraits = EVAL / "portraits"
    open_ = analyze(portraits / "liveportrait_d19_mouth_open.jpg")
    closed = analyze(portraits / "liveportrait_s7_cartoon3d.jpg")
    assert mouth_aperture(open_.landmarks_px) > 0.25
    assert mouth_aperture(closed.landmarks_px) < 0.05


@needs_eval
def test_yaw_sign_follows_the_turn():
    # Mona Lisa turns towards the image left; mirrored, towards the right.
    image = load_photo(EVAL / "portraits" / "liveportrait_s9_monalisa.jpg")
    yaw = check(image).yaw_deg
    mirrored = check(np.ascontiguousarray(image[:, ::-1])).yaw_deg
    assert yaw < -8 and mirrored > 8
