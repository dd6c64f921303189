"""``losskit plot NAME... --out FILE``: loss and gradient curves as PNG or SVG."""

from __future__ import annotations

import argparse

from losskit.cli.output import CommandError, Output
from losskit.guide.plots import AXES

HELP = "draw loss and gradient curves of losses (name or name:option=value) to PNG or SVG"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "losses", nargs="+", metavar="NAME", help="losses, with options as huber:delta=2"
    )
    parser.add_argument("--out", required=True, help="output file, .png or .svg")
    parser.add_argument(
        "--x",
        choices=("auto", *AXES),
        default="auto",
        help="the horizontal axis (default: chosen from the losses)",
    )
    parser.add_argument(
        "--range",
        dest="x_range",
        metavar="LOW,HIGH",
        help="interval of the horizontal axis, e.g. --range=-5,5",
    )
    parser.add_argument(
        "--no-gradient", action="store_true", help="draw the loss only, not its gradient"
    )
    parser.add_argument("--title", help="figure title")


def _parse_range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    parts = text.split(",")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise CommandError(f"--range must be LOW,HIGH (e.g. --range=-5,5); got {text!r}") from None
    return low, high


def run(args: argparse.Namespace, out: Output) -> int:
    from losskit.guide.plots import draw_curves, loss_curves

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CommandError("plotting needs matplotlib: pip install 'losskit[cli]'") from None
    x_range = _parse_range(args.x_range)
    curves = loss_curves(args.losses, x=args.x, x_range=x_range)
    path = draw_curves(curves, args.out, gradient=not args.no_gradient, title=args.title)
    if out.json_mode:
        out.json(
            {
                "out": str(path),
                "x": curves.kind,
                "x_range": [float(curves.x[0]), float(curves.x[-1])],
                "losses": [{"name": c.name, "options": c.options} for c in curves.curves],
            }
        )
    else:
        labels = ", ".join(c.label for c in curves.curves)
        out.paragraph(f"wrote {path} ({labels} against the {curves.kind})")
    return 0
