"""The photo gate: is this face fit to animate? Every issue says what is wrong and what to do.

Thresholds, and why:
- Face size is the face-oval width (landmarks 234-454). The mesh model sees a face
  at about 128 px (its 192 px input holds the face with margins), so smaller faces
  are upsampled before landmarking and their lips span only a few pixels: warn below
  128 px. Below 72 px the mouth is ~25 px wide and landmarks jitter by whole pixels
  from frame to frame of the video: error. Photos under 192 px on the short side
  (thumbnails, 112 px aligned crops) are an error whatever the face: the 1080 px
  video would enlarge them over 5x.
- Pose: the renderer warps the face in 2D; beyond 25 deg of yaw/pitch the far
  side is foreshortened and warps smear it (warning); beyond 45 deg yaw half the
  mouth is hidden (error). Roll only warns: it is a rotation of the whole image.
- Exposure and blur only warn unless the face is nearly black or blown out,
  in which case no lips can be seen to animate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.face import quality as q
from pipeline.face.detect import Face
from pipeline.types import PhotoIssue, PhotoReport

MIN_PHOTO_SIDE_PX = 192
MIN_FACE_PX = 72
GOOD_FACE_PX = 128
BORDER_MARGIN = 0.01        # of the face width: closer to the photo's edge is "cut off"
TIGHT_MARGIN = 0.10         # less room than this below the chin or at the sides: warn
WARN_ANGLE_DEG = 25.0
MAX_YAW_DEG = 45.0
MAX_PITCH_DEG = 40.0
DARK_ERROR, DARK_WARN = 35.0, 70.0          # mean face luma, 0..255
BRIGHT_WARN, BRIGHT_ERROR = 200.0, 235.0
CLIPPED_WARN, CLIPPED_ERROR = 0.2, 0.6      # share of the face blown to white
BLURRY_WARN = 40.0                          # Laplacian variance, face at 256 px
# Two or more faces of similar size: we cannot know who should speak, so ask (../shared/eval/bad
# holds a two-people photo that must be refused); one clearly larger face is used with a warning.
GROUP_FACES = 2
DOMINANT_RATIO = 1.5        # a face this much wider than the next is clearly the subject


def _issue(code: str, message: str, severity: str = "error") -> PhotoIssue:
    return PhotoIssue(code=code, message=message, severity=severity)


def no_face_report(name: str, detections: int, image_shape: tuple[int, ...]) -> PhotoReport:
    tips = (f"Use a photo where one person faces the camera, face at least {GOOD_FACE_PX} px "
            "wide, well lit.")
    if detections:
        issue = _issue("not_a_face",
                       f"Something face-like was found in {name} but it is not a human face "
                       f"the tool can animate. {tips}")
    else:
        issue = _issue("no_face", f"No face found in {name}. {tips}")
    issues = [issue]
    if min(image_shape[:2]) < MIN_PHOTO_SIDE_PX:
        issues.append(_small_photo_issue(name, image_shape))
    return PhotoReport(faces_found=0, face_index=0, face_px=0.0, issues=issues)


def _small_photo_issue(name: str, shape: tuple[int, ...]) -> PhotoIssue:
    return _issue("too_small",
                  f"{name} is only {shape[1]}x{shape[0]} px, far below the 1080x1920 video. "
                  f"Use the original photo, at least {MIN_PHOTO_SIDE_PX} px on its short side "
                  "(512 px or more looks best), not a thumbnail.")


def gate(name: str, image: np.ndarray, faces: list[Face], face_index: int | None) -> PhotoReport:
    """The report for `faces` (largest first) found in image; faces must not be empty."""
    n = len(faces)
    index = 0 if face_index is None else face_index
    issues: list[PhotoIssue] = []
    if not 0 <= index < n:
        hint = "--face 0" if n == 1 else f"--face 0 to --face {n - 1} (0 = largest)"
        issues.append(_issue("face_index",
                             f"--face {index} asked for, but {name} has {n} face"
                             f"{'s' if n > 1 else ''}. Use {hint}."))
        return PhotoReport(faces_found=n, face_index=index, face_px=0.0, issues=issues)

    face = faces[index]
    lms = face.landmarks_px
    h, w = image.shape[:2]
    face_px = face.width_px
    yaw, pitch, roll = q.head_pose_deg(lms)
    report = PhotoReport(
        faces_found=n, face_index=index, face_px=face_px, yaw_deg=yaw, pitch_deg=pitch,
        roll_deg=roll, brightness=q.brightness(image, lms), sharpness=q.sharpness(image, lms),
        issues=issues)

    if n > 1:
        widths = ", ".join(f"{i}: {f.width_px:.0f} px" for i, f in enumerate(faces[:6]))
        other = 1 if index == 0 else 0
        group = (face_index is None and n >= GROUP_FACES
                 and faces[0].width_px < DOMINANT_RATIO * faces[1].width_px)
        if group:
            issues.append(_issue(
                "group_photo",
                f"{name} shows {n} faces of similar size ({widths}), so it is not "
                f"clear who should speak. Crop the photo to one person, or pick a face with "
                f"--face N (0 = largest).", "error"))
        else:
            used = "the largest" if face_index is None else f"face {index} as asked"
            issues.append(_issue(
                "several_faces",
                f"{name} has {n} faces ({widths}); using {used}. To animate another, "
                f"pass --face N (e.g. --face {other}).", "warning"))

    if min(h, w) < MIN_PHOTO_SIDE_PX:
        issues.append(_small_photo_issue(name, image.shape))
    if face_px < MIN_FACE_PX:
        issues.append(_issue(
            "too_small",
            f"The face in {name} is only {int(face_px)} px wide; at least {MIN_FACE_PX} px is "
            f"needed ({GOOD_FACE_PX}+ looks good). Use a higher-resolution photo or one taken "
            "closer to the face."))
    elif face_px < GOOD_FACE_PX:
        issues.append(_issue(
            "small_face",
            f"The face in {name} is {face_px:.0f} px wide; lips will look soft when enlarged "
            f"for video. A photo with the face {GOOD_FACE_PX}+ px wide looks sharper.",
            "warning"))

    issues.extend(_border_issues(name, lms, face_px, w, h))
    issues.extend(_pose_issues(yaw, pitch, roll))
    issues.extend(_exposure_issues(image, lms, report.brightness))
    if report.sharpness < BLURRY_WARN:
        issues.append(_issue(
            "blurry",
            f"The face looks blurry (sharpness {report.sharpness:.0f}, want {BLURRY_WARN:.0f}+). "
            "Use a sharper photo: steady camera, focus on the face.", "warning"))
    return report


def _border_issues(name: str, lms: np.ndarray, face_px: float, w: int, h: int
                   ) -> list[PhotoIssue]:
    x0, y0 = lms[:, 0].min(), lms[:, 1].min()
    x1, y1 = lms[:, 0].max(), lms[:, 1].max()
    room = {"left": x0, "top": y0, "right": w - 1 - x1, "bottom": h - 1 - y1}
    tol = max(1.0, BORDER_MARGIN * face_px)
    cut = [side for side, r in room.items() if r < tol]
    if cut:
        return [_issue(
            "cut_off",
            f"The face in {name} is cut off by the photo's {' and '.join(cut)} edge. "
            "Use a photo with the whole face (chin, cheeks, forehead) inside the frame "
            "and some room around it.")]
    tight = [side for side in ("left", "right", "bottom") if room[side] < TIGHT_MARGIN * face_px]
    if tight:
        return [_issue(
            "tight_crop",
            f"The face in {name} nearly touches the photo's {' and '.join(tight)} edge; "
            "the jaw and head move while talking and may leave the frame. "
            "A photo with more room around the face works better.", "warning")]
    return []


def _pose_issues(yaw: float, pitch: float, roll: float) -> list[PhotoIssue]:
    issues = []
    facing = "Use a photo where the person looks straight into the camera."
    if abs(yaw) > MAX_YAW_DEG:
        issues.append(_issue(
            "turned_away", f"The face is turned {abs(yaw):.0f} deg to the side (at most "
            f"{MAX_YAW_DEG:.0f} deg works; under {WARN_ANGLE_DEG:.0f} is best). {facing}"))
    elif abs(yaw) > WARN_ANGLE_DEG:
        issues.append(_issue(
            "turned", f"The face is turned {abs(yaw):.0f} deg to the side; the far cheek may "
            f"smear when it talks. {facing}", "warning"))
    if abs(pitch) > MAX_PITCH_DEG:
        issues.append(_issue(
            "tilted_away", f"The face is tilted {abs(pitch):.0f} deg "
            f"{'down' if pitch > 0 else 'up'} (at most {MAX_PITCH_DEG:.0f} deg works). {facing}"))
    elif abs(pitch) > WARN_ANGLE_DEG:
        issues.append(_issue(
            "tilted", f"The face is tilted {abs(pitch):.0f} deg {'down' if pitch > 0 else 'up'}; "
            f"lips may look distorted. {facing}", "warning"))
    if abs(roll) > WARN_ANGLE_DEG:
        issues.append(_issue(
            "rotated", f"The head is tilted {abs(roll):.0f} deg sideways. Straighten the photo "
            "(rotate it) so the eyes are level.", "warning"))
    return issues


def _exposure_issues(image: np.ndarray, lms: np.ndarray, luma: float) -> list[PhotoIssue]:
    clipped = q.clipped_fraction(image, lms)
    light = "Use a photo with soft, even light on the face."
    if luma < DARK_ERROR:
        return [_issue("too_dark", f"The face is too dark to see (brightness {luma:.0f}/255). "
                       f"{light}")]
    if luma < DARK_WARN:
        return [_issue("dark", f"The face is dark (brightness {luma:.0f}/255); details may be "
                       f"lost. {light}", "warning")]
    if luma > BRIGHT_ERROR or clipped > CLIPPED_ERROR:
        return [_issue("overexposed", f"The face is overexposed ({clipped:.0%} blown to white). "
                       f"{light}")]
    if luma > BRIGHT_WARN or clipped > CLIPPED_WARN:
        return [_issue("bright", f"The face is very bright ({clipped:.0%} blown to white); "
                       f"details may be lost. {light}", "warning")]
    return []


def photo_name(photo: str | Path | np.ndarray) -> str:
    return "the photo" if isinstance(photo, np.ndarray) else Path(photo).name
