"""Render every evaluation portrait and every evaluation recording, the way issue #2 checks them.

    python benchmarks/sweep_eval.py [--out out/sweep]

For each portrait: `avatar render --audio SPEECH --photo P --aspect 1:1 --no-captions --seed 0`
with one short recording; for each recording: the same with one portrait. Prints a table
(exit code, seconds, frames, mouth aperture spread measured with FaceMesh on the output,
frames where the face was lost) and saves a contact sheet of mouth crops per portrait.
Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO.parent / "shared" / "eval"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from contact_sheet import sheet  # noqa: E402

from pipeline.face.landmarks import mouth_aperture  # noqa: E402
from pipeline.video.probe import read_frames  # noqa: E402

SPEECH_FOR_PORTRAITS = "speechbrain_spk1_snt1.wav"
PORTRAIT_FOR_SPEECH = "facerec_obama.jpg"


def measure(video: Path) -> tuple[np.ndarray, int, list[np.ndarray]]:
    import mediapipe as mp

    values, lost, frames = [], 0, []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=True,
                                         max_num_faces=1) as mesh:
        for frame in read_frames(video):
            found = mesh.process(frame).multi_face_landmarks
            if not found:
                lost += 1
                continue
            h, w = frame.shape[:2]
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in found[0].landmark])
            values.append(mouth_aperture(pts))
            frames.append((frame, pts))
    # Mouth crops of the frames with the widest spread of apertures, for the contact sheet.
    crops = []
    if frames:
        order = np.argsort([mouth_aperture(p) for _, p in frames])
        for i in order[np.linspace(0, len(order) - 1, 8).round().astype(int)]:
            frame, pts = frames[i]
            eye_px = np.linalg.norm(pts[33, :2] - pts[263, :2])
            cx, cy = pts[13, :2]
            half = int(0.9 * eye_px)
            y0, x0 = max(0, int(cy - 1.4 * half)), max(0, int(cx - half))
            crops.append(frame[y0:int(cy + half), x0:int(cx + half)])
    return np.array(values), lost, crops


def run(audio: Path, photo: Path, out: Path) -> tuple[int, float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "render", "--audio", str(audio), "--photo", str(photo),
         "--out", str(out), "--aspect", "1:1", "--no-captions", "--seed", "0", "--quiet"],
        capture_output=True, text=True,
    )
    return result.returncode, time.perf_counter() - start, result.stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(REPO / "out" / "sweep"))
    args = parser.parse_args()
    if not EVAL.exists():
        sys.exit(f"no evaluation data at {EVAL}")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    jobs = [(EVAL / "speech" / SPEECH_FOR_PORTRAITS, p) for p in sorted((EVAL / "portraits").iterdir())]
    jobs += [(a, EVAL / "portraits" / PORTRAIT_FOR_SPEECH)
             for a in sorted((EVAL / "speech").iterdir()) if a.suffix in {".wav", ".flac"}]
    print(f"{'audio':<28} {'photo':<36} {'exit':>4} {'sec':>6} {'frames':>6} "
          f"{'ap.min':>6} {'ap.p50':>6} {'ap.max':>6} {'lost':>4}")
    for audio, photo in jobs:
        video = out_dir / f"{audio.stem}__{photo.stem}.mp4"
        code, seconds, err = run(audio, photo, video)
        if code != 0:
            print(f"{audio.name:<28} {photo.name:<36} {code:>4} {seconds:6.1f}  {err.splitlines()[-1]}")
            continue
        ap, lost, crops = measure(video)
        print(f"{audio.name:<28} {photo.name:<36} {code:>4} {seconds:6.1f} {len(ap) + lost:>6} "
              f"{ap.min():6.3f} {np.median(ap):6.3f} {ap.max():6.3f} {lost:>4}", flush=True)
        if crops:
            size = min(c.shape[0] for c in crops), min(c.shape[1] for c in crops)
            crops = [c[: size[0], : size[1]] for c in crops]
            sheet(crops, 8, 160).save(out_dir / f"{audio.stem}__{photo.stem}.png")


if __name__ == "__main__":
    main()
