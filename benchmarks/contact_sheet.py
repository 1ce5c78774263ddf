"""Save a contact sheet (a grid of frames) of a rendered video as PNG, to look at.

    python benchmarks/contact_sheet.py out/demo.mp4 out/demo_sheet.png --frames 12 --crop face
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.video.probe import probe, read_frames  # noqa: E402

FACE_MARGIN = 0.25   # --crop face: this share of the face's size around it (chin, hair, a little neck)


def sheet(frames: list[np.ndarray], columns: int, tile_w_px: int) -> Image.Image:
    h, w = frames[0].shape[:2]
    tile_h_px = int(round(tile_w_px * h / w))
    rows = (len(frames) + columns - 1) // columns
    canvas = Image.new("RGB", (columns * tile_w_px, rows * tile_h_px), "black")
    for i, frame in enumerate(frames):
        tile = Image.fromarray(frame).resize((tile_w_px, tile_h_px), Image.LANCZOS)
        canvas.paste(tile, ((i % columns) * tile_w_px, (i // columns) * tile_h_px))
    return canvas


def face_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    """A square around the face found in `frame`, FACE_MARGIN to spare on each side (frame px)."""
    from bench_photoreal import crop_box

    from pipeline.face.detect import find_faces

    faces, _ = find_faces(frame)
    if not faces:
        raise SystemExit("--crop face: no face in the first frame; give x0,y0,x1,y1 instead")
    return crop_box(faces[0].landmarks_px, frame.shape, FACE_MARGIN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("video")
    parser.add_argument("png")
    parser.add_argument("--frames", type=int, default=12, help="how many frames, evenly spaced")
    parser.add_argument("--start", type=int, default=0, help="first frame; with --step, consecutive")
    parser.add_argument("--step", type=int, default=0, help="take every Nth frame from --start")
    parser.add_argument("--crop", default="full",
                        help="full, face (around the face in the first frame), or x0,y0,x1,y1 in frame px")
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--tile", type=int, default=360, help="tile width in px")
    args = parser.parse_args()

    n_total = probe(args.video).n_frames
    if args.step:
        wanted = set(range(args.start, n_total, args.step)[: args.frames])
    else:
        wanted = set(np.linspace(0, n_total - 1, args.frames).round().astype(int).tolist())
    frames = [f for i, f in enumerate(read_frames(args.video)) if i in wanted]
    if args.crop == "face":
        x0, y0, x1, y1 = face_box(frames[0])
        frames = [f[y0:y1, x0:x1] for f in frames]
    elif args.crop != "full":
        x0, y0, x1, y1 = (int(v) for v in args.crop.split(","))
        frames = [f[y0:y1, x0:x1] for f in frames]
    sheet(frames, args.columns, args.tile).save(args.png)
    print(f"wrote {args.png}: {len(frames)} of {n_total} frames")


if __name__ == "__main__":
    main()
