"""Named index groups of the mediapipe face mesh (478 points with iris refinement).

"Right" and "left" are the subject's: the subject's right eye (33, 133) is on the
image's left. Contours are ordered so they can be drawn as polylines: lip and lid
contours run from the image-left corner to the image-right corner.
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 478

# Eye outer corners: their distance is the face's scale unit (about 0.45 face widths).
RIGHT_EYE_OUTER = 33
LEFT_EYE_OUTER = 263
RIGHT_EYE_INNER = 133
LEFT_EYE_INNER = 362

NOSE_TIP = 1
NOSE_BRIDGE = 168    # between the eyes
FOREHEAD_TOP = 10    # top of the face oval
CHIN = 152           # bottom of the face oval
FACE_LEFT_EDGE = 234   # face oval extreme on the image left (subject's right cheek)
FACE_RIGHT_EDGE = 454  # face oval extreme on the image right
MOUTH_LEFT_CORNER = 61    # image left
MOUTH_RIGHT_CORNER = 291  # image right
INNER_MOUTH_LEFT_CORNER = 78
INNER_MOUTH_RIGHT_CORNER = 308

# Lips, each contour corner to corner (image left to image right).
UPPER_OUTER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_OUTER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
UPPER_INNER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
# Closed loops: upper contour forward, lower contour back.
OUTER_LIPS = UPPER_OUTER_LIP + LOWER_OUTER_LIP[-2:0:-1]
INNER_LIPS = UPPER_INNER_LIP + LOWER_INNER_LIP[-2:0:-1]

# Mouth-aperture pairs (upper inner lip, lower inner lip): centre and both sides.
MOUTH_APERTURE_PAIRS = ((13, 14), (82, 87), (312, 317))

# Eyelids, each from the image-left corner to the image-right corner.
RIGHT_EYE_UPPER_LID = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER_LID = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER_LID = (362, 398, 384, 385, 386, 387, 388, 466, 263)
LEFT_EYE_LOWER_LID = (362, 382, 381, 380, 374, 373, 390, 249, 263)
RIGHT_EYE = RIGHT_EYE_UPPER_LID + RIGHT_EYE_LOWER_LID[-2:0:-1]
LEFT_EYE = LEFT_EYE_UPPER_LID + LEFT_EYE_LOWER_LID[-2:0:-1]
# Lid midpoints (upper, lower): eye openness for blink measurements.
RIGHT_EYE_LID_PAIR = (159, 145)
LEFT_EYE_LID_PAIR = (386, 374)

# Irises (refine_landmarks=True): centre, then four contour points.
RIGHT_IRIS_CENTER = 468
RIGHT_IRIS = (469, 470, 471, 472)
LEFT_IRIS_CENTER = 473
LEFT_IRIS = (474, 475, 476, 477)

# Brows, lower edge, inner end last.
RIGHT_BROW = (46, 53, 52, 65, 55)
LEFT_BROW = (276, 283, 282, 295, 285)
RIGHT_BROW_UPPER = (70, 63, 105, 66, 107)
LEFT_BROW_UPPER = (300, 293, 334, 296, 336)

# Face outline, clockwise from the top of the forehead (closed loop).
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
    400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
    54, 103, 67, 109,
)
# Lower face outline, image-left cheek to image-right cheek through the chin:
# the part that moves when the jaw opens.
JAW = (
    234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365,
    397, 288, 361, 323, 454,
)
CHIN_POINTS = (176, 148, 152, 377, 400, 199, 175)

NOSE = (168, 6, 197, 195, 5, 4, 1, 2, 98, 327)


def eye_distance(landmarks: np.ndarray) -> float:
    """Distance between the outer eye corners (33-263) in the image plane."""
    p = np.asarray(landmarks, dtype=np.float64)[:, :2]
    return float(np.linalg.norm(p[LEFT_EYE_OUTER] - p[RIGHT_EYE_OUTER]))


def mouth_aperture(landmarks: np.ndarray) -> float:
    """Mean inner-lip gap of MOUTH_APERTURE_PAIRS over the 33-263 eye distance.

    Measured in the image plane (x, y), so it compares across photos and frames of
    any size; about 0 with closed lips, about 0.3-0.5 for a wide-open mouth.
    """
    p = np.asarray(landmarks, dtype=np.float64)[:, :2]
    gaps = [np.linalg.norm(p[lo] - p[up]) for up, lo in MOUTH_APERTURE_PAIRS]
    return float(np.mean(gaps) / max(eye_distance(landmarks), 1e-6))
