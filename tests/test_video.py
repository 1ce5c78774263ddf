"""Encoding through the real ffmpeg (imageio-ffmpeg), checked by decoding the output."""

import signal
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import OutputError
from pipeline.types import Word
from pipeline.video.captions import fonts_dir, phrases, write_ass
from pipeline.video.encode import _umask, check_writable, encode
from pipeline.video.probe import probe, read_audio, read_frames

FPS = 30.0
W, H = 360, 640
N_FRAMES = 45                      # 1.5 s
BOX = (30, 393, 313, 493)          # the 1080x1920 caption box (90, 1180, 940, 1480) / 3
BACKGROUND = (20, 40, 90)          # dark blue: nothing in it looks yellow or white


def write_sine(path: Path, duration_s: float, sample_rate_hz: int = 22_050,
               freq_hz: float = 440.0) -> Path:
    t = np.arange(round(duration_s * sample_rate_hz)) / sample_rate_hz
    pcm = (0.4 * np.sin(2 * np.pi * freq_hz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate_hz)
        f.writeframes(pcm.tobytes())
    return path


def synthetic_frames(n: int, width: int = W, height: int = H):
    """A flat background with a bright bar sweeping across the top: every frame differs."""
    for i in range(n):
        frame = np.empty((height, width, 3), np.uint8)
        frame[:] = BACKGROUND
        x = i * (width - 20) // max(1, n - 1)
        frame[10:60, x:x + 20] = (230, 230, 230)
        yield frame


@pytest.fixture
def sine(tmp_path) -> Path:
    return write_sine(tmp_path / "sine.wav", N_FRAMES / FPS)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "partial" in p.name or "check" in p.name)


def test_encode_streams_and_tags(tmp_path, sine):
    out = encode(synthetic_frames(N_FRAMES), N_FRAMES, sine, tmp_path / "out.mp4", FPS, W, H)
    assert out == tmp_path / "out.mp4"
    info = probe(out)
    assert info.video_codec == "h264" and info.pix_fmt == "yuv420p"
    assert (info.width, info.height) == (W, H)
    assert info.fps == pytest.approx(FPS)
    assert info.n_frames == N_FRAMES
    assert info.video_duration_s == pytest.approx(N_FRAMES / FPS, abs=1e-3)
    assert info.audio_codec == "aac" and info.audio_sample_rate_hz == 48_000
    assert abs(info.audio_duration_s - info.video_duration_s) <= 1 / FPS
    assert leftovers(tmp_path) == []
    # The sweeping bar arrives where it was drawn: frame 0 at the left, the last at the right.
    frames = list(read_frames(out))
    assert len(frames) == N_FRAMES
    assert frames[0][35, 10].min() > 180 and frames[0][35, W - 10].max() < 120
    assert frames[-1][35, W - 10].min() > 180 and frames[-1][35, 10].max() < 120
    # The sound is still the 440 Hz tone.
    audio = read_audio(out, sample_rate_hz=16_000)
    spectrum = np.abs(np.fft.rfft(audio[1600:-1600]))
    peak_hz = np.argmax(spectrum) * 16_000 / (len(audio) - 3200)
    assert peak_hz == pytest.approx(440, abs=5)


@pytest.mark.parametrize("audio_s", [0.9, 2.4])
def test_audio_padded_or_trimmed_to_the_video(tmp_path, audio_s):
    wav = write_sine(tmp_path / "a.wav", audio_s)
    info = probe(encode(synthetic_frames(N_FRAMES), N_FRAMES, wav, tmp_path / "o.mp4", FPS, W, H))
    assert info.n_frames == N_FRAMES
    assert abs(info.audio_duration_s - N_FRAMES / FPS) <= 1 / FPS
    audio = read_audio(tmp_path / "o.mp4")
    if audio_s < N_FRAMES / FPS:
        # Padded with silence after the speech ends, not stretched.
        assert np.abs(audio[int(1.0 * 16_000):]).max() < 0.01
        assert np.abs(audio[: int(0.8 * 16_000)]).max() > 0.2


def test_colours_survive_the_round_trip(tmp_path):
    frames = (np.full((H, W, 3), (200, 60, 60), np.uint8) for _ in range(5))
    out = encode(frames, 5, None, tmp_path / "red.mp4", FPS, W, H)
    frame = next(read_frames(out))
    assert np.abs(frame.reshape(-1, 3).mean(0) - (200, 60, 60)).max() < 4
    assert probe(out).audio_codec == "aac"   # silent track when no audio is given


def test_full_size_1080x1920(tmp_path):
    frames = synthetic_frames(10, 1080, 1920)
    info = probe(encode(frames, 10, None, tmp_path / "big.mp4", FPS, 1080, 1920))
    assert (info.width, info.height, info.n_frames) == (1080, 1920, 10)
    assert abs(info.audio_duration_s - info.video_duration_s) <= 1 / FPS
    # Readable by others like any file the user saves, not private like the temporary file.
    assert (tmp_path / "big.mp4").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _yellow(frame: np.ndarray) -> np.ndarray:
    r, g, b = (frame[..., c].astype(int) for c in range(3))
    return (r > 180) & (g > 140) & (b < 100)


def _white(frame: np.ndarray) -> np.ndarray:
    return frame.min(axis=2) > 200


CAPTION_WORDS = [Word("One", 0.1, 0.4), Word("two", 0.45, 0.8), Word("three.", 0.85, 1.2)]


def _burned(tmp_path: Path, folder: str, sine: Path) -> list[np.ndarray]:
    # A folder name with every character the filtergraph treats specially.
    work = tmp_path / folder
    work.mkdir()
    ass = write_ass(phrases(CAPTION_WORDS), work / "c.ass", W, H, BOX)
    # The explicit fonts folder, and the default one (the same DejaVu fonts), both render.
    fonts = fonts_dir() if folder == "plain" else None
    out = encode(synthetic_frames(N_FRAMES), N_FRAMES, sine, work / "cap.mp4", FPS, W, H,
                 ass_path=ass, fonts_dir=fonts)
    return list(read_frames(out))


@pytest.mark.parametrize("folder", ["plain", "it's a [test], dir:1;x"])
def test_captions_burned_with_the_spoken_word_highlighted(tmp_path, sine, folder):
    plain = list(read_frames(encode(synthetic_frames(N_FRAMES), N_FRAMES, sine,
                                    tmp_path / "plain.mp4", FPS, W, H)))
    burned = _burned(tmp_path, folder, sine)
    x0, y0, x1, y1 = BOX

    def region(f):
        return f[y0:y1, x0:x1]

    # Before the first word and after the phrase: no captions.
    for i in (0, 44):
        assert np.abs(region(burned[i]).astype(int) - region(plain[i])).mean() < 2
    centroids = []
    for t_s in (0.25, 0.6, 1.0):     # inside "One", "two", "three."
        i = round(t_s * FPS)
        cap, ref = burned[i], plain[i]
        assert np.abs(region(cap).astype(int) - region(ref)).mean() > 5
        yellow, white = _yellow(cap), _white(cap)
        assert yellow[y0:y1, x0:x1].sum() > 30 and white[y0:y1, x0:x1].sum() > 60
        # Nothing drawn outside the caption box (the bar at the top aside).
        assert yellow[:y0].sum() == 0 and yellow[y1:].sum() == 0
        centroids.append(np.nonzero(yellow)[1].mean())
    # The highlight moves left to right with the spoken word.
    assert centroids[0] < centroids[1] < centroids[2]


def _failing_frames(n_ok: int, exc: BaseException):
    yield from synthetic_frames(n_ok)
    raise exc


@pytest.mark.parametrize("exc", [RuntimeError("renderer crashed"), KeyboardInterrupt()])
def test_interrupt_leaves_nothing(tmp_path, sine, exc):
    out = tmp_path / "out.mp4"
    with pytest.raises(type(exc)):
        encode(_failing_frames(20, exc), N_FRAMES, sine, out, FPS, W, H)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [sine]


CTRL_C_SCRIPT = """
import sys, time
import numpy as np
from pipeline.video.encode import encode

def frames():
    for i in range(300):
        if i == 10:
            print("rendering", flush=True)
        time.sleep(0.02)
        yield np.full((64, 64, 3), i % 256, np.uint8)

encode(frames(), 300, None, sys.argv[1], 30.0, 64, 64)
"""


def test_ctrl_c_leaves_nothing(tmp_path):
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT, str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "rendering\n"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "KeyboardInterrupt" in stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_output_kept_when_encoding_fails(tmp_path, sine):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous video")
    with pytest.raises(RuntimeError):
        encode(_failing_frames(5, RuntimeError("boom")), N_FRAMES, sine, out, FPS, W, H)
    assert out.read_bytes() == b"previous video"
    assert leftovers(tmp_path) == []


def test_wrong_frame_count_or_shape_is_an_error(tmp_path, sine):
    out = tmp_path / "out.mp4"
    with pytest.raises(ValueError, match="promised"):
        encode(synthetic_frames(N_FRAMES - 1), N_FRAMES, sine, out, FPS, W, H)
    with pytest.raises(ValueError, match="promised"):
        encode(synthetic_frames(N_FRAMES + 1), N_FRAMES, sine, out, FPS, W, H)
    with pytest.raises(ValueError, match="expected uint8"):
        encode(synthetic_frames(N_FRAMES, W + 2, H), N_FRAMES, sine, out, FPS, W, H)
    assert list(tmp_path.iterdir()) == [sine]


def test_ffmpeg_failure_reports_its_message(tmp_path):
    bad_audio = tmp_path / "not_audio.wav"
    bad_audio.write_text("this is not a wav file")
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="ffmpeg failed") as err:
        encode(synthetic_frames(N_FRAMES), N_FRAMES, bad_audio, out, FPS, W, H)
    assert "not_audio.wav" in str(err.value)   # ffmpeg's own complaint names the input
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_audio.wav"]


def test_unwritable_output_fails_before_rendering(tmp_path, sine):
    a_file = tmp_path / "somefile.txt"
    a_file.write_text("x")
    pulled = []

    def frames():
        pulled.append(1)
        yield from synthetic_frames(N_FRAMES)

    out = a_file / "out.mp4"   # a "folder" that is a file
    with pytest.raises(OutputError, match="somefile.txt") as err:
        encode(frames(), N_FRAMES, sine, out, FPS, W, H)
    assert "Choose an output path" in str(err.value)
    assert pulled == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sine.wav", "somefile.txt"]
    with pytest.raises(OutputError, match="is a folder"):
        check_writable(tmp_path)


def test_missing_parent_folders_are_created(tmp_path):
    out = check_writable(tmp_path / "new" / "deeper" / "v.mp4")
    assert out.parent.is_dir() and list(out.parent.iterdir()) == []


def test_probe_and_readers_reject_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(FileNotFoundError):
        read_audio(tmp_path / "nope.mp4")


def test_read_frames_every_n_and_size(tmp_path, sine):
    out = encode(synthetic_frames(N_FRAMES), N_FRAMES, sine, tmp_path / "o.mp4", FPS, W, H)
    frames = list(read_frames(out, every_n=10, size=(90, 160)))
    assert len(frames) == 5                      # frames 0, 10, 20, 30, 40
    assert all(f.shape == (160, 90, 3) for f in frames)
    assert frames[0].flags.writeable
