"""Step time of every balancer relative to equal weights, measured interleaved in one process.

Usage: ``python tools/bench_balancer_overhead.py [--config configs/mtl_bench.yaml] [--rounds 5]
[--steps 8] [--out benchmarks]``

The multi-task lab (``tools/bench_mtl.py``) times whole training runs one after another, so a
few percent of machine noise lands on whichever run was unlucky. Here every balancer runs the
same fixed batch through the same model (forward, balancer backward, optimizer step), in
``--rounds`` rounds that visit the balancers in turn; the median step time per balancer is
compared with equal weights'. Writes ``balancer_overhead.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

from perception.atomic import write_text_atomic
from perception.config.loader import load_config
from perception.data.letterbox import letterbox
from perception.data.loader import collate_samples
from perception.model.build import build_model
from perception.model.task_targets import TargetEncoder
from perception.plugins import get_plugin_manager
from perception.train.components import build_balancer, build_dataset, build_optimizer

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "mtl_bench.yaml"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--out", default=str(REPO / "benchmarks"))
    args = parser.parse_args()
    config = load_config(args.config)
    torch.set_num_threads(config.train.threads or torch.get_num_threads())
    names = sorted(get_plugin_manager().balancers.names())
    model = build_model(config).train()
    dataset = build_dataset(config, config.data.split)
    height, width = config.data.input_height, config.data.input_width
    samples = [letterbox(dataset[i], height, width) for i in range(config.data.batch_size)]
    batch = collate_samples(samples)
    targets = TargetEncoder(model.heads)(samples)
    images = batch.images.contiguous(memory_format=torch.channels_last)
    setups = {}
    for name in names:
        config.balancer.type = name
        balancer = build_balancer(config, model.head_names)
        scope = balancer.gradient_scope == "last"
        shared = None
        if balancer.needs_task_gradients:
            shared = model.last_shared_parameters() if scope else model.shared_parameters()
        setups[name] = (balancer, shared, build_optimizer(model, balancer, config))
    times: dict[str, list[float]] = {name: [] for name in names}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for _ in range(args.rounds):
        for name, (balancer, shared, optimizer) in setups.items():
            model.load_state_dict(state)
            for step in range(args.steps + 1):
                start = time.perf_counter()
                losses = model(images, targets.targets, targets.labelled)
                optimizer.zero_grad(set_to_none=True)
                balancer.backward(losses, shared)
                optimizer.step()
                if step > 0:  # the first step of a visit warms caches
                    times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    report = {
        "command": "python tools/bench_balancer_overhead.py " + shlex.join(sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "config": os.path.relpath(args.config, REPO),
        "steps_per_balancer": len(times[names[0]]),
        "median_step_ms": {name: 1000 * value for name, value in medians.items()},
        "relative_to_equal": {name: value / medians["equal"] for name, value in medians.items()},
    }
    lines = [
        "# Balancer overhead",
        "",
        f"Command: `{report['command']}` ({report['date']}). One fixed batch of the lab's model "
        f"(`{report['config']}`), {report['steps_per_balancer']} timed steps per balancer "
        "(forward, balancer backward, AdamW step), balancers visited in turn over "
        f"{args.rounds} rounds; medians.",
        "",
        "| balancer | needs task gradients | median step ms | vs equal |",
        "|---|:---:|---:|---:|",
    ]
    for name in names:
        balancer = setups[name][0]
        lines.append(
            f"| {name} | {'yes' if balancer.needs_task_gradients else 'no'} | "
            f"{report['median_step_ms'][name]:.1f} | {report['relative_to_equal'][name]:.2f}x |"
        )
    out = Path(args.out)
    write_text_atomic(out / "balancer_overhead.json", json.dumps(report, indent=2) + "\n")
    write_text_atomic(out / "balancer_overhead.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
