"""Render speed of the demo against the encode floor. Prints measured numbers; asserts nothing.

The floor is what encoding alone costs: the same number of frames of a still image, at the
same size and settings, with the same audio and captions. Rendering can only approach it.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline import RenderConfig, render  # noqa: E402
from pipeline.config import VideoConfig  # noqa: E402
from pipeline.progress import Progress  # noqa: E402


def encode_floor_s(background: np.ndarray, n_frames: int, fps: float, wav: Path,
                   config: RenderConfig, work: Path) -> float:
    from pipeline.video import encode

    height_px, width_px = background.shape[:2]
    start = time.perf_counter()
    encode.encode((background for _ in range(n_frames)), n_frames, wav, work / "floor.mp4",
                  fps=fps, width_px=width_px, height_px=height_px,
                  crf=config.video.crf, preset=config.video.preset)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--script", default=str(REPO / "examples" / "founder_update.txt"))
    parser.add_argument("--photo", default=str(REPO / "examples" / "selfie.png"))
    parser.add_argument("--aspect", default="9:16")
    args = parser.parse_args()

    from pipeline import face, speech
    from pipeline.api import fit_audio
    from pipeline.types import Speech
    from pipeline.video.layout import plan_layout

    config = RenderConfig(video=VideoConfig(aspect=args.aspect), quiet=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        result = render(args.photo, work / "bench.mp4", script=Path(args.script).read_text(),
                        config=config, progress=Progress(quiet=True))
        total_s = time.perf_counter() - start

        portrait = face.analyze(args.photo)
        layout = plan_layout(portrait, *config.video.size_px)
        wav = work / "floor.wav"
        tone = Speech(np.zeros(int(result.duration_s * 22050), np.float32), 22050)
        speech.save_wav(Speech(fit_audio(tone, result.n_frames, result.fps), 22050), wav)
        floor_s = encode_floor_s(layout.background, result.n_frames, result.fps, wav, config, work)

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"video: {result.duration_s:.2f} s, {result.n_frames} frames, "
          f"{config.video.size_px[0]}x{config.video.size_px[1]} at {result.fps:g} fps")
    for stage, seconds in result.stage_s.items():
        print(f"  {stage:<14} {seconds:7.2f} s")
    print(f"total render:    {total_s:7.2f} s = {total_s / result.duration_s:.2f} s per s of video")
    print(f"encode floor:    {floor_s:7.2f} s = {floor_s / result.duration_s:.2f} s per s of video")
    print(f"render+encode vs floor: {result.stage_s['render+encode'] / floor_s:.2f}x;"
          f" end to end vs floor: {total_s / floor_s:.2f}x")
    print(f"peak RSS: {peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
