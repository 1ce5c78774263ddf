"""face: one photo in, the face's 478 landmarks and a quality report out (face.analyze)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.errors import PhotoError
from pipeline.face import landmarks
from pipeline.face.detect import Face, find_faces
from pipeline.face.gate import gate, no_face_report, photo_name
from pipeline.face.landmarks import mouth_aperture
from pipeline.face.photo import as_rgb_array, load_photo
from pipeline.types import PhotoReport, Portrait

__all__ = ["analyze", "check", "format_report", "landmarks", "load_photo", "mouth_aperture"]


def analyze(photo: str | Path | np.ndarray, face_index: int | None = None) -> Portrait:
    """Find the face to animate in `photo` (largest, or `face_index`) and gate its quality.

    Raises PhotoError (with `.report`) when the photo is unreadable or the gate finds
    an error; warnings are kept in `portrait.report.issues`.
    """
    image, report, face = _run(photo, face_index)
    if not report.ok:
        raise PhotoError(_error_message(photo, report), report)
    lms = face.landmarks_px
    h, w = image.shape[:2]
    box = (int(max(0, np.floor(lms[:, 0].min()))), int(max(0, np.floor(lms[:, 1].min()))),
           int(min(w, np.ceil(lms[:, 0].max()))), int(min(h, np.ceil(lms[:, 1].max()))))
    return Portrait(image=image, landmarks_px=lms.astype(np.float32), face_box_px=box,
                    report=report)


def check(photo: str | Path | np.ndarray, face_index: int | None = None) -> PhotoReport:
    """The photo gate's report. Raises PhotoError only when the photo cannot be read."""
    return _run(photo, face_index)[1]


def _run(photo: str | Path | np.ndarray, face_index: int | None
         ) -> tuple[np.ndarray, PhotoReport, Face | None]:
    image = as_rgb_array(photo) if isinstance(photo, np.ndarray) else load_photo(photo)
    name = photo_name(photo)
    faces, detections = find_faces(image)
    if not faces:
        return image, no_face_report(name, len(detections), image.shape), None
    report = gate(name, image, faces, face_index)
    face = faces[report.face_index] if 0 <= report.face_index < len(faces) else None
    return image, report, face


def _error_message(photo: str | Path | np.ndarray, report: PhotoReport) -> str:
    name = photo_name(photo)
    lines = [f"{name} cannot be animated:"] + [f"  - {i.message}" for i in report.errors]
    return "\n".join(lines)


def format_report(report: PhotoReport) -> str:
    """Human-readable lines for `avatar check PHOTO`."""
    lines = [f"faces found: {report.faces_found}"]
    if report.faces_found and report.face_px > 0:
        lines += [
            f"using face:  {report.face_index} (0 = largest)",
            f"face size:   {report.face_px:.0f} px wide",
            f"pose:        yaw {report.yaw_deg:+.0f} deg, pitch {report.pitch_deg:+.0f} deg, "
            f"roll {report.roll_deg:+.0f} deg",
            f"brightness:  {report.brightness:.0f} / 255",
            f"sharpness:   {report.sharpness:.0f}",
        ]
    for issue in report.errors + report.warnings:
        lines.append(f"{issue.severity.upper()} [{issue.code}]: {issue.message}")
    lines.append("OK: the photo can be animated." if report.ok
                 else "NOT OK: fix the errors above and try again.")
    return "\n".join(lines)
