"""Peak extraction: local maxima only, in descending score order."""

from __future__ import annotations

import torch

from perception.model.peaks import gather_at, topk_peaks


def test_peaks_are_local_maxima_in_descending_order() -> None:
    heatmap = torch.zeros(1, 2, 4, 6)
    heatmap[0, 0, 1, 4] = 0.5
    heatmap[0, 0, 1, 1] = 0.5
    heatmap[0, 0, 1, 2] = 0.4  # beside a higher cell: not a peak
    heatmap[0, 1, 3, 2] = 0.9
    scores, classes, ys, xs = topk_peaks(heatmap, 3)
    assert scores.tolist() == [[0.8999999761581421, 0.5, 0.5]]
    assert classes.tolist() == [[1, 0, 0]]
    assert (ys[0, 0].item(), xs[0, 0].item()) == (3, 2)
    # The order of exactly equal peaks is not specified (torch.topk and ONNX TopK may differ).
    assert {(ys[0, i].item(), xs[0, i].item()) for i in (1, 2)} == {(1, 1), (1, 4)}


def test_gather_reads_each_peak_cell() -> None:
    feature = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(1, 2, 3, 4)
    values = gather_at(feature, torch.tensor([[2, 0]]), torch.tensor([[1, 3]]))
    assert values.shape == (1, 2, 2)
    assert values[0].tolist() == [[9.0, 21.0], [3.0, 15.0]]
