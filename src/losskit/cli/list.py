"""``losskit list``: the registered losses, optionally for one task."""

from __future__ import annotations

import argparse

from losskit.cli.output import Output
from losskit.core.names import TASKS, normalise_task
from losskit.core.registry import available, get_loss

HELP = "list the registered losses (built-in and user-defined), optionally for one task"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task",
        help=f"only losses for this task family: {', '.join(TASKS)} (any case; "
        "multiclass and multi_class also work)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    task = None if args.task is None else normalise_task(args.task, argument="--task")
    names = available(task)
    losses = [get_loss(name) for name in names]
    if out.json_mode:
        out.json(
            [
                {
                    "name": info.name,
                    "tasks": list(info.tasks),
                    "summary": info.summary,
                    "builtin": info.builtin,
                }
                for info in losses
            ]
        )
        return 0
    rows = [
        (info.name + ("" if info.builtin else " (custom)"), ", ".join(info.tasks), info.summary)
        for info in losses
    ]
    title = f"{len(rows)} losses" + (f" for {task}" if task else "")
    out.table(("loss", "tasks", "summary"), rows, title=title)
    return 0
