"""Compute the PDQ hash of an image file, on this machine, keeping nothing.

For a victim-side helper (``tada hash FILE...``): the file is read locally,
decoded in memory, hashed with Meta's PDQ (the ``pdqhash`` bindings of the
reference C++), and only the hash and its quality come back. Nothing is
written, uploaded or logged; no metadata (EXIF) is read out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, UnidentifiedImageError

from tada.domain.pdq import from_bits
from tada.errors import InvalidInput

__all__ = ["ImageHash", "UnreadableImage", "hash_image", "hash_image_file", "hash_image_path"]


class UnreadableImage(InvalidInput, ValueError):
    """The file is not an image this helper can read; the message says why (never its content)."""


@dataclass(frozen=True)
class ImageHash:
    pdq: str  # 64 hex digits
    quality: int  # 0-100; PDQ suggests ignoring hashes of quality below 50 (flat, featureless images)


def hash_image(image: Image.Image) -> ImageHash:
    """PDQ of a decoded image (RGB pixels; transparency and palettes are flattened first)."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    bits, quality = pdqhash.compute(pixels)
    return ImageHash(pdq=from_bits([int(bit) for bit in bits]), quality=int(quality))


def hash_image_file(path: str | Path) -> str:
    """The PDQ hash of an image file, as 64 hex digits."""
    return hash_image_path(path).pdq


def hash_image_path(path: str | Path) -> ImageHash:
    """The PDQ hash and quality of an image file; UnreadableImage when it cannot be decoded."""
    try:
        with Image.open(path) as image:
            image.load()
            return hash_image(image)
    except FileNotFoundError:
        raise UnreadableImage("no such file") from None
    except IsADirectoryError:
        raise UnreadableImage("is a directory, not a file") from None
    except UnidentifiedImageError:
        raise UnreadableImage("not an image this helper can read (PNG, JPEG, GIF, WebP, BMP, TIFF...)") from None
    except Image.DecompressionBombError:
        raise UnreadableImage("too many pixels to be a photo (refused as a decompression bomb)") from None
    except OSError as error:
        raise UnreadableImage(f"cannot be read: {error.strerror or 'damaged or truncated image'}") from None
