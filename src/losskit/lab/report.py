"""The lab's outputs: the numbers (JSON), the terminal tables, the PNG figures and a
self-contained HTML report (one file, figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import math
from pathlib import Path
from typing import Any

import losskit
from losskit.lab.findings import ranking, scenario_findings, spread
from losskit.lab.run import LabResult, ScenarioResult
from losskit.lab.scenario import Metric

__all__ = ["CAVEAT", "ReportFiles", "detail_table", "lab_numbers", "summary_table", "write_report"]

CAVEAT = (
    "Each scenario trains one small model on one data set, a few times with different "
    "seeds (or folds). The numbers show what happened in these runs; a difference smaller "
    "than the spread between seeds is not evidence that one loss is better, and none of "
    "it is a general ranking of the losses."
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
                "code": candidate.code(),
                "summary": {
                    m.key: _summary(result.values(candidate.label, m.key)) for m in scenario.metrics
                },
                "runs": runs,
            }
        )
    best = ranking(result, primary)
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
        "findings": scenario_findings(result),
        "seconds": round(result.seconds, 2),
    }


def lab_numbers(lab: LabResult) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data."""
    return {
        "losskit_version": losskit.__version__,
        "mode": "quick" if lab.quick else "full",
        "threads": lab.threads,
        "jobs": lab.jobs,
        "seconds": round(lab.seconds, 2),
        "settings": lab.settings,
        "caveat": CAVEAT,
        "scenarios": [scenario_numbers(s) for s in lab.scenarios],
    }


# ---------------------------------------------------------------------- terminal


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
                best["label"] if best else "-",
                _fmt(by_label[best["label"]]["summary"][metric["key"]], metric["digits"])
                if best
                else "-",
                s["baseline"],
                _fmt(baseline["summary"][metric["key"]], metric["digits"]),
                f"{len(s['repeats'])} {s['repeat_name']}s",
            ]
        )
    return rows


SUMMARY_HEADER = [
    "scenario",
    "metric",
    "best loss",
    "mean ± spread",
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
            metric = Metric(**m)
            bold.add((max(means, key=lambda v: metric.goodness(v[1]))[0], j + 2))
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
        f"<h3>What the numbers show</h3><ul>{findings}</ul>"
        f'<h3>Held-out metrics</h3><p class="meta">Mean ± spread (sample standard deviation) over '
        f"{len(s['repeats'])} {_e(s['repeat_name'])}s; below, the value of each {_e(s['repeat_name'])}; "
        f"the best mean of each column in bold. Baseline: {_e(s['baseline'])}. "
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
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>losskit lab report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>losskit lab report</h1>"
        f'<p class="meta">losskit {_e(numbers["losskit_version"])} · {_e(numbers["mode"])} mode · '
        f"{numbers['jobs']} process(es) × {numbers['threads']} PyTorch thread(s) · "
        f"{math.ceil(minutes * 10) / 10:.1f} min"
        + (f" · {_e(settings)}" if settings else "")
        + "</p>"
        "<p>The same small model is trained with each candidate loss on the same data, from "
        "the same initial weights, and measured on held-out data with metrics that do not "
        "depend on the loss. The text under each scenario is generated from the numbers.</p>"
        f'<p class="caveat">{_e(CAVEAT)}</p>'
        f"<h2>Best loss per scenario</h2>{summary}<p>{toc}</p>"
        + "".join(sections)
        + "</body></html>\n"
    )
