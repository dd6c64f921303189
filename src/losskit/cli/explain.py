"""``losskit explain NAME``: everything losskit knows about one loss."""

from __future__ import annotations

import argparse

from losskit.cli.output import Output
from losskit.core.specs import parse_loss_spec
from losskit.guide.catalogue import code_examples, entry
from losskit.guide.examples import FRAMEWORKS

HELP = "explain a loss: formula, behaviour, options, when to use it, code"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "loss", metavar="NAME", help="a loss name, optionally with options: huber:delta=2"
    )
    parser.add_argument(
        "--framework",
        choices=(*FRAMEWORKS, "all"),
        default="all",
        help="which code example to show (default: all)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    name, options = parse_loss_spec(args.loss)
    data = entry(name)
    data["examples"] = code_examples(name, options)
    if options:
        data["example_options"] = options
    if out.json_mode:
        out.json(data)
        return 0
    out.title(name, f"- {data['summary']}")
    out.fields(
        [
            ("tasks", ", ".join(data["tasks"])),
            ("formula", data["formula_text"]),
            ("LaTeX", data["formula"]),
            ("arrays", ", ".join(data["arrays"])),
        ]
    )
    out.heading("What it does")
    out.paragraph(data["explanation"])
    out.heading("Inputs")
    out.bullets(data["input_forms"])
    out.heading("Options")
    if data["options"]:
        rows = [
            (option, repr(default), data["hyperparameters"].get(option, ""))
            for option, default in data["options"].items()
        ]
        out.table(("option", "default", "meaning and usual values"), rows)
    else:
        out.line("none besides reduction and weights")
    out.heading("Good for")
    out.bullets(data["good_for"])
    out.heading("Not good for")
    out.bullets(data["not_good_for"])
    out.heading("Sensitivity")
    out.fields(
        [("outliers", data["outlier_sensitivity"]), ("imbalance", data["imbalance_sensitivity"])]
    )
    out.heading("Example")
    frameworks = FRAMEWORKS if args.framework == "all" else (args.framework,)
    for framework in frameworks:
        out.code(data["examples"][framework], title=framework)
    out.heading("References")
    out.bullets(data["references"])
    return 0
