"""Reading a photo file (or array) into an RGB uint8 array."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipeline.errors import PhotoError

BACKGROUND_RGB = (255, 255, 255)  # transparent areas become white, like most viewers show them
MAX_PIXELS = 120_000_000          # beyond this decoding alone would take gigabytes
FORMATS_HINT = "Use a JPEG or PNG photo"


def load_photo(path: str | Path) -> np.ndarray:
    """Read `path` as an H x W x 3 RGB uint8 array, upright (EXIF orientation applied).

    Transparency is composited on white, grayscale and 16-bit images become 8-bit RGB.
    Raises PhotoError when the file is missing, is not an image, or is corrupt.
    """
    path = Path(path)
    if not path.exists():
        raise PhotoError(f"Photo not found: {path}. Check the path and the file name.")
    if path.is_dir():
        raise PhotoError(f"{path} is a folder, not a photo. {FORMATS_HINT} file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise PhotoError(
                        f"{path} is {im.width}x{im.height} pixels, too large to process. "
                        "Resize it to at most 4000 px on the long side.")
                im.seek(0)  # first frame of animations
                im.load()
                im = ImageOps.exif_transpose(im)
                return to_rgb(im)
    except PhotoError:
        raise
    except UnidentifiedImageError:
        raise PhotoError(
            f"{path} is not an image this tool can read (unknown or unsupported format). "
            f"{FORMATS_HINT} (HEIC and RAW need converting first).") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(f"{path} is too large to process. "
                         "Resize it to at most 4000 px on the long side.") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise PhotoError(f"{path} is corrupt or truncated ({e}). "
                         f"Export or download the photo again. {FORMATS_HINT}.") from None


def to_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL image to RGB uint8, alpha composited on BACKGROUND_RGB."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        g = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(g[:, :, None], 3, axis=2)
    if im.mode == "P" or im.mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "La", "RGBa"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (*BACKGROUND_RGB, 255))
        im = Image.alpha_composite(bg, im)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def as_rgb_array(image: np.ndarray) -> np.ndarray:
    """Validate an in-memory image: gray (H x W), RGB or RGBA uint8 -> H x W x 3 RGB."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        if np.issubdtype(a.dtype, np.floating) and a.size and a.max() <= 1.0:
            a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
        else:
            a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or min(a.shape[:2]) < 1:
        raise PhotoError(f"Photo array has shape {a.shape}; expected H x W x 3 RGB uint8.")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.shape[2] == 4:
        return to_rgb(Image.fromarray(a, "RGBA"))
    return np.ascontiguousarray(a)
