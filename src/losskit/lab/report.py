"""The lab's outputs: the numbers (JSON), the terminal tables, the PNG figures and a
self-contained HTML report (one file, figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import math
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

import losskit
from losskit.lab.findings import RULE, ranking, scenario_findings, scenario_verdict, spread
from losskit.lab.reference import load_reference, reference_note, scenario_fingerprint
from losskit.lab.run import LabResult, ScenarioResult
from losskit.lab.scenario import Metric

__all__ = [
    "CAVEAT",
    "QUICK_WARNING",
    "ReportFiles",
    "detail_table",
    "lab_numbers",
    "print_report",
    "reproduce_command",
    "summary_table",
    "write_report",
]

CAVEAT = (
    "Each scenario trains one small model on one data set, a few times with different "
    "seeds (or folds). The numbers show what happened in these runs; a difference smaller "
    "than the spread between seeds is not evidence that one loss is better, and none of "
    "it is a general ranking of the losses."
)


SELECTION = (
    "Each run trains on the training part less a validation part carved out of it, "
    "evaluates a metric of the scenario (its primary metric unless the scenario says "
    "otherwise; never the training loss) on the validation "
    "part at up to 30 epochs (or steps) spread over the run, and keeps the weights of the "
    "evaluation with the best value (the later one on a tie); the held-out metrics are "
    "those of that model, so each loss is compared at its best epoch."
)

QUICK_WARNING = (
    "Quick run: indicative only. Smaller data, fewer epochs and fewer seeds than the full "
    "run, and quick runs can reach other verdicts than full runs (where a recorded full "
    "run exists, each scenario below says whether it agrees). Run without --quick before "
    "choosing a loss."
)


def _summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {
        "mean": float(sum(values) / len(values)),
        "std": spread(values),
        "min": float(min(values)),
        "max": float(max(values)),
        "n": len(values),
    }


def scenario_numbers(result: ScenarioResult) -> dict[str, Any]:
    """The JSON-ready numbers and findings of one scenario."""
    scenario = result.scenario
    primary = scenario.metric(scenario.primary)
    losses = []
    for candidate in result.candidates:
        runs = []
        for record in result.runs[candidate.label]:
            run: dict[str, Any] = {
                "repeat": record.repeat,
                "seconds": round(record.seconds, 3),
                "error": record.error,
            }
            if record.result is not None:
                run["metrics"] = record.result.metrics
                run["curve"] = record.result.curve.as_dict()
            runs.append(run)
        losses.append(
            {
                "label": candidate.label,
                "loss": candidate.name,
                "options": dict(candidate.options),
                "parts": sorted(candidate.parts) if candidate.parts else None,
                "code": candidate.code(),
                "summary": {
                    m.key: _summary(result.values(candidate.label, m.key)) for m in scenario.metrics
                },
                "runs": runs,
            }
        )
    best = ranking(result, primary)
    verdict = scenario_verdict(result)
    return {
        "name": scenario.name,
        "title": scenario.title,
        "description": scenario.description(result.quick),
        "repeat_name": scenario.repeat_name,
        "repeats": result.repeats,
        "baseline": scenario.baseline,
        "primary_metric": primary.key,
        "metrics": [dataclasses.asdict(m) for m in scenario.metrics],
        "losses": losses,
        "best": (
            {"label": best[0][0], "metric": primary.key, "mean": best[0][1], "std": best[0][2]}
            if best
            else None
        ),
        "verdict": verdict.as_dict(),
        "fingerprint": scenario_fingerprint(scenario),
        "budget": scenario.budget(result.quick),
        "selection": scenario.selection_rule(),
        "selection_metric": scenario.selection_key,
        "findings": scenario_findings(result),
        "seconds": round(result.seconds, 2),
    }


def reproduce_command(lab: LabResult) -> str | None:
    """The ``losskit lab`` command that runs the same scenarios, losses and seeds again
    (None when a scenario defined in Python has no such command)."""
    from losskit.lab.scenarios import BUILTIN_SCENARIOS

    args = ["losskit", "lab"]
    chosen = [r.scenario for r in lab.scenarios]
    own = [s.command_args() for s in chosen if s.command_args() is not None]
    builtin = {cls.name for cls in BUILTIN_SCENARIOS}
    if any(s.command_args() is None and s.name not in builtin for s in chosen):
        return None
    if own:
        args += own[0]
    elif [s.name for s in chosen] != [cls.name for cls in BUILTIN_SCENARIOS]:
        args += ["--scenarios", ",".join(s.name for s in chosen)]
    if lab.quick:
        args.append("--quick")
    if lab.seeds is not None and not own:
        args += ["--seeds", str(lab.seeds)]
    if lab.first_seed != 0:
        args += ["--seed", str(lab.first_seed)]
    if lab.jobs != 1:
        args += ["--jobs", str(lab.jobs)]
    if lab.threads != 1:
        args += ["--threads", str(lab.threads)]
    return shlex.join(args)


def _what_was_run(lab: LabResult, scenarios: list[dict[str, Any]]) -> list[str]:
    """The run in words: the mode, then one line per scenario."""
    runs = sum(len(s["repeats"]) * len(s["losses"]) for s in scenarios)
    if lab.quick:
        mode = "Quick mode (smaller data, fewer epochs and seeds; indicative only)"
    elif lab.settings.get("api") == "losskit.lab.compare":
        mode = "Your model (losskit.lab.compare)"  # its own data and budget: no quick/full
    else:
        mode = "Full mode"
    lines = [
        f"{mode}: {len(scenarios)} scenario{'s' if len(scenarios) != 1 else ''}, "
        f"{runs} training runs in all."
    ]
    for s in scenarios:
        repeats = s["repeats"]
        first, last = (repeats[0], repeats[-1]) if repeats else (0, -1)
        numbered = f"{first} to {last}" if len(repeats) > 2 else " and ".join(map(str, repeats))
        metric = next(m for m in s["metrics"] if m["key"] == s["primary_metric"])
        lines.append(
            f"{s['title']}: {len(s['losses'])} losses "
            f"({'; '.join(loss['label'] for loss in s['losses'])})"
            f" × {len(repeats)} {s['repeat_name']}s ({numbered}); "
            + (f"up to {s['budget']}, keeping {s['selection']}" if s["budget"] else s["selection"])
            + f"; compared on held-out {metric['label']}."
        )
    return lines


def lab_numbers(lab: LabResult) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data."""
    scenarios = [scenario_numbers(s) for s in lab.scenarios]
    if lab.quick:
        reference = load_reference()
        for s in scenarios:
            s["reference"] = reference_note(s, reference)
    return {
        "losskit_version": losskit.__version__,
        "mode": "quick" if lab.quick else "full",
        "threads": lab.threads,
        "jobs": lab.jobs,
        "ray": lab.ray,
        "seconds": round(lab.seconds, 2),
        "settings": lab.settings,
        "caveat": CAVEAT,
        "rule": RULE,
        "selection": SELECTION,
        "quick_warning": QUICK_WARNING if lab.quick else None,
        "what_was_run": _what_was_run(lab, scenarios),
        "command": reproduce_command(lab),
        "scenarios": scenarios,
    }


# ---------------------------------------------------------------------- terminal


def print_report(
    lab: LabResult, files: ReportFiles | None = None, *, stream: TextIO | None = None
) -> None:
    """Print what ``losskit lab`` prints for ``lab``: each scenario's table and findings,
    the best loss per scenario, and where the report is when ``files`` (what
    :func:`write_report` returned) is given."""
    from losskit.cli.lab import show_lab
    from losskit.cli.output import Output

    show_lab(lab_numbers(lab), files, Output(stream or sys.stdout))


def _fmt(summary: dict[str, Any], digits: int) -> str:
    if not summary.get("n"):
        return "-"
    return f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f}"


def _summary_rows(numbers: dict[str, Any]) -> list[list[str]]:
    rows = []
    for s in numbers["scenarios"]:
        metric = next(m for m in s["metrics"] if m["key"] == s["primary_metric"])
        by_label = {loss["label"]: loss for loss in s["losses"]}
        best = s["best"]
        baseline = by_label[s["baseline"]]
        rows.append(
            [
                s["title"],
                metric["label"],
                s["verdict"]["text"] + (" (the full run differs)" if _differs_from_full(s) else ""),
                _fmt(by_label[best["label"]]["summary"][metric["key"]], metric["digits"])
                if best
                else "-",
                s["baseline"],
                _fmt(baseline["summary"][metric["key"]], metric["digits"]),
                f"{len(s['repeats'])} {s['repeat_name']}s",
            ]
        )
    return rows


def _differs_from_full(scenario: dict[str, Any]) -> bool:
    note = scenario.get("reference")
    return bool(note) and note.startswith("Quick and full verdicts differ")


SUMMARY_HEADER = [
    "scenario",
    "metric",
    "best loss (or: not separated / tied)",
    "best mean ± spread",
    "baseline",
    "baseline mean ± spread",
    "runs",
]


def _detail(scenario: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["loss"] + [m["label"] for m in scenario["metrics"]]
    rows = [
        [loss["label"]]
        + [_fmt(loss["summary"][m["key"]], m["digits"]) for m in scenario["metrics"]]
        for loss in scenario["losses"]
    ]
    return header, rows


def detail_table(scenario: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of one scenario's metrics, mean ± spread per loss."""
    return _detail(scenario)


def summary_table(numbers: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of the best loss per scenario."""
    return SUMMARY_HEADER, _summary_rows(numbers)


# -------------------------------------------------------------------------- files


@dataclasses.dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path
    figures: list[Path]


def _figures(result: ScenarioResult) -> list[tuple[str, bytes]]:
    from losskit.lab import plots

    name = result.scenario.name
    figures = [
        (f"{name}-metrics", plots.metrics_figure(result)),
        (f"{name}-curves", plots.curves_figure(result)),
    ]
    if any(result.results().values()):
        figures += [
            (f"{name}-{stem}", fig) for stem, fig in result.scenario.figures(result.results())
        ]
    return [(stem, plots.png_bytes(fig)) for stem, fig in figures]


def write_report(
    lab: LabResult, out_dir: str | Path, numbers: dict[str, Any] | None = None
) -> ReportFiles:
    """Write ``report.html``, ``results.json`` and the PNG figures into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    numbers = numbers if numbers is not None else lab_numbers(lab)
    figure_paths: list[Path] = []
    sections = []
    for result, scenario in zip(lab.scenarios, numbers["scenarios"], strict=True):
        pngs = _figures(result)
        scenario["figures"] = [f"{stem}.png" for stem, _ in pngs]
        for stem, png in pngs:
            path = out / f"{stem}.png"
            path.write_bytes(png)
            figure_paths.append(path)
        sections.append(_html_section(scenario, pngs))
    json_path = out / "results.json"
    json_path.write_text(json.dumps(numbers, indent=1, allow_nan=False) + "\n")
    html_path = out / "report.html"
    html_path.write_text(_html_page(numbers, sections), encoding="utf-8")
    return ReportFiles(html_path, json_path, figure_paths)


# --------------------------------------------------------------------------- HTML

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1150px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.3em 0.8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
section th:nth-child(2), section td:nth-child(2) { text-align: left; }
th { background: #f4f4f4; }
td.best { font-weight: bold; }
code { background: #f4f4f4; padding: 0 0.25em; font-size: 0.9em; }
.caveat { background: #fff8e1; border-left: 4px solid #f0c000; padding: 0.6em 1em; }
.meta { color: #666; font-size: 0.9em; }
img { max-width: 100%; display: block; margin: 0.8em 0; }
.runs { color: #777; font-size: 0.8em; }
dt { font-weight: bold; } dd { margin: 0 0 0.4em 1.2em; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _html_table(
    header: list[str], rows: list[list[str]], bold: set[tuple[int, int]] = frozenset()
) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    best = ' class="best"'
    body = "".join(
        "<tr>"
        + "".join(f"<td{best if (i, j) in bold else ''}>{cell}</td>" for j, cell in enumerate(row))
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_section(s: dict[str, Any], pngs: list[tuple[str, bytes]]) -> str:
    metrics = s["metrics"]
    header = ["loss", "code"] + [m["label"] for m in metrics]
    rows, bold = [], set()
    for j, m in enumerate(metrics):
        means = [
            (i, loss["summary"][m["key"]]["mean"])
            for i, loss in enumerate(s["losses"])
            if loss["summary"][m["key"]].get("n")
        ]
        if means:
            # the best mean, and every loss whose mean shows the same value: ties all bold
            metric = Metric(**m)
            top = metric.format(max(means, key=lambda v: metric.goodness(v[1]))[1])
            bold.update((i, j + 2) for i, mean in means if metric.format(mean) == top)
    for loss in s["losses"]:
        cells = [_e(loss["label"]), f"<code>{_e(loss['code'])}</code>"]
        for m in metrics:
            values = [r["metrics"][m["key"]] for r in loss["runs"] if "metrics" in r]
            per_run = ", ".join(f"{v:.{m['digits']}f}" for v in values)
            cells.append(
                f"{_e(_fmt(loss['summary'][m['key']], m['digits']))}"
                f'<br><span class="runs">{_e(per_run)}</span>'
            )
        rows.append(cells)
    findings = "".join(f"<li>{_e(f)}</li>" for f in s["findings"])
    if s.get("reference"):
        findings += f"<li><strong>{_e(s['reference'])}</strong></li>"
    verdict = s["verdict"]["text"] + (
        " (the recorded full run differs: see the last finding)" if _differs_from_full(s) else ""
    )
    definitions = "".join(
        f"<dt>{_e(m['label'])}</dt><dd>{_e(m['description'])}</dd>" for m in metrics
    )
    images = "".join(
        f'<img alt="{_e(stem)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        for stem, png in pngs
    )
    return (
        f'<section id="{_e(s["name"])}"><h2>{_e(s["title"])}</h2>'
        f"<p>{_e(s['description'])}</p>"
        f"<p>Trained models: {_e(s['selection'])} (validation part carved out of the training "
        f"part); the metrics below are on the held-out part. Verdict on "
        f"{_e(next(m['label'] for m in metrics if m['key'] == s['primary_metric']))}: "
        f"<strong>{_e(verdict)}</strong>.</p>"
        f"<h3>What the numbers show</h3><ul>{findings}</ul>"
        f'<h3>Held-out metrics</h3><p class="meta">Mean ± spread (sample standard deviation) over '
        f"{len(s['repeats'])} {_e(s['repeat_name'])}s; below, the value of each {_e(s['repeat_name'])}; "
        f"the best mean of each column in bold (every loss showing the same value when "
        f"several do; bold is the best mean, not a verdict). Baseline: {_e(s['baseline'])}. "
        f"Training time: {s['seconds']:.0f} s.</p>"
        f"{_html_table(header, rows, bold)}<dl>{definitions}</dl>{images}</section>"
    )


def _html_page(numbers: dict[str, Any], sections: list[str]) -> str:
    summary = _html_table(SUMMARY_HEADER, [[_e(c) for c in row] for row in _summary_rows(numbers)])
    toc = " · ".join(
        f'<a href="#{_e(s["name"])}">{_e(s["title"])}</a>' for s in numbers["scenarios"]
    )
    settings = ", ".join(f"{k}={v}" for k, v in numbers["settings"].items())
    minutes = numbers["seconds"] / 60
    what = numbers["what_was_run"]
    what_items = "".join(f"<li>{_e(line)}</li>" for line in what[1:])
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>losskit lab report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>losskit lab report"
        + (" (quick run: indicative)" if numbers["mode"] == "quick" else "")
        + "</h1>"
        f'<p class="meta">losskit {_e(numbers["losskit_version"])} · {_e(numbers["mode"])} mode · '
        + (
            f"Ray cluster ({_e(numbers['ray'])}) · "
            if numbers.get("ray")
            else f"{numbers['jobs']} process(es) · "
        )
        + f"{numbers['threads']} PyTorch thread(s) per worker · "
        f"{math.ceil(minutes * 10) / 10:.1f} min"
        + (f" · {_e(settings)}" if settings else "")
        + "</p>"
        "<p>The same small model is trained with each candidate loss on the same data, from "
        "the same initial weights, and measured on held-out data with metrics that do not "
        "depend on the loss. The text under each scenario is generated from the numbers.</p>"
        + (
            f'<p class="caveat"><strong>{_e(numbers["quick_warning"])}</strong></p>'
            if numbers.get("quick_warning")
            else ""
        )
        + f"<h2>What was run</h2><p>{_e(what[0])}</p><ul>{what_items}</ul>"
        f'<p class="caveat">{_e(CAVEAT)}</p>'
        f"<p><strong>How each loss is trained.</strong> {_e(numbers['selection'])}</p>"
        f"<p><strong>How verdicts are called.</strong> {_e(numbers['rule'])}</p>"
        f"<h2>Best loss per scenario</h2>{summary}<p>{toc}</p>"
        + "".join(sections)
        + "<h2>Reproduce this report</h2>"
        + (
            "<p>The command that runs the same scenarios, losses and seeds again (the "
            "numbers depend on the seeds and the number of PyTorch threads, not on "
            f"--jobs or --ray):</p><pre><code>{_e(numbers['command'])}</code></pre>"
            if numbers["command"]
            else "<p>A scenario of this report was defined in Python: run the same script "
            "again (no losskit lab command reproduces it).</p>"
        )
        + "</body></html>\n"
    )
