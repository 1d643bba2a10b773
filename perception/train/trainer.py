"""The training loop: batches -> per-task losses -> balancer -> clipped AdamW step.

Mixed precision (bfloat16 autocast) is used on CUDA when ``train.amp`` is set. Checkpoints
hold everything a resumed run needs to continue exactly where the interrupted one stopped:
weights, optimizer, schedule, balancer state and the position in the data order.
"""

from __future__ import annotations

import math
import shutil
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from perception.atomic import atomic_path
from perception.balancing.affinity import AffinityMatrix
from perception.config.loader import save_config
from perception.config.schema import RunConfig
from perception.data.cached_dataset import CachedDataset
from perception.data.loader import SeededSampler, make_loader
from perception.errors import PerceptionError
from perception.model.build import PerceptionModel, build_model
from perception.model.task_targets import TargetEncoder, TaskTargets
from perception.train.checkpoint import check_compatible, load_checkpoint, save_checkpoint
from perception.train.components import (
    build_balancer,
    build_dataset,
    build_optimizer,
    resolve_device,
)
from perception.train.probes import TrainingProbes
from perception.train.schedule import warmup_cosine
from perception.train.train_log import TrainLog


class TrainingDiverged(PerceptionError):
    """A task's loss became NaN or infinite."""


@dataclass
class TrainResult:
    """Where a finished run left its outputs."""

    out_dir: Path
    checkpoint: Path
    log: Path
    steps: int
    seconds: float
    model: PerceptionModel
    affinity: AffinityMatrix | None = None
    """The mean lookahead affinity when ``train.affinity_every`` was set."""


def train(
    config: RunConfig, out_dir: str | Path, resume: str | Path | None = None, progress: bool = True
) -> TrainResult:
    """Train the model ``config`` describes; write logs and checkpoints under ``out_dir``.

    ``resume`` is a checkpoint of an earlier run of the same model; training continues from its
    step with its optimizer, schedule and balancer state.
    """
    out = Path(out_dir)
    device = resolve_device(config.train.device)
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    balancer = build_balancer(config, model.head_names).to(device)
    checkpoint = load_checkpoint(resume) if resume is not None else None
    if checkpoint is not None:
        check_compatible(checkpoint, config)

    train_set = build_dataset(config, config.data.split)
    if config.data.cache:
        train_set = CachedDataset(train_set)
        train_set.fill()
    loader = make_loader(
        train_set,
        config.data,
        train=True,
        seed=config.seed,
        target_encoder=TargetEncoder(model.heads),
    )
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise PerceptionError(
            f"data.num_images ({len(train_set)}) is smaller than data.batch_size "
            f"({config.data.batch_size}): no full training batch"
        )
    total_steps = config.train.max_steps or config.train.epochs * steps_per_epoch
    optimizer = build_optimizer(model, balancer, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: warmup_cosine(
            step, config.train.warmup_steps, total_steps, config.train.min_lr_ratio
        ),
    )
    step = 0
    if checkpoint is not None:
        model.load_state_dict(checkpoint.model)
        if checkpoint.optimizer is not None:
            optimizer.load_state_dict(checkpoint.optimizer)
        if checkpoint.scheduler is not None:
            scheduler.load_state_dict(checkpoint.scheduler)
        if checkpoint.balancer is not None:
            balancer.load_state_dict(checkpoint.balancer)
        step = checkpoint.step
    epoch, done_in_epoch = divmod(step, steps_per_epoch)
    sampler = loader.sampler
    assert isinstance(sampler, SeededSampler)
    sampler.resume_at(epoch, done_in_epoch * config.data.batch_size)

    save_config(config, out / "config.yaml")
    log = TrainLog(out, append=checkpoint is not None)
    probes = TrainingProbes(config.train, model, out, step if checkpoint is not None else None)
    last = out / "checkpoints" / "last.pt"
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda" and config.train.amp
        else nullcontext()
    )
    shared = None
    if balancer.needs_task_gradients:
        shared = (
            model.last_shared_parameters()
            if balancer.gradient_scope == "last"
            else model.shared_parameters()
        )
    parameters = [p for p in (*model.parameters(), *balancer.parameters()) if p.requires_grad]
    sums: dict[str, float] = {}
    counted = 0
    started = time.perf_counter()
    bar = tqdm(total=total_steps, initial=step, desc="train", disable=not progress, leave=False)

    def write_checkpoint() -> None:
        path = save_checkpoint(
            last,
            config,
            model.head_names,
            model.state_dict(),
            step=step,
            epoch=step // steps_per_epoch,
            epoch_step=step % steps_per_epoch,
            optimizer_state=optimizer.state_dict(),
            scheduler_state=scheduler.state_dict(),
            balancer_state=balancer.state_dict(),
        )
        if config.train.keep_checkpoints and step < total_steps:
            with atomic_path(path.with_name(f"step_{step:06d}.pt")) as kept:
                shutil.copyfile(path, kept)

    model.train()
    try:
        while step < total_steps:
            for batch in loader:
                images = batch.images.to(device, non_blocking=True)
                if config.model.channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                targets = batch.targets.to(device)
                forward = partial(_task_losses, model, images, targets, autocast)
                losses = forward()
                loss_values = {name: float(loss.detach()) for name, loss in losses.items()}
                _check_finite(loss_values, step)
                probes.before_backward(step + 1, losses, forward, optimizer.param_groups[0]["lr"])
                optimizer.zero_grad(set_to_none=True)
                weights = balancer.backward(losses, shared)
                penalty = model.regularization_loss()  # soft sharing's L2 tie; 0 otherwise
                if penalty.requires_grad:
                    penalty.backward()
                if config.train.grad_clip > 0:
                    nn.utils.clip_grad_norm_(parameters, config.train.grad_clip)
                optimizer.step()
                scheduler.step()
                step += 1
                counted += 1
                for name, value in loss_values.items():
                    sums[f"loss/{name}"] = sums.get(f"loss/{name}", 0.0) + value
                for name, weight in weights.items():
                    sums[f"weight/{name}"] = sums.get(f"weight/{name}", 0.0) + float(weight)
                bar.update(1)
                if step % config.train.log_every == 0 or step == total_steps:
                    row = _log_row(sums, counted, step, steps_per_epoch, scheduler, started)
                    row.update(probes.log_columns())
                    log.write(row)
                    bar.set_postfix_str(_postfix(row))
                    sums, counted = {}, 0
                if step % config.train.checkpoint_every == 0 and step < total_steps:
                    write_checkpoint()
                if step >= total_steps:
                    break
        write_checkpoint()
        affinity = probes.finish()
    finally:
        bar.close()
        log.close()
    model.eval()
    return TrainResult(out, last, log.path, step, time.perf_counter() - started, model, affinity)


def _postfix(row: dict[str, float]) -> str:
    """``cars 1.23 depth 0.45 ...``: each task's mean loss since the last log row (and its
    weight when the balancer did not give every task 1)."""
    parts = []
    for key, value in row.items():
        if key.startswith("loss/"):
            task = key.split("/", 1)[1]
            weight = row.get(f"weight/{task}", 1.0)
            parts.append(f"{task} {value:.3f}" + ("" if weight == 1.0 else f"×{weight:.2f}"))
    return " ".join(parts)


def _task_losses(
    model: nn.Module,
    images: torch.Tensor,
    targets: TaskTargets,
    autocast: AbstractContextManager[Any],
) -> dict[str, torch.Tensor]:
    """The step's forward: ``{task: float32 scalar loss}`` for ``images`` ``(B, 3, H, W)``."""
    with autocast:
        losses = model(images, targets.targets, targets.labelled)
    return {name: loss.float() for name, loss in losses.items()}


def _check_finite(loss_values: dict[str, float], step: int) -> None:
    bad = [name for name, value in loss_values.items() if not math.isfinite(value)]
    if bad:
        raise TrainingDiverged(
            f"loss of {bad} is not finite at step {step + 1}; lower train.lr or check the labels"
        )


def _log_row(
    sums: dict[str, float],
    counted: int,
    step: int,
    steps_per_epoch: int,
    scheduler: torch.optim.lr_scheduler.LambdaLR,
    started: float,
) -> dict[str, float]:
    means = {key: value / max(1, counted) for key, value in sorted(sums.items())}
    total = sum(value for key, value in means.items() if key.startswith("loss/"))
    return {
        "step": float(step),
        "epoch": step / steps_per_epoch,
        "seconds": time.perf_counter() - started,
        "lr": float(scheduler.get_last_lr()[0]),
        "loss": total,
        **means,
    }
