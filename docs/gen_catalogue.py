"""MkDocs hook: the pages generated from losskit's metadata, at build time.

Nothing here is written to disk: the pages are added to the build as generated files,
so they always match the installed code and never need committing.

- ``losses/index.md`` and ``losses/<name>.md``: one reference page per registered loss,
  from its :class:`~losskit.core.registry.LossInfo` (formula, explanation, options,
  sensitivities, input forms, references, generated code) plus its docstring through
  mkdocstrings;
- ``choosing.md``: "Which loss should I use?", the advisor's answers to common problems;
- ``cli.md``: the ``losskit`` command's help, from its argument parser;
- ``migration.md``: each peer library's call and losskit's equivalent
  (:mod:`losskit.guide.migration`, checked by ``tests/test_migration.py``);
- ``javascripts/mathjax/``: MathJax, copied from the ``django-static-mathjax`` package
  so that the site renders its math offline.

The navigation gets a "Loss catalogue" section (grouped by task) and the hand-written
guides that exist (``conventions.md``, ``keras.md``, ``jax.md``).
"""

from __future__ import annotations

import argparse
import importlib.resources
import inspect
import io
import os
from contextlib import redirect_stdout
from typing import Any

from mkdocs.structure.files import File, Files

from losskit.core.registry import TASKS, available, get_loss
from losskit.guide.advisor import recommend
from losskit.guide.catalogue import code_examples
from losskit.guide.entries import guide_entry
from losskit.guide.examples import FRAMEWORKS, WIDTH, adapter_defaults
from losskit.guide.migration import PEERS, TRANSLATIONS

# the Keras classes' signatures are read from the classes: Keras needs a backend that
# losskit supports (TensorFlow tensors do not implement the array API)
os.environ.setdefault("KERAS_BACKEND", "torch")

#: Hand-written guides by other parts of the project, listed when they exist.
#: The problems the "Which loss should I use?" page answers, as recommend() arguments.
SCENARIOS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Regression, clean targets", {"task": "regression"}),
    ("Regression with outliers", {"task": "regression", "outliers": True}),
    ("Regression with prediction intervals", {"task": "regression", "intervals": True}),
    ("Binary classification", {"task": "binary"}),
    ("Binary classification, rare positives (1:50)", {"task": "binary", "imbalance": "1:50"}),
    ("Multi-label classification", {"task": "multi-label"}),
    ("Multi-class, integer labels", {"task": "multi-class"}),
    ("Multi-class, one-hot or soft targets", {"task": "multi-class", "labels": "soft"}),
    (
        "Multi-class, imbalanced classes (5000:300:40)",
        {"task": "multi-class", "imbalance": "5000:300:40"},
    ),
    ("Multi-class with noisy labels", {"task": "multi-class", "outliers": True}),
    ("Segmentation, binary masks", {"task": "segmentation"}),
    (
        "Segmentation, small foreground (1:100)",
        {"task": "segmentation", "imbalance": "1:100"},
    ),
    (
        "Segmentation, multi-class, boundaries matter",
        {"task": "segmentation", "labels": "integer", "overlap": True},
    ),
    ("Object detection: boxes", {"task": "detection"}),
    ("GAN training", {"task": "generative"}),
    ("Embeddings from paired views (CLIP, SimCLR)", {"task": "embedding"}),
    ("Embeddings from class labels", {"task": "embedding", "labels": "classes"}),
    ("Knowledge distillation: a teacher's logits", {"task": "distillation"}),
    ("Distilling a language model, token by token", {"task": "distillation", "labels": "tokens"}),
)

_FRAMEWORK_TITLES = {"numpy": "NumPy", "pytorch": "PyTorch", "jax": "JAX", "keras": "Keras"}


def _title(name: str) -> str:
    return name.replace("_", " ")


def _code_tabs(examples: dict[str, str]) -> str:
    """Material content tabs, one per framework."""
    parts = []
    for framework in FRAMEWORKS:
        code = examples[framework].replace("\n", "\n    ")
        parts.append(
            f'=== "{_FRAMEWORK_TITLES[framework]}"\n\n    ```python\n    {code}\n    ```\n'
        )
    return "\n".join(parts)


def _default(value: Any, function_default: Any) -> str:
    same = value is function_default or (
        type(value) is type(function_default) and value == function_default
    )
    return f"`{value!r}`" if same else f"**`{value!r}`**"


def _signature(prefix: str, signature: inspect.Signature) -> str:
    """``prefix(params)`` without annotations, one parameter per line if too long."""
    parts = []
    star = False
    for p in signature.parameters.values():
        if p.kind == p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        parts.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    one_line = f"{prefix}({', '.join(parts)})"
    if len(one_line) <= WIDTH:
        return one_line
    return prefix + "(\n" + "".join(f"    {part},\n" for part in parts) + ")"


def _signatures(name: str) -> list[str]:
    """The function, the PyTorch module and the Keras class, with their real signatures
    (read from the objects themselves)."""
    from losskit.keras import loss_class
    from losskit.torch.modules import class_name, module_for

    info = get_loss(name)
    module, keras_class = module_for(name), loss_class(name)
    forward = ", ".join(("input", *info.arrays[1:], "weights=None"))
    return [
        '=== "Function"',
        "",
        "    ```python",
        *("    " + line for line in _signature(f"losskit.{name}", info.signature).splitlines()),
        "    ```",
        "",
        '=== "PyTorch module"',
        "",
        "    ```python",
        *(
            "    " + line
            for line in _signature(
                f"losskit.torch.{class_name(name)}", inspect.signature(module)
            ).splitlines()
        ),
        f"    # forward({forward})",
        "    ```",
        "",
        '=== "Keras class"',
        "",
        "    ```python",
        *(
            "    " + line
            for line in _signature(
                f"losskit.keras.{class_name(name)}", inspect.signature(keras_class)
            ).splitlines()
        ),
        "    # __call__(y_true, y_pred, sample_weight=None)",
        "    ```",
    ]


def migration_page() -> str:
    """Each peer's call and losskit's equivalent, as tested by tests/test_migration.py."""
    lines = [
        "# Coming from another library",
        "",
        "Each row gives another library's call and the losskit call that computes the "
        "same number on the same inputs; `tests/test_migration.py` runs both sides of "
        "every row and compares them (a row is checked when its library is installed). "
        "The PyTorch modules take logits and classes on dim 1, as `torch.nn` does; the "
        "functions and the Keras classes take probabilities and classes last, as Keras "
        "does (see the [API reference](api.md#the-defaults-of-the-three-forms-of-a-loss)).",
        "",
    ]
    for peer, (_, title) in PEERS.items():
        rows = [t for t in TRANSLATIONS if t.peer == peer]
        lines += [f"## {title}", "", "| theirs | losskit | note |", "|---|---|---|"]
        lines += [f"| `{_cell(t.theirs)}` | `{_cell(t.ours)}` | {_cell(t.note)} |" for t in rows]
        lines.append("")
    return "\n".join(lines)


def _mathjax() -> bytes:
    """MathJax's single-file TeX-to-SVG build (every extension, no web fonts)."""
    try:
        root = importlib.resources.files("mathjax") / "static" / "mathjax"
        return (root / "es5" / "tex-svg-full.js").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise RuntimeError(
            "the docs bundle MathJax from the django-static-mathjax package: "
            "pip install 'losskit[docs]'"
        ) from error


def _mathjax_license() -> bytes:
    return (importlib.resources.files("mathjax") / "static" / "mathjax" / "LICENSE").read_bytes()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def loss_page(name: str) -> str:
    """The reference page of one loss."""
    info = get_loss(name)
    guide = guide_entry(name)
    # a formula of several aligned lines (``&=`` and ``\\``) needs an aligned block
    formula = (
        f"\\begin{{aligned}}{info.formula}\\end{{aligned}}" if "&" in info.formula else info.formula
    )
    lines = [
        f"# {name}",
        "",
        f"*{info.summary}*",
        "",
        f"**Tasks:** {', '.join(info.tasks)} · **Arrays:** `{', '.join(info.arrays)}`",
        "",
        "$$",
        formula,
        "$$",
        "",
        "## What it does",
        "",
        guide.explanation,
        "",
        "## Inputs",
        "",
        *[f"- {form}" for form in guide.input_forms],
        "",
        "## Options",
        "",
    ]
    if info.options:
        torch_defaults = adapter_defaults(info, "pytorch")
        keras_defaults = adapter_defaults(info, "keras")
        lines += [
            "| option | function | PyTorch module | Keras class | accepts | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for option, default in info.options.items():
            declared = info.declared_options[option]
            lines.append(
                f"| `{option}` | `{default!r}` | {_default(torch_defaults[option], default)} | "
                f"{_default(keras_defaults[option], default)} | {_cell(declared.describe())} | "
                f"{_cell(declared.doc)} |"
            )
        lines.append("")
        lines.append(
            "Every loss also takes `reduction` and `weights` (the module: `reduction` when "
            "built and `forward(..., weights=)`; Keras: its own `reduction` and "
            "`sample_weight`). Bold: a default that differs from the function's, by the "
            "[rule for the adapters' defaults](../api.md#the-defaults-of-the-three-forms-of-a-loss)."
        )
    else:
        lines.append("None besides `reduction` and `weights`, which every loss takes.")
    lines += ["", "## Signatures", "", *_signatures(name), ""]
    lines += [
        "",
        "## When to use it",
        "",
        "Good for:",
        "",
        *[f"- {item}" for item in guide.good_for],
        "",
        "Not good for:",
        "",
        *[f"- {item}" for item in guide.not_good_for],
        "",
        "| sensitivity | |",
        "|---|---|",
        f"| outliers | {_cell(guide.outlier_sensitivity)} |",
        f"| class imbalance | {_cell(guide.imbalance_sensitivity)} |",
        "",
        "## Example",
        "",
        _code_tabs(code_examples(name)),
        "",
        "## References",
        "",
        *[f"- {ref}" for ref in guide.references],
        "",
    ]
    if info.builtin:
        module = info.generic.__module__
        lines += [
            "## API",
            "",
            f"::: {module}.{name}",
            "    options:",
            "      show_root_heading: false",
            "      show_source: false",
            "",
        ]
    return "\n".join(lines)


def catalogue_index() -> str:
    lines = [
        "# Loss catalogue",
        "",
        "Every loss registered in losskit, generated from the metadata kept beside each "
        "function. The same entries drive `losskit explain NAME` and the advisor.",
        "",
    ]
    for task in TASKS:
        names = available(task)
        if not names:
            continue
        lines += [f"## {task}", "", "| loss | summary |", "|---|---|"]
        lines += [f"| [{n}]({n}.md) | {_cell(get_loss(n).summary)} |" for n in names]
        lines.append("")
    return "\n".join(lines)


def choosing_page() -> str:
    lines = [
        "# Which loss should I use?",
        "",
        "The answers below come from `losskit.recommend(...)`, the same advisor as "
        "`losskit recommend` on the command line; each answer ranks the losses, says why, "
        "and gives the options to set and the code. Describe your own problem with:",
        "",
        "```python",
        "import losskit",
        "",
        'for rec in losskit.recommend("binary", imbalance="1:50"):',
        "    print(rec.rank, rec.loss, rec.options)",
        "    print(rec.reason)",
        '    print(rec.code["pytorch"])',
        "```",
        "",
        "or `losskit recommend --task binary --imbalance 1:50 --framework pytorch`.",
        "",
    ]
    for title, kwargs in SCENARIOS:
        recs = recommend(**kwargs)
        if not recs:
            continue
        call = ", ".join(
            [repr(kwargs["task"])] + [f"{k}={v!r}" for k, v in kwargs.items() if k != "task"]
        )
        lines += [f"## {title}", "", f"`losskit.recommend({call})`", ""]
        for rec in recs:
            options = ", ".join(f"`{k}={v!r}`" for k, v in rec.options.items())
            if len(rec.parts) == 1 and rec.loss == rec.parts[0].loss:
                title = f"**[{rec.loss}](losses/{rec.loss}.md)**"
            else:
                links = " + ".join(f"[{p.loss}](losses/{p.loss}.md)" for p in rec.parts)
                title = f"**{rec.loss}** ({links})"
            lines += [
                f"{rec.rank}. {title}{': ' + options if options else ''}",
                "",
                f"    {rec.reason}",
                "",
            ]
        best = recs[0]
        lines += ["Code for the first choice:", "", _code_tabs(dict(best.code)), ""]
    return "\n".join(lines)


def cli_page() -> str:
    from losskit.cli import SUBCOMMANDS, build_parser

    parser = build_parser()
    lines = [
        "# The `losskit` command",
        "",
        "Installed with the package (`pip install 'losskit[cli]'` adds rich tables, "
        "matplotlib for `plot` and pyarrow for Parquet files). Every subcommand takes "
        "`--json` for machine-readable output; bad input exits with status 2 and a "
        "message naming the problem. Loss names work in any case and with the common "
        "aliases (`bce`, `l1`, `dice_loss`; `giou` is `box_iou` with `variant='giou'`), "
        "tasks in any spelling (`multiclass` is `multi-class`), and a misspelt name gets "
        "a suggestion. `python -m losskit` is the same command. A defect of losskit's is "
        "one line too, with exit status 1 (`LOSSKIT_DEBUG=1` shows its traceback). "
        "`losskit completion bash|zsh|fish` prints a tab-completion script: commands, "
        "options, their choices, tasks and loss names.",
        "",
        "```text",
        _help(parser),
        "```",
        "",
    ]
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in SUBCOMMANDS:
        lines += [f"## losskit {name}", "", "```text", _help(subparsers.choices[name]), "```", ""]
    lines += [
        "## Examples",
        "",
        "```bash",
        "losskit list --task regression",
        "losskit explain huber",
        "losskit recommend --task binary --imbalance 1:50",
        "losskit plot mse mae huber:delta=1 log_cosh --out curves.png",
        "losskit eval mse --pred p.npy --target t.npy",
        "losskit eval sparse_categorical_cross_entropy:from_logits=true \\",
        "    --pred data.npz:logits --target data.npz:labels",
        "losskit completion bash > ~/.local/share/bash-completion/completions/losskit",
        "```",
        "",
    ]
    return "\n".join(lines)


def _help(parser: argparse.ArgumentParser) -> str:
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        # a fixed width keeps the page the same on every terminal
        parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=88)
        parser.print_help()
    return buffer.getvalue().rstrip()


# ------------------------------------------------------------------ MkDocs events


def on_config(config: Any) -> Any:
    """Expand "Loss catalogue" into one page per loss, grouped by task."""
    catalogue: list[Any] = [{"Overview": "losses/index.md"}]
    for task in TASKS:
        names = available(task)
        if names:
            catalogue.append({task: [{n: f"losses/{n}.md"} for n in names]})
    config["nav"] = [
        {"Loss catalogue": catalogue}
        if isinstance(item, dict) and "Loss catalogue" in item
        else item
        for item in config["nav"]
    ]
    return config


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages to the build."""
    pages = {
        "losses/index.md": catalogue_index(),
        "choosing.md": choosing_page(),
        "cli.md": cli_page(),
        "migration.md": migration_page(),
    }
    pages.update({f"losses/{name}.md": loss_page(name) for name in available()})
    for path, content in pages.items():
        files.append(File.generated(config, path, content=content))
    files.append(File.generated(config, "javascripts/mathjax/tex-svg-full.js", content=_mathjax()))
    files.append(File.generated(config, "javascripts/mathjax/LICENSE", content=_mathjax_license()))
    return files


__all__ = ["loss_page", "migration_page", "on_config", "on_files"]
