"""Image loaders: digits, Hubble cutouts, folders of files, and their errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from drama.datasets.images import (  # noqa: E402
    hubble_cutouts,
    load_digits_images,
    load_image_folder,
    tile_image,
)


def test_digits_are_8x8_images() -> None:
    X, y = load_digits_images()
    assert X.shape == (1797, 8, 8) and X.dtype == np.float64
    assert set(np.unique(y)) == set(range(10))


def test_tiling_corners_and_stride() -> None:
    image = np.arange(10 * 12 * 3, dtype=float).reshape(10, 12, 3)
    cutouts, corners = tile_image(image, size=4)
    assert cutouts.shape == (2 * 3, 4, 4, 3)
    r, c = corners[4]
    np.testing.assert_array_equal(cutouts[4], image[r:r + 4, c:c + 4])
    overlapping, _ = tile_image(image[..., 0], size=4, stride=2)
    assert overlapping.shape == (4 * 5, 4, 4)
    with pytest.raises(ValueError, match="larger than the image"):
        tile_image(image, size=11)


def test_hubble_cutouts() -> None:
    pytest.importorskip("skimage", reason="hubble_cutouts needs scikit-image")
    X, corners = hubble_cutouts(size=32, stride=64)
    assert X.ndim == 4 and X.shape[1:] == (32, 32, 3) and len(X) == len(corners)
    assert 0.0 <= X.min() and X.max() <= 1.0
    grey, _ = hubble_cutouts(size=32, stride=64, gray=True)
    assert grey.shape == X.shape[:3]


def test_folder_of_png_and_npy(tmp_path) -> None:
    rng = np.random.default_rng(0)
    for k in range(3):
        mpimg.imsave(tmp_path / f"img{k}.png", rng.random((6, 5, 3)))
    (tmp_path / "notes.txt").write_text("not an image")
    X, names = load_image_folder(tmp_path)
    assert X.shape == (3, 6, 5, 3)  # RGBA written by imsave; alpha dropped
    assert names == ["img0.png", "img1.png", "img2.png"]
    assert 0.0 <= X.min() and X.max() <= 1.0
    grey, _ = load_image_folder(tmp_path, gray=True)
    assert grey.shape == (3, 6, 5)


def test_empty_folder(tmp_path) -> None:
    with pytest.raises(ValueError, match="has no images"):
        load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_image_folder(tmp_path / "missing")


def test_mixed_sizes(tmp_path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((4, 4)))
    np.save(tmp_path / "b.npy", np.zeros((5, 4)))
    with pytest.raises(ValueError, match="2 different sizes"):
        load_image_folder(tmp_path)


def test_nan_pixels(tmp_path) -> None:
    bad = np.zeros((4, 4))
    bad[1, 1] = np.nan
    np.save(tmp_path / "a.npy", np.zeros((4, 4)))
    np.save(tmp_path / "b.npy", bad)
    with pytest.raises(ValueError, match="b.npy has NaN"):
        load_image_folder(tmp_path)


def test_complex_npy_images_are_refused(tmp_path) -> None:
    np.save(tmp_path / "a.npy", np.ones((4, 4), dtype=complex))
    with pytest.raises(ValueError, match="a.npy holds complex numbers"):
        load_image_folder(tmp_path)


def test_four_band_npy_keeps_every_band(tmp_path) -> None:
    for k in range(2):
        np.save(tmp_path / f"cut{k}.npy", np.full((8, 8, 4), float(k)))
    X, _ = load_image_folder(tmp_path)
    assert X.shape == (2, 8, 8, 4)


def test_size_hints_name_the_real_difference(tmp_path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((8, 8)))
    np.save(tmp_path / "b.npy", np.zeros((9, 9, 3)))
    with pytest.raises(ValueError, match="Resize or crop"):
        load_image_folder(tmp_path)
    np.save(tmp_path / "b.npy", np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="gray=True"):
        load_image_folder(tmp_path)
