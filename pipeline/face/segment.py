"""Which pixels of the photo are the person: mediapipe's selfie segmentation (the general
256 px model inside the wheel). The frame fill uses it to carry the backdrop, not the
hair the photo's top edge cuts off, above the photo."""

from __future__ import annotations

import functools

import numpy as np

from pipeline.face.detect import quiet_native_logs


@functools.lru_cache(maxsize=1)
def _segmenter():
    with quiet_native_logs():
        import mediapipe as mp

        return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)


def person_mask(image: np.ndarray) -> np.ndarray:
    """Per pixel of an RGB uint8 image, how surely it shows the person: float32 [h, w] in 0..1."""
    with quiet_native_logs():
        mask = _segmenter().process(np.ascontiguousarray(image)).segmentation_mask
    return np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)
