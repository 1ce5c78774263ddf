"""Render options that reach past one stage: clips without speech (--duration, --loop) and --lexicon."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import MotionConfig, RenderConfig, VideoConfig
from pipeline.errors import EXIT_BAD_INPUT
from pipeline.video.probe import probe, read_audio, read_frames

from conftest import EXAMPLES

SMALL = VideoConfig(aspect="1:1", fps=15.0, crf=26, preset="ultrafast")


def avatar(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args],
                          capture_output=True, text=True, timeout=600)


def test_idle_loop_has_the_asked_length_silent_audio_and_no_caption_files(tmp_path):
    out = tmp_path / "loop.mp4"
    run = avatar("render", "--photo", str(EXAMPLES / "selfie.png"), "--out", str(out), "--duration", "2",
                 "--loop", "--aspect", "1:1", "--fps", "15", "--preset", "draft", "--quiet")
    assert run.returncode == 0, run.stderr
    info = probe(out)
    assert info.n_frames == 30
    assert abs(info.audio_duration_s - 2.0) < 0.05
    assert np.abs(read_audio(out)[1]).max() < 1e-3          # a silent track
    assert not out.with_suffix(".srt").exists() and not out.with_suffix(".vtt").exists()
    frames = [f.astype(np.float32) for f in read_frames(out)]
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:], strict=False)]
    assert max(steps) > 0.05                                 # it moves (blinks, head) ...
    # ... and the wrap from the last frame to the first is no bigger a jump than the largest
    # inside the clip (encoder noise included).
    assert np.abs(frames[0] - frames[-1]).mean() <= 1.5 * max(steps)


def test_duration_with_a_script_is_refused(tmp_path):
    run = avatar("render", "--photo", str(EXAMPLES / "selfie.png"), "--out", str(tmp_path / "x.mp4"),
                 "--text", "Hello.", "--duration", "3")
    assert run.returncode == EXIT_BAD_INPUT
    assert "--duration" in run.stderr and "Drop" in run.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_a_missing_lexicon_is_named(tmp_path):
    run = avatar("render", "--photo", str(EXAMPLES / "selfie.png"), "--out", str(tmp_path / "x.mp4"),
                 "--text", "We use SQL.", "--lexicon", str(tmp_path / "nope.yaml"))
    assert run.returncode == EXIT_BAD_INPUT
    assert "nope.yaml" in run.stderr and "--lexicon" in run.stderr


@pytest.mark.slow
def test_lexicon_changes_what_the_voice_says_but_not_the_captions(tmp_path):
    from pipeline import render

    lexicon = tmp_path / "words.yaml"
    lexicon.write_text("SQL: sequel\n", encoding="utf-8")
    results = {}
    for name, lex in (("plain", None), ("lex", str(lexicon))):
        config = RenderConfig(video=SMALL, lexicon=lex, quiet=True)
        results[name] = render(EXAMPLES / "selfie.png", tmp_path / f"{name}.mp4", script="We use SQL.",
                               config=config)
    # The phones after "We use" (W IY Y UW Z): "sequel" has a W (S IY K W AH L), the letters
    # S-Q-L ("ess cue ell") have none.
    tails = {}
    for k, r in results.items():
        labels = [p.label for p in r.timing.phones if p.label != "SIL"]
        tails[k] = labels[labels.index("Z") + 1:]
    assert "W" in tails["lex"] and "W" not in tails["plain"], tails
    for r in results.values():
        assert "SQL" in Path(r.srt_path).read_text(encoding="utf-8")


def test_motion_scale_zero_keeps_the_head_still(tmp_path):
    from pipeline import render

    def hair_steps(scale: float) -> float:
        out = tmp_path / f"scale{scale:g}.mp4"
        config = RenderConfig(video=SMALL, motion=MotionConfig(scale=scale), duration_s=1.0, quiet=True)
        render(EXAMPLES / "selfie.png", out, config=config)
        # The top quarter of the frame is hair and background: only the head moves it.
        tops = [f[: f.shape[0] // 4].astype(np.float32) for f in read_frames(out)]
        return float(np.median([np.abs(b - a).mean() for a, b in zip(tops, tops[1:], strict=False)]))

    still, moving = hair_steps(0.0), hair_steps(1.0)
    assert still < 0.05 and moving > 0.1, (still, moving)
