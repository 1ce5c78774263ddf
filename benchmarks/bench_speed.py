"""Render speed and memory for 10 s, 60 s and 300 s scripts. Prints numbers and writes
benchmarks/results.json; asserts nothing.

Each length renders in a fresh process, so its peak RSS is its own and its stage times include
loading the models once (as a user's first render does). The encode floor is what encoding
alone costs: the same number of frames of a still image (the render's own background) at the
same size and x264 settings, with audio of the same length and the same burned-in captions.
Rendering can only approach it. The machine may be shared: the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

# The `avatar` command sets this before numpy loads (pipeline/__init__.py); numpy loads first
# here, so the benchmark sets it itself to measure what users run.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LENGTHS_S = (10, 60, 300)
WORDS_PER_S = 2.6            # the joe voice speaks about this fast: sets how much text a length needs
SOURCE_TEXT = REPO / "examples" / "founder_update.txt"
PHOTO = REPO / "examples" / "selfie.png"
RESULTS_PATH = REPO / "benchmarks" / "results.json"
RSS_SAMPLE_S = 0.2           # how often the sampler reads this process's resident memory


def make_script(target_s: float, source: str) -> str:
    """The source's sentences repeated, stopping at the sentence end nearest to target_s of speech."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", source) if s.strip()]
    words_needed = target_s * WORDS_PER_S
    out: list[str] = []
    n_words = 0
    while True:
        sentence = sentences[len(out) % len(sentences)]
        longer = n_words + len(sentence.split())
        if out and abs(longer - words_needed) >= abs(n_words - words_needed):
            return " ".join(out)
        out.append(sentence)
        n_words = longer


def peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024   # Linux reports KiB


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def children_rss_mb() -> float:
    """Largest resident memory among this process's running children (the ffmpeg encoders).

    getrusage(RUSAGE_CHILDREN) cannot tell this: a child forked from a big Python process
    counts the parent's pages until it execs, so its peak reads as the parent's size.
    """
    pids: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += (task / "children").read_text().split()
        except OSError:
            continue
    peak = 0.0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return peak


class RssSampler:
    """Resident memory over time, read from a thread, to tell the streaming phase from the rest."""

    def __init__(self, period_s: float = RSS_SAMPLE_S):
        self.period_s = period_s
        self.samples: list[tuple[float, float]] = []
        self.children_peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), rss_mb()))
            self.children_peak_mb = max(self.children_peak_mb, children_rss_mb())
            self._stop.wait(self.period_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def window(self, start: float, end: float) -> list[float]:
        return [mb for t, mb in self.samples if start <= t <= end]


def cpu_s() -> tuple[float, float]:
    """CPU seconds (user + system) so far: this process, and its finished children (ffmpeg)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def encode_floor_s(result, photo: Path, config, work: Path, pix_fmt: str = "rgb24") -> dict:
    """Seconds (wall, and CPU of Python and of ffmpeg) to encode result.n_frames copies of the
    background the way a render encodes: the same chunks, x264 settings, captions and audio
    encoding, joined and muxed the same way. pix_fmt: the frames' layout in the pipe (rgb24,
    or yuv420p with the background converted once)."""
    from pipeline import face, speech, video
    from pipeline.types import Speech
    from pipeline.video import chunks
    from pipeline.video.layout import plan_layout

    width_px, height_px = config.video.size_px
    fps = result.fps
    layout = plan_layout(face.analyze(photo), width_px, height_px)
    sample_rate_hz = 22050
    wav = work / "floor.wav"
    speech.save_wav(Speech(np.zeros(int(result.duration_s * sample_rate_hz), np.float32), sample_rate_hz),
                    wav)
    phrases = video.phrases(result.timing.words, min_words=config.captions.min_words,
                            max_words=config.captions.max_words)
    ass_path = None
    if config.captions.enabled and phrases:
        ass_path = work / "floor.ass"
        video.write_ass(phrases, ass_path, width_px, height_px, layout.caption_box_px)
    background = layout.background
    if pix_fmt == "yuv420p":
        from pipeline.video.encode import rgb_to_i420

        background = rgb_to_i420(background)
    plan = chunks.plan_chunks(result.n_frames, fps)
    cpu_before = cpu_s()
    start = time.perf_counter()
    audio = video.AudioEncode(wav, work / "floor.m4a", result.n_frames, fps)
    segments = [
        video.encode_segment((background for _ in range(c.n_frames)), c.n_frames, work / c.name,
                             fps=fps, width_px=width_px, height_px=height_px, ass_path=ass_path,
                             offset_s=c.offset_s(fps), crf=config.video.crf, preset=config.video.preset,
                             pix_fmt=pix_fmt)
        for c in plan
    ]
    video.concat_mux(segments, audio.finish(), work / "floor.mp4", work / "floor.txt")
    wall_s = time.perf_counter() - start
    cpu_after = cpu_s()
    return {"wall_s": wall_s, "python_cpu_s": cpu_after[0] - cpu_before[0],
            "ffmpeg_cpu_s": cpu_after[1] - cpu_before[1]}


def measure(target_s: float, aspect: str, fps: float, preset_name: str) -> dict:
    """One length, in this process (the parent runs each length in a fresh one)."""
    from dataclasses import replace

    from pipeline import render
    from pipeline.config import PRESETS, VideoConfig

    base = PRESETS[preset_name]
    config = replace(base, quiet=True,
                     video=VideoConfig(aspect=aspect, fps=fps, crf=base.video.crf, preset=base.video.preset))
    script = make_script(target_s, SOURCE_TEXT.read_text(encoding="utf-8"))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        with RssSampler() as sampler:
            cpu_before = cpu_s()
            start = time.perf_counter()
            result = render(PHOTO, work / "bench.mp4", script=script, config=config)
            end = time.perf_counter()
            cpu_after = cpu_s()
        total_s = end - start
        # Render and encode is the last stage: the frames streamed to ffmpeg. Memory that grows
        # there grows with the video's length; what comes before is whole-clip work (speech, tracks).
        streaming = sampler.window(end - result.stage_s["render+encode"], end) or [float("nan")]
        before_streaming = sampler.window(start, end - result.stage_s["render+encode"]) or [float("nan")]
        render_rss_mb = peak_rss_mb(resource.RUSAGE_SELF)
        ffmpeg_rss_mb = sampler.children_peak_mb   # sampled: ru_maxrss of children is misleading
        floor = encode_floor_s(result, PHOTO, config, work)
        floor_i420 = encode_floor_s(result, PHOTO, config, work, pix_fmt="yuv420p")
    floor_s = floor["wall_s"]
    duration_s = result.duration_s
    return {
        "target_s": target_s,
        "video_s": round(duration_s, 2),
        "n_frames": result.n_frames,
        "size_px": list(config.video.size_px),
        "fps": fps,
        "x264": {"crf": config.video.crf, "preset": config.video.preset},
        "script_words": len(script.split()),
        "stage_s": {k: round(v, 2) for k, v in result.stage_s.items()},
        "total_s": round(total_s, 2),
        "render_s_per_video_s": round(total_s / duration_s, 3),
        "floor_s": round(floor_s, 2),
        "floor_s_per_video_s": round(floor_s / duration_s, 3),
        "render_encode_vs_floor": round(result.stage_s["render+encode"] / floor_s, 3),
        "total_vs_floor": round(total_s / floor_s, 3),
        # The floor fed I420 frames (no RGB -> YUV conversion in ffmpeg): the floor for a
        # render that pipes I420 too.
        "floor_i420_s": round(floor_i420["wall_s"], 2),
        "render_encode_vs_floor_i420": round(result.stage_s["render+encode"] / floor_i420["wall_s"], 3),
        # CPU seconds per second of video: wall time on a shared machine is noisy, CPU less so.
        # The render's includes every stage (models, speech); the floor's only encoding.
        "cpu_s_per_video_s": {
            "render_python": round((cpu_after[0] - cpu_before[0]) / duration_s, 3),
            "render_ffmpeg": round((cpu_after[1] - cpu_before[1]) / duration_s, 3),
            "floor_python": round(floor["python_cpu_s"] / duration_s, 3),
            "floor_ffmpeg": round(floor["ffmpeg_cpu_s"] / duration_s, 3),
            "floor_i420_ffmpeg": round(floor_i420["ffmpeg_cpu_s"] / duration_s, 3),
        },
        "peak_rss_mb": round(render_rss_mb, 1),
        "rss_before_streaming_max_mb": round(max(before_streaming), 1),
        "rss_streaming_first_last_max_mb": [round(streaming[0], 1), round(streaming[-1], 1),
                                            round(max(streaming), 1)],
        "ffmpeg_peak_rss_mb": round(ffmpeg_rss_mb, 1),   # largest child, sampled every 0.2 s
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }


def format_row(r: dict) -> str:
    stages = "  ".join(f"{k} {v:.1f}" for k, v in r["stage_s"].items())
    first_mb, last_mb, max_mb = r["rss_streaming_first_last_max_mb"]
    cpu = "  ".join(f"{k} {v:.2f}" for k, v in r["cpu_s_per_video_s"].items())
    return (
        f"{r['target_s']:>4g} s target -> {r['video_s']:.1f} s video, {r['n_frames']} frames "
        f"{r['size_px'][0]}x{r['size_px'][1]} @ {r['fps']:g} fps\n"
        f"      total {r['total_s']:.1f} s = {r['render_s_per_video_s']:.2f} s per s of video; "
        f"floor {r['floor_s']:.1f} s = {r['floor_s_per_video_s']:.2f} s/s; "
        f"render+encode/floor {r['render_encode_vs_floor']:.2f}x, total/floor {r['total_vs_floor']:.2f}x\n"
        f"      I420 floor {r['floor_i420_s']:.1f} s: "
        f"render+encode/that {r['render_encode_vs_floor_i420']:.2f}x\n"
        f"      CPU s per s of video: {cpu}\n"
        f"      stages (s): {stages}\n"
        f"      peak RSS {r['peak_rss_mb']:.0f} MB (+ ffmpeg {r['ffmpeg_peak_rss_mb']:.0f} MB); "
        f"before frames max {r['rss_before_streaming_max_mb']:.0f} MB; "
        f"while streaming frames {first_mb:.0f} -> {last_mb:.0f} MB (max {max_mb:.0f})\n"
        f"      load avg before {r['load_avg_before'][0]:.2f}, after {r['load_avg_after'][0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=float, nargs="+", default=list(LENGTHS_S),
                        help="target video lengths in seconds")
    parser.add_argument("--aspect", default="9:16")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--preset", default="default", help="render preset (x264 settings)")
    parser.add_argument("--out", default=str(RESULTS_PATH), help="results file (.json)")
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)   # child mode: one length
    args = parser.parse_args()

    if args.one is not None:
        print(json.dumps(measure(args.one, args.aspect, args.fps, args.preset)))
        return

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    runs = []
    print(f"cpus: {os.cpu_count()}, load avg: {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
          " (another job on the machine slows every number below)")
    for length_s in args.lengths:
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(length_s), "--aspect", args.aspect,
             "--fps", str(args.fps), "--preset", args.preset],
            capture_output=True, text=True,
        )
        if child.returncode != 0:
            print(f"{length_s:g} s: failed (exit {child.returncode}):\n{child.stderr[-2000:]}")
            continue
        run = json.loads(child.stdout.strip().splitlines()[-1])
        runs.append(run)
        print(format_row(run), flush=True)
    if len(runs) >= 2:
        print(f"peak RSS {runs[0]['target_s']:g} s -> {runs[-1]['target_s']:g} s: "
              f"{runs[0]['peak_rss_mb']:.0f} -> {runs[-1]['peak_rss_mb']:.0f} MB")
    results = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "runs": runs,
    }
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
