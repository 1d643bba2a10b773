"""The JSON-lines record helpers: the median of a depth map."""

from __future__ import annotations

import numpy as np
import pytest

from perception.video.prediction_json import median


@pytest.mark.parametrize("shape", [(1,), (2,), (3,), (4, 5), (7, 9), (180, 320)])
def test_median_equals_numpys_for_odd_and_even_sizes(shape: tuple[int, ...]) -> None:
    values = np.random.default_rng(sum(shape)).gamma(2.0, 10.0, shape).astype(np.float32)
    assert median(values) == float(np.median(values))


def test_median_of_repeated_values_and_its_input_left_alone() -> None:
    values = np.array([[5.0, 1.0], [5.0, 3.0]], dtype=np.float32)
    original = values.copy()
    assert median(values) == 4.0
    np.testing.assert_array_equal(values, original)
