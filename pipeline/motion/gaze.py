"""Gaze: mostly at the camera, with a small saccade away every few seconds and back."""

from __future__ import annotations

import numpy as np

from pipeline.easing import smoothstep

MEDIAN_INTERVAL_S = 3.5       # log-normal, between looks away
INTERVAL_SIGMA = 0.4
FIRST_LOOK_S = 1.0
LOOK_AWAY_S = (0.3, 1.2)      # how long the eyes stay off camera
SACCADE_S = 0.05              # a step, smoothed over ~50 ms
X_RANGE = (0.10, 0.35)        # fraction of the iris travel, either side
Y_RANGE = (0.03, 0.20)
LOOP_MARGIN_S = 0.1           # a loop ends with the eyes this long back on the camera


def saccades(times_s: np.ndarray, rng: np.random.Generator, duration_s: float,
             scale: float, loop: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gaze offsets at the given times; with `loop`, every look is back on camera by the end."""
    gaze_x = np.zeros(len(times_s))
    gaze_y = np.zeros(len(times_s))
    t = FIRST_LOOK_S + rng.uniform(0.0, MEDIAN_INTERVAL_S)
    while t < duration_s:
        away = rng.uniform(*LOOK_AWAY_S)
        if loop and t + 2 * SACCADE_S + away > duration_s - LOOP_MARGIN_S:
            break
        x = rng.choice([-1.0, 1.0]) * rng.uniform(*X_RANGE)
        y = rng.choice([-1.0, 1.0]) * rng.uniform(*Y_RANGE)
        shape = (smoothstep((times_s - t) / SACCADE_S)
                 * (1.0 - smoothstep((times_s - t - SACCADE_S - away) / SACCADE_S)))
        gaze_x += x * shape
        gaze_y += y * shape
        t += SACCADE_S * 2 + away + MEDIAN_INTERVAL_S * np.exp(INTERVAL_SIGMA * rng.standard_normal())
    return np.clip(scale * gaze_x, -1, 1), np.clip(scale * gaze_y, -1, 1)
