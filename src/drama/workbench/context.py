"""The larger view around each image cutout, when the data come with one.

Convention: beside an image data file ``STEM.npy`` (or ``.npz``, ``.mat``) a file
``STEM.context.npy`` holds one larger image per object, centred on that object's cutout:
shape ``(n, H2, W2)`` or ``(n, H2, W2, C)`` with ``H2 >= H`` and ``W2 >= W`` (the cutout's
height and width). The object pane shows it beside the cutout and the prototype, with the
same stretch, and marks where the cutout lies in it. It is read with
``mmap_mode="r"`` (one object at a time, never the whole file into memory) and without
pickle; a context file that does not fit the data, or that is a link leading out of the
workspace, is refused with a message, not shown.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from drama.datasets.readers import format_suffix

__all__ = ["CONTEXT_SUFFIX", "MAX_SIDE", "context_path", "context_view", "load_context"]

CONTEXT_SUFFIX = ".context.npy"
MAX_SIDE = 256  # larger context images are averaged over blocks down to this many pixels


def context_path(data: Path) -> Path:
    """Where the context images of ``data`` are (``STEM.context.npy``)."""
    stem = data.name[: len(data.name) - len(format_suffix(data))]
    return data.with_name(stem + CONTEXT_SUFFIX)


def load_context(data: Path, cutouts: tuple[int, ...], root: Path) -> np.ndarray | None:
    """The context images of ``data`` (memory-mapped), or None without a context file;
    ``cutouts`` is the shape of the data (n, H, W[, C]); ``root`` is the (resolved)
    workspace, which the context file must not lead out of."""
    path = context_path(data)
    if not path.is_file():
        return None
    if not path.resolve().is_relative_to(root):
        raise ValueError(f"{path.name} leads outside the workspace (a link?); it is not read.")
    context = np.load(path, mmap_mode="r", allow_pickle=False)
    n, h, w = cutouts[:3]
    if (context.ndim != len(cutouts) or context.shape[0] != n or context.shape[1] < h
            or context.shape[2] < w or context.shape[3:] != tuple(cutouts[3:])):
        raise ValueError(f"{path.name} has shape {context.shape}; the context of {n} cutouts "
                         f"of {h} x {w} needs (n, H2, W2{', C' if len(cutouts) > 3 else ''}) "
                         f"with n = {n}, H2 >= {h} and W2 >= {w}.")
    return context


def context_view(context: np.ndarray, i: int, cutout: tuple[int, int]) -> dict:
    """Object ``i``'s context as a 2-D list (colour averaged, block-averaged to at most
    ``MAX_SIDE`` pixels a side) and the cutout's box in its pixels (x0, y0, x1, y1)."""
    image = np.asarray(context[i], dtype=np.float64)
    if image.ndim == 3:
        image = image.mean(axis=-1)
    step = max(1, math.ceil(max(image.shape) / MAX_SIDE))
    h, w = (image.shape[0] // step) * step, (image.shape[1] // step) * step
    image = image[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3))
    top = (context.shape[1] - cutout[0]) / 2 / step
    left = (context.shape[2] - cutout[1]) / 2 / step
    return {"image": image.tolist(), "step": step,
            "box": [left - 0.5, top - 0.5, left + cutout[1] / step - 0.5,
                    top + cutout[0] / step - 0.5]}
