"""``losskit list``: the registered losses, grouped by task, optionally for one task."""

from __future__ import annotations

import argparse

from losskit.cli.output import Output
from losskit.core.names import TASKS, normalise_task
from losskit.core.registry import available, get_loss

HELP = "list the registered losses (built-in and user-defined) by task, or for one task"


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
    out.line(f"{len(losses)} losses" + (f" for {task}" if task else ", by task"))
    # a loss of several tasks is listed under each of them
    for group in [task] if task else TASKS:
        members = [info for info in losses if group in info.tasks]
        if not members:
            continue
        out.heading(f"{group} ({len(members)})")
        rows = [
            (info.name + ("" if info.builtin else " (custom)"), info.summary) for info in members
        ]
        out.table(("loss", "summary"), rows)
    return 0
