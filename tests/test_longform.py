"""Long-form rendering: chunked segments join seamlessly, interrupted renders resume from
finished chunks, and a killed render through the real CLI leaves no output."""

import signal
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import EXIT_INTERRUPTED
from pipeline.progress import Progress
from pipeline.types import Word
from pipeline.video import chunks
from pipeline.video.captions import phrases, write_ass
from pipeline.video.encode import concat_mux, encode_audio, encode_segment
from pipeline.video.probe import probe, read_frames

from conftest import EXAMPLES, interrupt_render

FPS = 10.0
W, H = 128, 96
BITS = 8
SCRIPT = "We planned the launch for spring, then the parts were late."


def numbered_frames(start: int, stop: int):
    """Frames that carry their own index as black/white stripes, to be read back after encoding."""
    for i in range(start, stop):
        frame = np.zeros((H, W, 3), np.uint8)
        for bit in range(BITS):
            if (i >> bit) & 1:
                frame[:H // 3, bit * W // BITS:(bit + 1) * W // BITS] = 255
        yield frame


def frame_index(frame: np.ndarray) -> int:
    band = frame[:H // 3].astype(np.float32).mean(axis=(0, 2))
    stripe = W // BITS
    return sum(1 << bit for bit in range(BITS)
               if band[bit * stripe + 2:(bit + 1) * stripe - 2].mean() > 127)


def test_plan_covers_every_frame_once():
    plan = chunks.plan_chunks(1001, 30.0, chunk_s=10.0)
    assert [c.n_frames for c in plan] == [300, 300, 300, 101]
    assert [c.start_frame for c in plan] == [0, 300, 600, 900]
    assert len({c.name for c in plan}) == len(plan)


def test_segments_join_without_lost_or_repeated_frames_and_captions_keep_time(tmp_path):
    n = 47
    plan = chunks.plan_chunks(n, FPS, chunk_s=1.3)          # 13-frame chunks, the last 8
    assert len(plan) == 4
    # One phrase from 1.0 s to 2.0 s: frames 10..19, across the first join (frame 13).
    words = [Word("Hello", 1.0, 1.5), Word("there.", 1.5, 2.0)]
    ass = write_ass(phrases(words), tmp_path / "c.ass", W, H, (4, 50, W - 4, H - 4))
    segments = [encode_segment(numbered_frames(c.start_frame, c.start_frame + c.n_frames), c.n_frames,
                               tmp_path / c.name, FPS, W, H, ass_path=ass, offset_s=c.offset_s(FPS))
                for c in plan]
    audio = encode_audio(None, tmp_path / "a.m4a", n, FPS)
    out = concat_mux(segments, audio, tmp_path / "out.mp4", tmp_path / "list.txt")
    info = probe(out)
    assert info.n_frames == n
    assert abs(info.video_duration_s - n / FPS) < 1e-3
    assert abs(info.audio_duration_s - n / FPS) < 1e-3
    decoded = list(read_frames(out))
    assert [frame_index(f) for f in decoded] == list(range(n))
    # The caption area (bottom) lights up exactly while the phrase is on screen.
    lit = [int(f[50:, :].max() > 128) for f in decoded]
    assert lit == [int(10 <= i < 20) for i in range(n)]


class StopAfter(Progress):
    """Presses Ctrl-C after `frames` rendered frames."""

    def __init__(self, frames: int):
        super().__init__(quiet=True)
        self.frames = frames

    def iterate(self, items, desc, total=None, unit="it"):
        for i, item in enumerate(items):
            if desc == "render" and i >= self.frames:
                raise KeyboardInterrupt
            yield item


class Watch(Progress):
    """Counts rendered frames; at the first, records the state of the chunk files."""

    def __init__(self, folder: Path):
        super().__init__(quiet=True)
        self.folder = folder
        self.rendered = 0
        self.chunks_at_start: dict[str, tuple[int, int]] | None = None

    def iterate(self, items, desc, total=None, unit="it"):
        for item in items:
            if desc == "render":
                if self.chunks_at_start is None:
                    self.chunks_at_start = _chunk_stats(self.folder)
                self.rendered += 1
            yield item


def _chunk_stats(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in folder.glob(".avatar-*/chunk-*.mp4")}


@pytest.fixture
def small(monkeypatch):
    from pipeline.config import RenderConfig, VideoConfig

    monkeypatch.setattr(chunks, "CHUNK_S", 1.0)
    return RenderConfig(quiet=True, video=VideoConfig(aspect="1:1", fps=FPS))


def test_interrupted_render_resumes_from_finished_chunks(tmp_path, small):
    from pipeline import render

    out = tmp_path / "talk.mp4"
    with pytest.raises(KeyboardInterrupt):
        render(EXAMPLES / "selfie.png", out, script=SCRIPT, config=small, progress=StopAfter(25))
    assert not out.exists() and not out.with_suffix(".srt").exists()
    kept = _chunk_stats(tmp_path)
    assert len(kept) == 2                     # 10-frame chunks: two finished before frame 25

    watch = Watch(tmp_path)
    result = render(EXAMPLES / "selfie.png", out, script=SCRIPT, config=small, progress=watch,
                    resume=True)
    assert watch.chunks_at_start == kept      # the finished chunks were reused, untouched
    assert watch.rendered == result.n_frames - 20
    info = probe(out)
    assert info.n_frames == result.n_frames
    assert abs(info.video_duration_s - result.n_frames / FPS) < 1e-3
    assert abs(info.audio_duration_s - info.video_duration_s) < 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk.mp4", "talk.srt", "talk.vtt"]

    # Without resume, what an interrupted run left is started afresh.
    other = tmp_path / "other"
    again = other / "talk.mp4"
    with pytest.raises(KeyboardInterrupt):
        render(EXAMPLES / "selfie.png", again, script=SCRIPT, config=small, progress=StopAfter(15))
    assert len(_chunk_stats(other)) == 1
    watch = Watch(other)
    render(EXAMPLES / "selfie.png", again, script=SCRIPT, config=small, progress=watch)
    assert watch.chunks_at_start == {}
    assert watch.rendered == result.n_frames
    assert not list(other.glob(".avatar-*"))

    # The render in one go gives the same pixels: no glitch where the runs were joined.
    resumed = np.stack(list(read_frames(out)))
    fresh = np.stack(list(read_frames(again)))
    assert resumed.shape == fresh.shape
    assert np.array_equal(resumed, fresh)


def test_killed_cli_render_leaves_no_output(tmp_path):
    out = tmp_path / "long.mp4"
    code, err = interrupt_render(["--text", " ".join([SCRIPT] * 4), "--photo", str(EXAMPLES / "selfie.png"),
                                  "--out", str(out), "--aspect", "1:1"], signal.SIGTERM)
    assert code == EXIT_INTERRUPTED, err
    assert "--resume" in err
    # No chunk was finished yet, so nothing is worth keeping: the folder is left as it was.
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("rate_hz", [22050, 44100, 8000])
def test_resampling_in_blocks_matches_one_call(rate_hz):
    # An hour of narration is resampled for Whisper block by block (one float64 copy of it
    # would be over a gigabyte); the joins must not show.
    from math import gcd

    from scipy.signal import resample_poly

    from pipeline.timing.audio import RESAMPLE_BLOCK_S, to_16k

    rng = np.random.default_rng(rate_hz)
    audio = (0.3 * rng.standard_normal(int(rate_hz * RESAMPLE_BLOCK_S * 2.5) + 7)).astype(np.float32)
    g = gcd(rate_hz, 16000)
    whole = resample_poly(audio, 16000 // g, rate_hz // g).astype(np.float32)
    blocks = to_16k(audio, rate_hz)
    assert blocks.shape == whole.shape
    assert np.max(np.abs(blocks - whole)) < 1e-6


def test_long_narration_is_transcribed_in_pieces_cut_in_pauses(monkeypatch):
    # faster-whisper takes the features of all it is given at once (an hour: 3.7 GB), so
    # long audio goes in pieces; here pieces of at most 6 s, so this take is cut at least once.
    from pipeline.speech import load_voice
    from pipeline.timing import whisper
    from pipeline.timing.audio import frame_db, to_16k

    script = ("Bob met Pam at the station on a cold morning. Then they walked home together "
              "in the rain. Their dog was waiting by the door with a ball.")
    chunks_ = list(load_voice("joe").model.synthesize(script))
    audio = np.concatenate([c.audio_float_array for c in chunks_]).astype(np.float32)
    audio_16k = to_16k(audio, chunks_[0].sample_rate)
    monkeypatch.setattr(whisper, "PIECE_S", 6.0)
    monkeypatch.setattr(whisper, "CUT_SEARCH_S", 3.0)
    pieces = whisper.pieces(audio_16k)
    assert len(pieces) >= 2
    assert pieces[0][0] == 0 and pieces[-1][1] == len(audio_16k)
    assert all(a[1] == b[0] and b[1] - b[0] <= 6 * 16000 for a, b in zip(pieces, pieces[1:], strict=False))
    db = frame_db(audio_16k)
    for cut, _ in pieces[1:]:
        assert db[cut // 160] < db.max() - 40, "a piece was cut inside a word"

    words = whisper.transcribe_16k(audio_16k)
    heard = {w.text.strip(".,").lower() for w in words}
    for expected in ("station", "morning", "home", "together", "rain", "dog", "door", "ball"):
        assert expected in heard, [w.text for w in words]
    # Times are on the whole take's clock, in order: each piece's words were shifted by its start.
    starts = [w.start_s for w in words]
    assert starts == sorted(starts) and words[-1].end_s <= len(audio_16k) / 16000 + 0.05
    rain = next(w for w in words if w.text.strip(".,").lower() == "rain")
    dog = next(w for w in words if w.text.strip(".,").lower() == "dog")
    assert rain.end_s < dog.start_s
    assert dog.start_s > pieces[0][1] / 16000     # so it came from a later piece
    monkeypatch.setattr(whisper, "PIECE_S", 600.0)
    whole_dog = next(w for w in whisper.transcribe_16k(audio_16k) if w.text.strip(".,").lower() == "dog")
    assert abs(dog.start_s - whole_dog.start_s) < 0.15, (dog, whole_dog)
