"""``losskit lab``: train the same small model with each candidate loss and report.

Without ``--data``, the built-in scenarios run on data available offline; with
``--data FILE --target COLUMN --task TASK``, the losses are compared on the user's
table by k-fold cross-validation.  The report goes to ``--out`` (``lab-report/``):
``report.html`` (self-contained), ``results.json`` and one PNG per figure.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from losskit.cli.output import CommandError, Output

__all__ = ["HELP", "add_arguments", "main", "run", "show_lab"]

HELP = "train a small model with each candidate loss on real data and report what happened"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="smaller data, fewer epochs and seeds (about a minute)"
    )
    parser.add_argument(
        "--scenarios",
        metavar="NAMES",
        help="comma-separated built-in scenarios to run (default: all): regression, "
        "imbalanced, multiclass, segmentation, gan, boxes, embedding, distillation",
    )
    parser.add_argument(
        "--seeds", type=_positive_int, metavar="N", help="number of seeds per scenario"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="first seed (default 0); also splits --data folds"
    )
    parser.add_argument(
        "--out", default="lab-report", metavar="DIR", help="report directory (default lab-report)"
    )
    parser.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        help="worker processes training side by side (default 1: train in this process); "
        "the numbers do not depend on it",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="PyTorch CPU threads per worker (default 1)",
    )
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="train on a Ray cluster instead of local processes: its address, 'auto' (the "
        "cluster this machine belongs to) or 'local' (start one here); with --ray, --jobs N "
        "is the number of Ray workers (default: the cluster's CPUs / --threads); the numbers "
        "do not depend on it. Needs pip install 'losskit[lab-ray]'",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    user = parser.add_argument_group("your own data")
    user.add_argument("--data", metavar="FILE", help="a .csv (with a header row) or .parquet table")
    user.add_argument("--target", metavar="COLUMN", help="the column to predict")
    user.add_argument(
        "--task", help="regression, binary or multi-class (any case; multiclass also works)"
    )
    user.add_argument(
        "--losses",
        metavar="LIST",
        help="comma-separated losses, each NAME or NAME:OPTION=VALUE[:...], e.g. "
        "'mse,huber:delta=2'; pos_weight=auto uses negatives / positives",
    )
    user.add_argument(
        "--folds", type=_positive_int, default=5, help="cross-validation folds (default 5)"
    )


def _scenarios(args: argparse.Namespace) -> list[Any]:
    from losskit.lab.scenarios import builtin_scenarios

    if args.data is None:
        for flag in ("target", "task", "losses"):
            if getattr(args, flag) is not None:
                raise CommandError(f"--{flag} goes with --data FILE")
        available = builtin_scenarios()
        if args.scenarios is None:
            return available
        by_name = {s.name: s for s in available}
        chosen = [name.strip() for name in args.scenarios.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in by_name]
        if unknown or not chosen:
            raise CommandError(
                f"--scenarios: unknown scenario(s) {unknown or chosen}; choose from "
                f"{', '.join(by_name)}"
            )
        return [by_name[name] for name in chosen]

    from losskit.core.names import normalise_task
    from losskit.lab.userdata import USER_TASKS, UserDataScenario, load_user_data, parse_losses

    if args.scenarios is not None:
        raise CommandError("--scenarios picks built-in scenarios; it does not go with --data")
    if args.seeds is not None:
        raise CommandError(
            "--seeds does not go with --data: the repeats are the --folds (--seed shuffles them)"
        )
    missing = [f"--{flag}" for flag in ("target", "task") if getattr(args, flag) is None]
    if missing:
        raise CommandError(f"--data needs {' and '.join(missing)}")
    args.task = normalise_task(args.task, among=USER_TASKS, argument="--task")
    candidates = parse_losses(args.losses, args.task)
    data = load_user_data(args.data, args.target, args.task, folds=args.folds)
    return [UserDataScenario(data, candidates, folds=args.folds, seed=args.seed)]


def run(args: argparse.Namespace, out: Output) -> int:
    try:
        import matplotlib  # noqa: F401
        import sklearn  # noqa: F401
        import torch  # noqa: F401
    except ImportError as error:
        raise CommandError(
            f"losskit lab needs the 'lab' extra ({error.name} is missing): "
            "pip install 'losskit[lab]'"
        ) from None
    if args.ray is not None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise CommandError(
                "--ray needs Ray, which is not installed: pip install 'losskit[lab-ray]' "
                "(or run without --ray: --jobs N uses local processes)"
            ) from None
    from losskit.lab.report import lab_numbers, write_report
    from losskit.lab.run import run_scenarios

    scenarios = _scenarios(args)
    try:
        lab = run_scenarios(
            scenarios,
            quick=args.quick,
            seeds=args.seeds,
            first_seed=args.seed,
            threads=args.threads,
            jobs=args.jobs,
            ray=args.ray,
            progress=not args.no_progress,
        )
    except ConnectionError as error:
        if args.ray is None:
            raise
        raise CommandError(f"--ray: {error}") from None
    lab.settings = {
        "quick": args.quick,
        "first_seed": args.seed,
        **({"data": args.data, "task": args.task, "folds": args.folds} if args.data else {}),
    }
    numbers = lab_numbers(lab)
    files = write_report(lab, args.out, numbers)
    if out.json_mode:
        out.json(numbers)
        return 0
    show_lab(numbers, files, out)
    return 0


def show_lab(numbers: dict[str, Any], files: Any, out: Output) -> None:
    """What ``losskit lab`` prints: each scenario's table and findings, the best loss per
    scenario, the rules of the comparison and where the report is (``files``, the
    :class:`~losskit.lab.report.ReportFiles` written, or None)."""
    from losskit.lab.report import CAVEAT, detail_table, summary_table

    for scenario in numbers["scenarios"]:
        header, rows = detail_table(scenario)
        out.heading(
            f"{scenario['title']} (mean ± spread over {len(scenario['repeats'])} "
            f"{scenario['repeat_name']}s)"
        )
        out.table(header, rows, wrap=(0,))  # loss labels wrap, numbers never
        out.bullets(scenario["findings"])
    header, rows = summary_table(numbers)
    out.heading("Best loss per scenario")
    out.table(header, rows, wrap=(0, 1, 2, 4))  # the names wrap, numbers never
    if numbers["quick_warning"]:
        out.paragraph(numbers["quick_warning"])
    notes = [f"{s['title']}: {s['reference']}" for s in numbers["scenarios"] if s.get("reference")]
    if notes:
        out.bullets(notes)
    out.paragraph(numbers["selection"])
    out.paragraph(numbers["rule"])
    out.paragraph(CAVEAT)
    out.heading("What was run")
    out.bullets(numbers["what_was_run"])
    if numbers["command"]:
        out.line(f"Reproduce: {numbers['command']}")
    if files is not None:
        out.line()
        out.line(f"Report: {files.html}  (numbers: {files.json}; {len(files.figures)} PNG figures)")


def main(argv: list[str] | None = None) -> int:
    """``losskit lab`` as a program of its own (``python -m losskit.lab``)."""
    from losskit.cli import main as losskit_main

    return losskit_main(["lab", *(sys.argv[1:] if argv is None else argv)])
