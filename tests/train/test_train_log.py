"""The training CSV: a row with new columns widens the header without losing earlier rows."""

from __future__ import annotations

import math
from pathlib import Path

from perception.train.train_log import TrainLog, read_train_log


def test_new_columns_are_added_and_a_resumed_log_appends(tmp_path: Path) -> None:
    log = TrainLog(tmp_path, tensorboard=False)
    log.write({"step": 1.0, "loss": 2.0})
    log.write({"step": 2.0, "loss": 1.5, "ratio/cars": 0.75})
    log.close()
    resumed = TrainLog(tmp_path, append=True, tensorboard=False)
    resumed.write({"step": 3.0, "loss": 1.0, "ratio/cars": math.nan, "conflict_fraction": 0.5})
    resumed.close()
    table = read_train_log(tmp_path / "train_log.csv")
    assert list(table) == ["step", "loss", "ratio/cars", "conflict_fraction"]
    assert table["step"] == [1.0, 2.0, 3.0] and table["loss"] == [2.0, 1.5, 1.0]
    assert math.isnan(table["ratio/cars"][0]) and table["ratio/cars"][1] == 0.75
    assert math.isnan(table["ratio/cars"][2])
    assert math.isnan(table["conflict_fraction"][1]) and table["conflict_fraction"][2] == 0.5
