"""Images for the 2-D convolutional reducers: digits, Hubble Deep Field cutouts, folders.

Every loader returns float64 arrays shaped ``(n, H, W)`` (grey) or ``(n, H, W, C)``
(colour, channels last), the layout ``cae2d``/``cvae2d`` expect.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "hubble_cutouts", "load_digits_images", "load_image_folder",
           "tile_image"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".npy")
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 weights for grey conversion


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 handwritten digits as ``(1797, 8, 8)`` images (values 0-16) and
    their digit labels -- a small, bundled set for new-class experiments (no download)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images.astype(np.float64), digits.target.astype(np.int64)


def tile_image(image: Any, size: int = 16, stride: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``image`` (H, W) or (H, W, C) into ``size`` x ``size`` cutouts every ``stride``
    pixels (default ``size``: no overlap); edge strips narrower than a cutout are dropped.

    Returns the cutouts ``(n, size, size[, C])`` and their top-left corners ``(n, 2)``
    as (row, column).
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3):
        raise ValueError(f"image must be shaped (H, W) or (H, W, C); got {img.shape}.")
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer; got {size!r}.")
    step = size if stride is None else stride
    if not isinstance(step, (int, np.integer)) or step < 1:
        raise ValueError(f"stride must be a positive integer; got {stride!r}.")
    height, width = img.shape[:2]
    if size > min(height, width):
        raise ValueError(f"size={size} is larger than the image ({height} x {width}).")
    rows = np.arange(0, height - size + 1, step)
    cols = np.arange(0, width - size + 1, step)
    corners = np.array([(r, c) for r in rows for c in cols], dtype=np.int64)
    cutouts = np.stack([img[r:r + size, c:c + size] for r, c in corners])
    return cutouts.astype(np.float64), corners


def hubble_cutouts(size: int = 16, stride: int | None = None, *, gray: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The Hubble Deep Field image bundled with scikit-image, cut into ``size`` x ``size``
    cutouts scaled to [0, 1]: a real, unlabelled sky image on which to look for the odd
    cutouts (bright stars, large galaxies, image edges).

    Returns ``(cutouts (n, size, size, 3) or (n, size, size) when gray, corners (n, 2))``.
    Needs scikit-image (``pip install scikit-image``).
    """
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError(
            "hubble_cutouts needs scikit-image for the Hubble Deep Field image: "
            "pip install scikit-image"
        ) from exc
    image = data.hubble_deep_field().astype(np.float64) / 255.0
    if gray:
        image = image[..., :3] @ _LUMA
    return tile_image(image, size, stride)


def _read_one(path: Path) -> np.ndarray:
    if path.suffix.lower() == ".npy":
        arr = np.load(path, allow_pickle=False)
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise ValueError(f"{path.name} holds {arr.dtype} values, not numbers.")
        if np.iscomplexobj(arr):
            raise ValueError(f"{path.name} holds complex numbers; keep the part you need "
                             "(np.abs, .real) and save that.")
        return arr.astype(np.float64)
    import matplotlib.image as mpimg

    try:
        arr = mpimg.imread(path)
    except Exception as exc:  # corrupt or unsupported file: say which
        raise ValueError(f"Could not read the image {path.name}: {exc}") from None
    arr = np.asarray(arr)
    if np.issubdtype(arr.dtype, np.integer):  # JPEG comes as uint8, 16-bit PNG as uint16
        arr = arr / float(np.iinfo(arr.dtype).max)
    return arr.astype(np.float64)


def load_image_folder(
    path: str | os.PathLike[str],
    *,
    gray: bool = False,
    keep_alpha: bool = False,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
) -> tuple[np.ndarray, list[str]]:
    """All images in a folder (not its sub-folders), sorted by file name, as one array.

    PNG and JPEG files are scaled to [0, 1]; ``.npy`` files (2-D or 3-D arrays, e.g. FITS
    cutouts saved with numpy) are taken as they are, every band kept. The alpha channel of
    RGBA PNG images is dropped unless ``keep_alpha``; ``gray=True`` turns colour images into
    luminance so folders that mix grey and colour files load together.

    Returns ``(X (n, H, W) or (n, H, W, C), file names)``. Raises a ValueError for a folder
    without images, images of different sizes, or NaN/infinite pixels.
    """
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"No folder {folder}.")
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not a folder of images.")
    wanted = tuple(s.lower() for s in suffixes)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in wanted)
    if not files:
        raise ValueError(
            f"The folder {folder} has no images (looked for {', '.join(wanted)} files)."
        )
    images = []
    for file in files:
        arr = _read_one(file)
        picture = file.suffix.lower() != ".npy"  # a .npy's 4th band is data, not alpha
        if picture and arr.ndim == 3 and arr.shape[-1] == 4 and not keep_alpha:
            arr = arr[..., :3]
        if gray and arr.ndim == 3:
            arr = arr[..., :3] @ _LUMA if arr.shape[-1] >= 3 else arr[..., 0]
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3):
            raise ValueError(
                f"{file.name} is not an image: shape {arr.shape} (expected (H, W) or (H, W, C))."
            )
        if not np.isfinite(arr).all():
            raise ValueError(
                f"{file.name} has NaN or infinite pixels; fix or remove it before loading the "
                "folder."
            )
        images.append(arr)
    shapes: dict[tuple[int, ...], str] = {}
    for file, arr in zip(files, images, strict=True):
        shapes.setdefault(arr.shape, file.name)
    if len(shapes) > 1:
        examples = "; ".join(f"{shape} e.g. {name}" for shape, name in list(shapes.items())[:4])
        sides = {s[:2] for s in shapes}
        if len(sides) > 1:
            hint = " Resize or crop them to one size first."
        elif len({len(s) for s in shapes}) > 1:
            hint = " Grey and colour images are mixed: pass gray=True."
        else:
            hint = " They differ in their number of channels (keep_alpha=True keeps RGBA's 4th)."
        raise ValueError(
            f"The images in {folder} have {len(shapes)} different sizes: {examples}.{hint}"
        )
    return np.stack(images), [f.name for f in files]
