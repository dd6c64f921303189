"""``losskit explain NAME``: everything losskit knows about one loss."""

from __future__ import annotations

import argparse
import re
from typing import Any

from losskit.cli.output import Output
from losskit.core.reduction import REDUCTION_DOC
from losskit.core.specs import parse_loss_spec
from losskit.guide.catalogue import code_examples, entry
from losskit.guide.examples import FRAMEWORKS
from losskit.guide.formula import formula_lines, inline_text, wrap_formula

HELP = "explain a loss: formula, behaviour, options, when to use it, code"

#: How the adapters name themselves in the options' defaults.
_ADAPTERS = {"pytorch": "losskit.torch", "keras": "losskit.keras"}

#: What ``reduction`` and ``weights`` are in each adapter (they are not options there).
_ADAPTER_NOTES = {
    "reduction": "losskit.torch: reduction='mean' when built; losskit.keras: Keras's "
    "reduction, 'sum_over_batch_size' by default",
    "weights": "losskit.torch: forward(..., weights=...); losskit.keras: sample_weight",
    "normalizer": "losskit.torch: forward(..., normalizer=...); losskit.keras: none (use "
    "reduction='sum' and divide)",
}


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


def _common_arguments() -> dict[str, str]:
    """``reduction`` and ``weights`` as every loss's docstring describes them."""
    described: dict[str, str] = {}
    name = None
    for line in REDUCTION_DOC.splitlines():
        match = re.match(r"\s*(\w+): (.*)", line)
        if match and len(line) - len(line.lstrip()) == 8:
            name = match.group(1)
            described[name] = match.group(2)
        elif name is not None:
            described[name] += " " + line.strip()
    return {k: inline_text(v) for k, v in described.items()}


def _options(out: Output, data: dict[str, Any]) -> None:
    """Every option, reduction and weights included: its default (and the adapters'
    where they differ), what it accepts and what it means."""
    common = _common_arguments()
    rows = [
        (
            name,
            default,
            data["option_types"][name],
            data["hyperparameters"].get(name, ""),
            {fw: d[name] for fw, d in data["framework_defaults"].items() if name in d},
        )
        for name, default in data["options"].items()
    ]
    reduction = common["reduction"]
    if data["reduction_note"]:
        reduction += " " + data["reduction_note"]
    rows += [
        ("reduction", "mean", "one of 'none', 'mean', 'sum'", reduction, {}),
        ("weights", None, "an array of finite values >= 0, or None", common["weights"], {}),
        ("normalizer", None, "a number or 0-d array >= 0, or None", common["normalizer"], {}),
    ]
    for name, default, accepts, meaning, adapters in rows:
        others = [f"{_ADAPTERS[fw]}: {value!r}" for fw, value in adapters.items()]
        head = f"{name} = {default!r}" + (f"  ({'; '.join(others)})" if others else "")
        out.paragraph(head)
        out.paragraph(f"{accepts}: {meaning}" if meaning else f"{accepts}.", indent=4)
        if name in _ADAPTER_NOTES:
            out.paragraph(_ADAPTER_NOTES[name] + ".", indent=4)


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
    out.fields([("tasks", ", ".join(data["tasks"])), ("arrays", ", ".join(data["arrays"]))])
    out.heading("Formula")
    for line in formula_lines(data["formula"]):
        for part in wrap_formula(line, out.width - 2):
            out.line(f"  {part}")
    if data["formula_notes"]:
        out.line()
        out.paragraph(data["formula_notes"])
    out.heading("What it does")
    out.paragraph(data["explanation"])
    out.heading("Inputs")
    out.bullets(data["input_forms"])
    out.heading("Options")
    _options(out, data)
    out.heading("Good for")
    out.bullets(data["good_for"])
    out.heading("Not good for")
    out.bullets(data["not_good_for"])
    out.heading("Sensitivity")
    out.fields(
        [("outliers", data["outlier_sensitivity"]), ("imbalance", data["imbalance_sensitivity"])]
    )
    out.heading("In the lab")
    if data["lab_evidence"]:
        out.bullets(data["lab_evidence"])
    else:
        out.paragraph("not trained in the built-in lab scenarios (losskit lab)")
    out.heading("Example")
    frameworks = FRAMEWORKS if args.framework == "all" else (args.framework,)
    for framework in frameworks:
        out.line()
        out.code(data["examples"][framework], title=framework)
    out.heading("References")
    out.bullets(data["references"])
    return 0
