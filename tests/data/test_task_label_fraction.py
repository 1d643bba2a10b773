"""``data.label_fraction``: a task keeps its labels on only a fraction of the training images."""

from __future__ import annotations

from pathlib import Path

import pytest

from perception.data.letterbox import letterbox
from perception.errors import ConfigError
from perception.model.build import build_model
from perception.model.task_targets import TargetEncoder
from perception.train.components import build_dataset
from tests.train.tiny_run import tiny_config


def test_only_the_named_task_loses_labels_on_the_rest(tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path, "data.num_images=8", "model.heads=[cars, stop_signs]",
        "data.label_fraction={stop_signs: 0.25}",
    )  # fmt: skip
    model = build_model(config)
    dataset = build_dataset(config, "train")
    samples = [letterbox(dataset[i], 96, 160) for i in range(8)]
    encoded = TargetEncoder(model.heads)(samples)
    assert int(encoded.labelled["stop_signs"].sum()) == 2
    assert bool(encoded.labelled["cars"].all())
    again = build_dataset(config, "train")
    assert [again[i].meta.get("unlabelled_tasks") for i in range(8)] == [
        s.meta.get("unlabelled_tasks") for s in samples
    ]
    # The validation split is never thinned.
    assert not any("unlabelled_tasks" in build_dataset(config, "val")[i].meta for i in range(4))


def test_label_fraction_for_an_absent_head_is_refused(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, "model.heads=[cars]", "data.label_fraction={stop_sign: 0.1}")
    with pytest.raises(ConfigError, match="stop_sign"):
        build_dataset(config, "train")
