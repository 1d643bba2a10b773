"""Training the tiny config: the loss falls, resuming continues exactly, bad input is refused."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from perception.errors import ConfigError, MalformedFileError, MissingFileError, PluginError
from perception.model.build import build_model
from perception.train.checkpoint import load_checkpoint, model_from_checkpoint
from perception.train.train_log import read_train_log
from perception.train.trainer import train
from tests.train.tiny_run import tiny_config

NO_AUGMENT = ("data.augment.enabled=false",)


def test_loss_falls_on_a_fixed_batch(tmp_path: Path) -> None:
    config = tiny_config(
        tmp_path,
        *NO_AUGMENT,
        "data.num_images=4",
        "train.max_steps=30",
        "train.lr=0.005",
        "train.warmup_steps=3",
        "train.log_every=1",
    )
    result = train(config, tmp_path, progress=False)
    log = read_train_log(result.log)
    assert log["step"] == [float(s) for s in range(1, 31)]
    first, last = sum(log["loss"][:3]) / 3, sum(log["loss"][-3:]) / 3
    assert last < 0.7 * first, (first, last)
    for task in config.model.heads:
        assert log[f"loss/{task}"][-1] < log[f"loss/{task}"][0], task


def test_resume_continues_with_same_steps_and_optimizer_state(tmp_path: Path) -> None:
    overrides = (*NO_AUGMENT, "train.max_steps=6", "train.checkpoint_every=3")
    straight = train(
        tiny_config(tmp_path / "a", *overrides, "train.keep_checkpoints=true"),
        tmp_path / "a",
        progress=False,
    )
    middle = tmp_path / "a" / "checkpoints" / "step_000003.pt"
    assert load_checkpoint(middle).step == 3

    resumed = train(
        tiny_config(tmp_path / "b", *overrides), tmp_path / "b", resume=middle, progress=False
    )
    assert resumed.steps == 6
    a, b = load_checkpoint(straight.checkpoint), load_checkpoint(resumed.checkpoint)
    assert a.step == b.step == 6
    for key, value in a.model.items():
        assert torch.allclose(value.float(), b.model[key].float(), atol=1e-5), key
    state_a, state_b = a.optimizer["state"], b.optimizer["state"]
    assert state_a.keys() == state_b.keys()
    for index in state_a:
        assert float(state_a[index]["step"]) == float(state_b[index]["step"]) == 6.0
        assert torch.allclose(state_a[index]["exp_avg"], state_b[index]["exp_avg"], atol=1e-6)
    assert a.scheduler["last_epoch"] == b.scheduler["last_epoch"]
    # The resumed run appended to its own log from step 4 on.
    assert read_train_log(tmp_path / "b" / "train_log.csv")["step"] == [4.0, 6.0]


def test_checkpoint_round_trip_gives_the_same_predictions(tmp_path: Path) -> None:
    result = train(tiny_config(tmp_path, "train.max_steps=2"), tmp_path, progress=False)
    restored = model_from_checkpoint(load_checkpoint(result.checkpoint))
    images = torch.randint(0, 255, (2, 3, 96, 160), dtype=torch.uint8)
    with torch.no_grad():
        expected = result.model.eval()(images)
        got = restored(images)
    for task, outputs in expected.items():
        for key, value in outputs.items():
            assert torch.equal(value, got[task][key]), f"{task}.{key}"


def test_resume_refuses_a_different_head_set(tmp_path: Path) -> None:
    result = train(tiny_config(tmp_path / "a", "train.max_steps=1"), tmp_path / "a", progress=False)
    fewer = tiny_config(tmp_path / "b", "model.heads=[cars, depth]")
    with pytest.raises(
        ConfigError, match=r"trained with heads .*'traffic_lights'.* asks for \['cars', 'depth'\]"
    ):
        train(fewer, tmp_path / "b", resume=result.checkpoint, progress=False)


def test_corrupt_and_missing_checkpoints_are_named(tmp_path: Path) -> None:
    result = train(tiny_config(tmp_path, "train.max_steps=1"), tmp_path, progress=False)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(result.checkpoint.read_bytes()[:5000])
    with pytest.raises(MalformedFileError, match=r"truncated.pt"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(MalformedFileError, match=r"foreign.pt is not a perception checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(MissingFileError, match=r"nowhere.pt"):
        load_checkpoint(tmp_path / "nowhere.pt")


def test_files_that_are_not_torch_checkpoints_get_their_own_reason(tmp_path: Path) -> None:
    image = tmp_path / "frame.png"
    assert cv2.imwrite(str(image), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(MalformedFileError, match=r"frame\.png is not a torch checkpoint"):
        load_checkpoint(image)
    pickled_model = tmp_path / "yolo.pt"  # another tool's checkpoint: a pickled Python object
    torch.save({"model": argparse.Namespace(depth=3)}, pickled_model)
    with pytest.raises(MalformedFileError) as refused:
        load_checkpoint(pickled_model)
    assert str(refused.value) == (
        f"checkpoint {pickled_model} holds a pickled Python object (argparse.Namespace), which a "
        "weights-only load refuses: it is not a perception checkpoint"
    )


def test_unknown_head_and_bad_head_option_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"unknown head 'carz'.*did you mean 'cars'"):
        build_model(tiny_config(tmp_path, "model.heads=[carz, depth]"))
    with pytest.raises(ConfigError, match="depth"):
        build_model(tiny_config(tmp_path, "model.head_options={depth: {no_such_option: 1}}"))
    with pytest.raises(ConfigError, match=r"not in model.heads"):
        build_model(tiny_config(tmp_path, "model.heads=[cars]", "model.head_options={depth: {}}"))
