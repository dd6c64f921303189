"""``losskit recommend``: losses ranked for a described problem."""

from __future__ import annotations

import argparse
from typing import Any

from losskit.cli import at_least
from losskit.cli.output import Output
from losskit.guide.advisor import ADVISOR_TASKS, Recommendation, recommend
from losskit.guide.examples import FRAMEWORKS

HELP = "recommend losses for a task, with reasons, options and code"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task",
        required=True,
        help=f"the task family: {', '.join(ADVISOR_TASKS)} (any case; multiclass, "
        "multi_class, gan, contrastive, asr and rlhf also work)",
    )
    parser.add_argument(
        "--labels",
        help="target format: binary, soft or sign (binary); integer, one-hot or soft "
        "(multi-class); binary, integer or one-hot masks (segmentation); box format "
        "xyxy, xywh or cxcywh (detection); pairs, classes, triplets, pair-labels, "
        "preferences or vectors (embedding); logits, tokens or probabilities "
        "(distillation); unaligned, tokens or aligned (sequence); pairs, "
        "pairs-without-reference or unpaired (preference)",
    )
    parser.add_argument(
        "--imbalance",
        help="class frequencies: 1:50 (positives:negatives), or class counts 5000:300:40",
    )
    parser.add_argument(
        "--outliers",
        action="store_true",
        help="regression targets with outliers, or noisy (mislabelled) classification, "
        "token or preference labels",
    )
    parser.add_argument(
        "--overlap",
        action="store_true",
        help="segmentation or detection where overlap and boundaries matter most",
    )
    parser.add_argument(
        "--probabilities",
        action="store_true",
        help="the model outputs probabilities, not logits",
    )
    parser.add_argument(
        "--intervals", action="store_true", help="regression with prediction intervals"
    )
    parser.add_argument(
        "--framework",
        choices=(*FRAMEWORKS, "all"),
        default="numpy",
        help="which code to show (default: numpy, the functional API)",
    )
    parser.add_argument("--top", type=at_least(1), default=None, help="show only the best N")


def _arguments(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in options.items()) or "(none)"


def _options(rec: Recommendation) -> list[tuple[str, dict[str, Any]]]:
    """The options to set, as the function takes them: one line per part."""
    if len(rec.parts) == 1:
        return [("options", dict(rec.parts[0].options))]
    return list(rec.options.items())


def run(args: argparse.Namespace, out: Output) -> int:
    recommendations = recommend(
        args.task,
        labels=args.labels,
        outliers=args.outliers,
        imbalance=args.imbalance,
        overlap=args.overlap,
        logits=not args.probabilities,
        intervals=args.intervals,
    )
    if args.top is not None:
        recommendations = recommendations[: args.top]
    if out.json_mode:
        out.json([r.to_dict() for r in recommendations])
        return 0
    if not recommendations:
        out.line("no registered loss fits this description")
        return 0
    frameworks = FRAMEWORKS if args.framework == "all" else (args.framework,)
    for rec in recommendations:
        out.heading(f"{rec.rank}. {rec.loss}")
        out.paragraph(rec.reason)
        if rec.options:
            out.fields([(label, _arguments(options)) for label, options in _options(rec)])
        out.line()
        if rec.evidence:
            out.paragraph("In the lab (the recorded full run of losskit lab):")
            out.bullets(rec.evidence)
        else:
            out.paragraph("In the lab: not trained in the built-in scenarios.")
        for framework in frameworks:
            out.line()
            out.code(rec.code[framework], title=framework)
    return 0
