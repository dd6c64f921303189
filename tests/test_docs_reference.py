"""The API reference leaves no public name out: every function of ``losskit``, every
PyTorch module and every Keras class is documented with its real signature."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

import pytest

import losskit
from losskit.core.registry import available, class_name, get_loss

DOCS = Path(__file__).resolve().parents[1] / "docs"

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("mkdocs", "torch", "keras")),
    reason="the reference is generated with mkdocs, torch and keras installed",
)


def _hook():
    spec = importlib.util.spec_from_file_location("docs_gen_catalogue", DOCS / "gen_catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _api_targets() -> set[str]:
    """Every object ``docs/api.md`` documents: ``::: path`` and the members it lists."""
    text = (DOCS / "api.md").read_text()
    targets = set(re.findall(r"^::: ([\w.]+)$", text, flags=re.MULTILINE))
    for path, members in re.findall(
        r"^::: ([\w.]+)\n    options:\n      members: \[([^\]]*)\]", text, flags=re.MULTILINE
    ):
        targets |= {f"{path}.{m.strip()}" for m in members.split(",")}
    return targets


def test_every_public_name_of_losskit_is_documented():
    targets = _api_targets()
    losses = set(available())
    for name in losskit.__all__:
        if name in losses:
            continue  # a page of its own, checked below
        assert f"losskit.{name}" in targets, f"losskit.{name} is missing from docs/api.md"


def test_the_torch_helpers_and_distributed_tools_are_documented():
    import losskit.torch
    import losskit.torch.distributed

    targets = _api_targets()
    for name in losskit.torch.__all__:
        if name not in {class_name(n) for n in available()}:
            # documented where it is defined (losskit.torch.linear_cross_entropy is also
            # the name of its module)
            defined = getattr(losskit.torch, name).__module__
            assert f"{defined}.{name}" in targets, name
    for name in losskit.torch.distributed.__all__:
        assert f"losskit.torch.distributed.{name}" in targets, name


def test_the_dataclasses_list_their_public_fields_and_methods():
    targets = _api_targets()
    public = [n for n in dir(losskit.LossInfo) if not n.startswith("_")]
    for name in public:
        assert f"losskit.LossInfo.{name}" in targets, name
    from losskit.core import options

    for name in options.__all__:
        if name not in ("OptionKind",):  # a type alias, described in Option's docstring
            assert f"losskit.core.options.{name}" in targets, name


@pytest.mark.parametrize("name", available())
def test_every_loss_page_shows_the_three_signatures_and_every_option(name):
    from losskit.keras import loss_class
    from losskit.torch.modules import module_for

    page = _hook().loss_page(name)
    info = get_loss(name)
    cls = class_name(name)
    # the signatures as the objects report them, defaults included
    module_defaults = inspect.signature(module_for(name)).parameters
    keras_defaults = inspect.signature(loss_class(name)).parameters
    for prefix, parameters in (
        (f"losskit.{name}(", info.signature.parameters),
        (f"losskit.torch.{cls}(", module_defaults),
        (f"losskit.keras.{cls}(", keras_defaults),
    ):
        assert prefix in page, prefix
        block = page.split(prefix, 1)[1].split("```", 1)[0]
        for parameter in parameters.values():
            shown = (
                parameter.name
                if parameter.default is parameter.empty
                else f"{parameter.name}={parameter.default!r}"
            )
            assert shown in block, (prefix, shown)
    for option in info.options:
        assert f"| `{option}` |" in page
        assert info.declared_options[option].describe() in page.replace("\\|", "|")
    # the module's class axis default differs from the function's: the table shows both
    if info.class_axis and info.options[info.class_axis] == -1:
        assert f"| `{info.class_axis}` | `-1` | **`1`** | `-1` |" in page
    assert ":class:" not in page and ":func:" not in page
