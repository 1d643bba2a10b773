"""Drawing labels and the contact-sheet grid."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from perception.data.contact_sheet import write_contact_sheet
from perception.data.draw import depth_panel, draw_labels
from perception.data.sample import Sample


def test_draw_labels_changes_a_copy_inside_the_boxes(make_sample):
    sample = make_sample(0, num_objects=4)
    sample.image[:] = 0
    drawn = draw_labels(sample)
    assert np.all(sample.image == 0)
    changed = np.any(drawn != 0, axis=2)
    for x1, y1, x2, y2 in sample.boxes.round().astype(int):
        x2, y2 = min(x2, sample.width - 1), min(y2, sample.height - 1)
        assert changed[y1 : y2 + 1, [x1, x2]].any() or changed[[y1, y2], x1 : x2 + 1].any()
    unlabelled = Sample(image=sample.image)
    np.testing.assert_array_equal(draw_labels(unlabelled), sample.image)


def test_depth_panel_is_black_where_unknown(make_sample):
    depth = make_sample(0).depth
    panel = depth_panel(depth, *depth.shape)
    assert panel.shape == (*depth.shape, 3)
    assert np.all(panel[depth == 0] == 0)
    assert np.all(panel[depth > 0].max(axis=1) > 0)
    assert np.all(depth_panel(None, 20, 30)[15:] == 0)


def test_depth_panel_is_the_turbo_colour_map_of_nearness():
    """Depth 0..100 m against 80 m: nearness ``1 - depth / 80`` clipped to [0, 1] and scaled to
    0..255 picks the TURBO colour (warm near, cold far, and every depth past 80 m alike)."""
    depth = np.linspace(0.01, 100.0, 2000, dtype=np.float32).reshape(40, 50)
    levels = np.round(255 * (1.0 - np.clip(depth.astype(np.float64) / 80.0, 0.0, 1.0)))
    turbo_bgr = cv2.applyColorMap(levels.astype(np.uint8), cv2.COLORMAP_TURBO)
    np.testing.assert_array_equal(depth_panel(depth, 40, 50, 80.0), turbo_bgr[..., ::-1])
    red, _, blue = depth_panel(depth, 40, 50, 80.0)[[0, -1], [0, -1]].T.astype(int)
    assert red[0] > blue[0] and blue[1] > red[1], "near is warm, far is cold"


@pytest.mark.parametrize(
    ("count", "columns", "grid"), [(6, 4, (2, 4)), (3, 4, (1, 3)), (5, 1, (5, 1))]
)
def test_contact_sheet_grid_size(tmp_path, make_sample, count, columns, grid):
    samples = [make_sample(seed, height=96, width=128) for seed in range(count)]
    path = write_contact_sheet(samples, tmp_path / "sheet.png", columns=columns, tile_width=100)
    sheet = cv2.imread(str(path))
    rows, cols = grid
    tile_height = round(100 * 96 / 128)
    assert sheet.shape == (rows * 2 * tile_height, cols * 100, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.png"]


def test_contact_sheet_refuses_nothing(tmp_path):
    with pytest.raises(ValueError, match="no samples"):
        write_contact_sheet([], tmp_path / "sheet.png")
