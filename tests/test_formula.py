"""The LaTeX-to-text renderer behind ``losskit explain``'s formulas."""

from __future__ import annotations

import pytest

from losskit.core.registry import available, get_loss
from losskit.guide.formula import formula_lines, formula_notes, inline_text, wrap_formula


@pytest.mark.parametrize("name", available())
def test_every_registered_formula_renders_as_text(name):
    lines = formula_lines(get_loss(name).formula)
    assert lines and all(line.strip() for line in lines)
    text = "\n".join(lines)
    assert "\\" not in text  # no LaTeX command left
    assert "frac" not in text and "mathrm" not in text and "begin" not in text
    for opening, closing in ("()", "[]"):
        assert text.count(opening) == text.count(closing), text


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        (r"\ell_i = (\hat y_i - y_i)^2", ["ℓ_i = (ŷ_i - y_i)²"]),
        (r"\ell_i = |\hat y_i - y_i|", ["ℓ_i = |ŷ_i - y_i|"]),
        # fractions: parenthesised where juxtaposed, ½ for a half
        (r"1 - \frac{2 I_{bc} + s}{P_{bc} + s}", ["1 - (2 I_bc + s) / (P_bc + s)"]),
        (r"\frac{s}{C}\sum_c w_c", ["(s/C) Σ_c w_c"]),
        (r"\arctan\frac{w}{h}", ["arctan(w/h)"]),
        (r"\tfrac12 (r - 1)^2", ["½ (r - 1)²"]),
        # sub- and superscripts, accents, named functions, text
        (r"J_{k-1} + x^{\gamma} + e^{\hat y}", ["J_(k-1) + x^γ + e^ŷ"]),
        (r"\ell^{\mathrm{non\_saturating}}", ["ℓ^non_saturating"]),
        (r"\log\sigma(r) + \operatorname{softplus}(-g)", ["log σ(r) + softplus(-g)"]),
        (r"\alpha v", ["α v"]),
        (r"y \in \{-1, 1\}", ["y ∈ {-1, 1}"]),
        # clauses on their own lines
        (r"\ell = a,\qquad a = b", ["ℓ = a,", "a = b"]),
        # cases: one line per case, aligned
        (
            r"\ell = \begin{cases} a & x \le 1 \\ bb & \text{otherwise} \end{cases}",
            ["ℓ = { a    if x ≤ 1", "    { bb   otherwise"],
        ),
        # aligned rows: the left sides right-aligned on the &
        (r"a &= 1 \\ bcd &= 2", ["  a = 1", "bcd = 2"]),
    ],
)
def test_renders_the_subset_our_formulas_use(latex, expected):
    assert formula_lines(latex) == expected


def test_unknown_commands_lose_their_backslash_rather_than_fail():
    assert formula_lines(r"\foo(x) = \bar{x}") == ["foo(x) = x̄"]


def test_wrap_breaks_after_commas_or_before_operators_never_inside_a_word():
    line = "ℓ = (1 - s) w_(y_i) log p_(i y_i) - (s/C) Σ_c w_c log p_ic, v = a + b"
    wrapped = wrap_formula(line, 40)
    assert all(len(part) <= 40 for part in wrapped)
    assert " ".join(" ".join(wrapped).split()) == line
    assert all(not part.rstrip().endswith((" -", " +", " =")) for part in wrapped)
    assert all(part.startswith("    ") for part in wrapped[1:])  # under the right side of "="


def test_notes_and_inline_math_from_the_docstring():
    notes = formula_notes(get_loss("binary_cross_entropy").fn.__doc__)
    assert notes.startswith("with p = σ(ŷ) for logits") and "label_smoothing" in notes
    assert formula_notes(get_loss("mse").fn.__doc__) == ""
    assert inline_text(":class:`~losskit.LossInfo` and ``x``") == "LossInfo and x"
