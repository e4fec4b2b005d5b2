"""bench.tta: the test-time views it makes, and the accuracy of the mean of each set of them."""

import numpy as np

from evaluation.tta import VIEW_SETS, view, view_set_accuracies


def one_pixel(row: int, col: int, count: int = 1) -> np.ndarray:
    images = np.zeros((count, 28, 28), np.uint8)
    images[:, row, col] = 255
    return images


def test_a_view_moves_the_image_with_the_background_coming_in_then_mirrors_it():
    np.testing.assert_array_equal(view(one_pixel(10, 5), 1, 2, False), one_pixel(11, 7))
    np.testing.assert_array_equal(view(one_pixel(10, 5), -2, -1, True), one_pixel(8, 27 - 4))
    full = view(np.full((1, 28, 28), 255, np.uint8), 0, 2, False)
    assert full[0, :, :2].max() == 0 and full[0, :, 2:].min() == 255


def test_each_set_averages_the_probabilities_of_its_views():
    """A classifier right on a pixel in the left half (each unmirrored view), confidently wrong on the right."""
    seen = []

    def predict(images):
        seen.append(images)
        left = images[:, :, :14].max(axis=(1, 2)) > 0
        return np.where(left[:, None], [0.6, 0.4], [0.0, 1.0])

    accuracy = view_set_accuracies(predict, one_pixel(10, 5, count=3), np.zeros(3, int))
    assert accuracy == {"single view": 1.0, "flip (the presets)": 0.0, "flip, 1 px shifts": 0.0,
                        "flip, 2 px shifts": 0.0}
    assert len(seen) == len({v for views in VIEW_SETS.values() for v in views}) == 18  # each view once
