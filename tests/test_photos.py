"""Users' photos become the data set's images: the conversion checked on photo-like renderings."""


import numpy as np
import pytest
from PIL import Image

from data.idx import load_split
from data.images import to_fashion_mnist
from tests.helpers import SHARED_DATA, SILHOUETTES, as_photo, garment


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


@pytest.mark.parametrize("name", SILHOUETTES)
def test_a_photographed_garment_comes_back_as_the_data_sets_image(name):
    image = garment(name)
    for seed in range(4):  # backdrop, place, light, noise, blur and JPEG quality differ by seed
        seen = as_photo(image, seed)
        assert similarity(seen, image) > 0.85, f"{name}, seed {seed}"
        rows, cols = np.flatnonzero(seen.max(axis=1) > 30), np.flatnonzero(seen.max(axis=0) > 30)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 >= 26  # trimmed: the garment fills the frame
        assert seen.max() == 255 and np.median(seen[seen < 30]) < 5  # stretched, on black


def test_a_picture_already_in_the_data_sets_form_passes_unchanged():
    for name in SILHOUETTES:
        np.testing.assert_array_equal(to_fashion_mnist(Image.fromarray(garment(name))), garment(name))


def test_uneven_light_on_the_backdrop_is_not_taken_for_the_garment():
    image = np.zeros((300, 400), np.float32) + np.linspace(150, 230, 400)[None, :]  # lit from the right
    image[100:220, 180:240] = 30  # a dark garment, 120 tall and 60 wide
    seen = to_fashion_mnist(Image.fromarray(image.astype(np.uint8)))
    assert seen[:, 8:20].min() > 100 and seen[:, :6].max() == 0 and seen[:, 22:].max() == 0  # 28 tall, 14 wide


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real Fashion-MNIST not found at {SHARED_DATA}")
def test_photographed_test_images_come_back_close_to_the_stored_ones():
    images = load_split(SHARED_DATA, "test")[0][..., 0]
    scores = [similarity(as_photo(image, seed), image) for seed, image in enumerate(images[:100])]
    assert np.median(scores) > 0.9 and np.percentile(scores, 5) > 0.75
