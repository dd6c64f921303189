r"""The losses' LaTeX formulas as plain text for a terminal.

A loss's formula is written once, as LaTeX in its docstring's ``.. math::`` block
(:attr:`losskit.LossInfo.formula`).  :func:`formula_lines` renders the subset of LaTeX
those formulas use as readable Unicode lines, so ``losskit explain`` needs no second,
hand-written plain-text copy:

- Greek letters and symbols as characters (``\alpha`` -> α, ``\le`` -> ≤, ``\ell`` -> ℓ),
  accents composed (``\hat y`` -> ŷ), ``\mathrm``/``\text``/``\operatorname`` as words;
- subscripts as ``x_i`` (``x_(k-1)`` when compound), superscripts as ``x²`` or ``x^γ``;
- fractions on one line, parenthesised where juxtaposition would be ambiguous:
  ``\frac{2I + s}{P + s}`` -> ``(2I + s) / (P + s)``, ``\tfrac12`` -> ``½``;
- ``\qquad`` separates clauses: each starts a new line;
- ``cases`` as one line per case, ``{ value   if condition``;
- several rows (``\\``) aligned on ``&``.

:func:`inline_text` renders the ``:math:`...``` spans of a docstring sentence.
Unknown commands lose their backslash rather than fail, so a new loss's formula always
renders; tests check that every registered formula renders without leftovers.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

__all__ = ["formula_lines", "formula_notes", "inline_text", "wrap_formula"]

_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
}
#: Commands rendered as one symbol (an operand).
_SYMBOLS = {
    **_GREEK,
    "ell": "ℓ",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "sum": "Σ",
    "prod": "Π",
    "int": "∫",
    "lVert": "‖",
    "rVert": "‖",
    "Vert": "‖",
    "lvert": "|",
    "rvert": "|",
    "dots": "…",
    "ldots": "…",
    "cdots": "⋯",
}
#: Commands rendered as a binary operator or relation, with a space either side.
_OPERATORS = {
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "in": "∈",
    "notin": "∉",
    "cdot": "·",
    "times": "×",
    "pm": "±",
    "mp": "∓",
    "to": "→",
    "mapsto": "↦",
    "propto": "∝",
    "equiv": "≡",
    "sim": "~",
    "mid": "|",
}
#: Named functions, written as words and followed by their argument.
_FUNCTIONS = frozenset(
    "log ln exp max min sup inf arg argmax argmin sin cos tan sinh cosh tanh arctan "
    "arcsin arccos det sign sgn".split()
)
#: Combining marks of accents, composed with their letter where Unicode can.
_ACCENTS = {
    "hat": "\u0302",
    "widehat": "\u0302",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "bar": "\u0304",
    "overline": "\u0304",
    "dot": "\u0307",
    "ddot": "\u0308",
    "vec": "\u20d7",
}
#: Commands whose argument is set as it is (a word, not a product of letters).
_TEXT = frozenset({"text", "mathrm", "textrm", "textit", "mathit", "mathsf", "textsf"})
#: Commands whose argument is rendered as plain math (font changes a terminal lacks).
_STYLE = frozenset({"mathbf", "boldsymbol", "bm", "mathcal", "mathbb", "mathtt", "displaystyle"})
#: Delimiter sizes: dropped, the delimiter that follows stays.
_SIZES = frozenset(
    "left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr".split()
)
_SPACES = {",": " ", ";": " ", ":": " ", " ": " ", "!": "", "quad": " ", "enspace": " "}
_SUPERSCRIPT_DIGITS = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")
_TOKEN = re.compile(r"\\[A-Za-z]+\s*|\\.|\s+|.", re.DOTALL)


@dataclasses.dataclass
class _Node:
    """One item of a formula: ``kind`` says how it is spaced against its neighbours.

    ``sym`` an operand, ``op`` a binary operator, ``punct`` a comma, ``open``/``close``
    a delimiter, ``func`` a named function, ``frac`` a fraction (parenthesised when
    juxtaposed), ``space`` a space of the source, ``break`` a clause break
    (``\\qquad``), ``align``/``row`` the ``&`` and ``\\`` of aligned rows, ``cases`` a
    ``cases`` environment (``rows`` of value and condition).
    """

    kind: str
    text: str = ""
    rows: list[tuple[list[_Node], list[_Node]]] = dataclasses.field(default_factory=list)
    #: a fraction's text when it stands alone
    plain: str = ""


class _Parser:
    def __init__(self, latex: str) -> None:
        self.tokens: list[str] = []
        for token in _TOKEN.findall(latex):
            if token.startswith("\\") and len(token) > 2 and token[-1].isspace():
                # a space after a command word still separates two operands: \alpha v
                self.tokens += [token.rstrip(), " "]
            else:
                self.tokens.append(token)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def skip_spaces(self) -> None:
        while (token := self.peek()) is not None and token.isspace():
            self.pos += 1

    def argument(self) -> list[_Node]:
        """The next argument: a ``{group}`` or a single token (a command with its own
        arguments)."""
        self.skip_spaces()
        token = self.peek()
        if token is None:
            return []
        if token == "{":
            self.take()
            return self.sequence(closer="}")
        if token.startswith("\\") and token[1:].isalpha():
            self.take()
            return self.command(token[1:])
        self.take()
        return self.single(token)

    def raw_argument(self) -> str:
        """The next ``{...}`` argument as source text, unparsed (``\\text``)."""
        self.skip_spaces()
        if self.peek() != "{":
            return self.take() if self.peek() is not None else ""
        self.take()
        depth, parts = 0, []
        while (token := self.peek()) is not None:
            self.take()
            if token == "{":
                depth += 1
            elif token == "}":
                if depth == 0:
                    break
                depth -= 1
            parts.append(token)
        text = "".join(parts)
        return re.sub(r"\\([_{}%&$# ])", r"\1", text)

    def sequence(self, closer: str | None = None, end: str | None = None) -> list[_Node]:
        """Nodes up to ``closer`` (``}``) or ``\\end{end}``, which are consumed."""
        nodes: list[_Node] = []
        while (token := self.peek()) is not None:
            if closer is not None and token == closer:
                self.take()
                break
            if end is not None and token == "\\end":
                self.take()
                self.raw_argument()
                break
            self.take()
            if token in ("^", "_"):
                self.script(nodes, token)
            elif token == "{":
                nodes.extend(self.sequence(closer="}"))
            elif token.startswith("\\") and token[1:].isalpha():
                nodes.extend(self.command(token[1:]))
            else:
                nodes.extend(self.single(token))
        return nodes

    def script(self, nodes: list[_Node], marker: str) -> None:
        argument = self.argument()
        text = _join(argument, compact=True)
        labels = all(n.kind in ("word", "space") for n in argument)
        if marker == "^" and re.fullmatch(r"[0-9+-]+", text):
            attached = text.translate(_SUPERSCRIPT_DIGITS)
        elif len(text) == 1 or labels or text.isalnum():
            attached = marker + text
        elif text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
            attached = marker + text
        else:
            attached = f"{marker}({text})"
        base = nodes[-1] if nodes and nodes[-1].kind not in ("space", "op", "punct") else None
        if base is None:
            nodes.append(_Node("sym", attached))
        else:
            base.text += attached
            base.plain = base.plain + attached if base.plain else ""

    def single(self, token: str) -> list[_Node]:
        if token.isspace() or token == "~":
            return [_Node("space")]
        if token.startswith("\\"):  # a backslash and one character
            char = token[1:]
            if char in _SPACES:
                return [_Node("space")] if _SPACES[char] else []
            if char == "\\":
                return [_Node("row")]
            if char in "{[(":
                return [_Node("open", char)]
            if char in "}])":
                return [_Node("close", char)]
            if char == "|":
                return [_Node("sym", "‖")]
            return [_Node("sym", char)]
        if token == "&":
            return [_Node("align")]
        if token in "+-=<>":
            return [_Node("op", token)]
        if token in ",;":
            return [_Node("punct", token)]
        if token in "([":
            return [_Node("open", token)]
        if token in ")]":
            return [_Node("close", token)]
        if token == "'":
            return [_Node("sym", "′")]
        return [_Node("sym", token)]

    def command(self, name: str) -> list[_Node]:
        if name in _SYMBOLS:
            return [_Node("sym", _SYMBOLS[name])]
        if name in _OPERATORS:
            return [_Node("op", _OPERATORS[name])]
        if name in _FUNCTIONS:
            return [_Node("func", name)]
        if name in _SPACES:
            return [_Node("space")]
        if name == "qquad":
            return [_Node("break")]
        if name in _SIZES:
            self.skip_spaces()
            if self.peek() == ".":  # \left. is an invisible delimiter
                self.take()
            return []
        if name in ("frac", "tfrac", "dfrac"):
            return [_fraction(self.argument(), self.argument())]
        if name == "sqrt":
            inner = _join(self.argument())
            return [_Node("sym", "√" + (inner if _is_unit(inner) else f"({inner})"))]
        if name == "operatorname":
            return [_Node("func", self.raw_argument())]
        if name in _TEXT:
            return [_Node("word", self.raw_argument())]
        if name in _STYLE:
            return self.argument()
        if name in _ACCENTS:
            inner = _join(self.argument(), compact=True)
            if len(inner) == 1:
                return [_Node("sym", unicodedata.normalize("NFC", inner + _ACCENTS[name]))]
            return [
                _Node("func", name),
                _Node("open", "("),
                _Node("sym", inner),
                _Node("close", ")"),
            ]
        if name == "begin":
            environment = self.raw_argument()
            return [self.environment(environment)]
        return [_Node("sym", name)]  # unknown: the word, without its backslash

    def environment(self, name: str) -> _Node:
        nodes = self.sequence(end=name)
        rows = [_split(row, "align") for row in _split(nodes, "row")]
        return _Node(
            "cases", rows=[(row[0], [n for cell in row[1:] for n in cell]) for row in rows if row]
        )


def _split(nodes: list[_Node], kind: str) -> list[list[_Node]]:
    parts: list[list[_Node]] = [[]]
    for node in nodes:
        if node.kind == kind:
            parts.append([])
        else:
            parts[-1].append(node)
    return parts


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _is_unit(text: str) -> bool:
    """Whether ``text`` reads as one operand: no space or operator outside brackets."""
    depth = 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and (char == " " or char in "+-=<>≤≥·×/,"):
            return False
    return True


def _fraction(numerator: list[_Node], denominator: list[_Node]) -> _Node:
    top, bottom = _join(numerator), _join(denominator)
    if (top, bottom) == ("1", "2"):
        return _Node("sym", "½")
    wrap = [t if _is_unit(t) else f"({t})" for t in (top, bottom)]
    separator = "/" if all(_is_unit(t) for t in (top, bottom)) else " / "
    text = separator.join(wrap)
    return _Node("frac", f"({text})", plain=text)


def _previous(nodes: list[_Node], index: int, step: int) -> _Node | None:
    index += step
    while 0 <= index < len(nodes):
        if nodes[index].kind != "space":
            return nodes[index]
        index += step
    return None


def _join(nodes: list[_Node], compact: bool = False) -> str:
    """The nodes of one line as text.  ``compact`` (sub- and superscripts): operators
    without spaces around them."""
    out: list[str] = []
    last: str | None = None  # kind of the last node written
    space = False  # a space of the source is pending
    for index, node in enumerate(nodes):
        kind = node.kind
        if kind == "space":
            space = last is not None
            continue
        if kind in ("align", "row", "break", "cases"):
            continue
        text = node.text
        if kind == "frac":
            before, after = _previous(nodes, index, -1), _previous(nodes, index, 1)
            juxtaposed = (
                before is not None and before.kind in ("sym", "word", "close", "frac", "func")
            ) or (after is not None and after.kind in ("sym", "word", "open", "func", "frac"))
            text = text if juxtaposed else node.plain
            if juxtaposed and last == "func":  # arctan(w/h): the parentheses are the call's
                out.append(text)
                last, space = "frac", False
                continue
            kind = "frac" if juxtaposed else "sym"
        if kind == "op":
            unary = last in (None, "open", "op", "punct")
            if compact or unary:
                out.append((" " if space and last == "punct" else "") + text)
            else:
                out.append(f" {text} ")
            last, space = "op", False
            continue
        if kind == "punct":
            out.append(text)
            last, space = "punct", not compact
            continue
        if kind == "close":
            out.append(text)
            last, space = "close", False
            continue
        gap = (
            space
            or (last == "func" and kind in ("sym", "word", "func"))
            or (last in ("sym", "word", "close") and kind == "func")
            or (last == "frac" and kind in ("sym", "word", "func"))
            or (last in ("sym", "word") and kind == "frac")
        )
        if last == "punct" or (gap and last not in (None, "open", "op")):
            out.append(" ")
        out.append(text)
        last, space = ("sym" if kind == "word" else kind), False
    return re.sub(r" {2,}", " ", "".join(out)).strip()


def _clauses(nodes: list[_Node]) -> list[str]:
    """One row's lines: a line per clause (``\\qquad``); a ``cases`` clause gives a line
    per case."""
    lines: list[str] = []
    for clause in _split(nodes, "break"):
        cases = next((i for i, n in enumerate(clause) if n.kind == "cases"), None)
        if cases is None:
            text = _join(clause)
            if text:
                lines.append(text)
            continue
        prefix = _join(clause[:cases])
        suffix = _join(clause[cases + 1 :])
        rows = [(_join(value), _join(condition)) for value, condition in clause[cases].rows]
        width = max(len(value) for value, _ in rows)
        lead = f"{prefix} " if prefix else ""
        for k, (value, condition) in enumerate(rows):
            if condition and not condition.startswith(("if ", "otherwise", "else")):
                condition = f"if {condition}"
            start = lead if k == 0 else " " * len(lead)
            line = f"{start}{{ {value.ljust(width)}   {condition}".rstrip()
            lines.append(line)
        if suffix:
            lines[-1] += suffix if suffix[0] in ",;." else f" {suffix}"
    return lines


def formula_lines(latex: str) -> list[str]:
    """``latex`` (a loss's formula) as lines of plain Unicode text.

    >>> formula_lines(r"\\ell_i = (\\hat y_i - y_i)^2")
    ['ℓ_i = (ŷ_i - y_i)²']
    >>> formula_lines(r"\\ell = 1 - \\frac{2 I + s}{P + T + s},\\qquad s \\ge 0")
    ['ℓ = 1 - (2 I + s) / (P + T + s),', 's ≥ 0']
    """
    parser = _Parser(latex)
    nodes = parser.sequence()
    rows = _split(nodes, "row")
    if not any(n.kind == "align" for n in nodes):
        return [line for row in rows for line in _clauses(row)]
    # aligned rows: the part before & right-aligned, the rest after it
    cells = [_split(row, "align") for row in rows]
    lefts = [_join(cell[0]) for cell in cells]
    width = max(len(left) for left in lefts)
    lines = []
    for left, cell in zip(lefts, cells, strict=True):
        rest = [n for part in cell[1:] for n in part]
        # the right side continues the left one: an operator at its start is binary
        right = _join([_Node("sym", "\x00"), *rest]).replace("\x00", "", 1).strip()
        lines.append(f"{left.rjust(width)} {right}".rstrip())
    return lines


#: Operators a line may break before (never right after).
_BINARY = frozenset("+ - = ≤ ≥ ≠ ≈ ∈ · × / → ±".split())


def _breaks(line: str) -> list[tuple[int, int]]:
    """(position of a space, its rank) where ``line`` may break; rank 0 is best: after a
    comma, then before ``=``, before ``+``/``-``, other spaces, spaces inside brackets."""
    found = []
    depth = 0
    for i, char in enumerate(line):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == " " and 0 < i < len(line) - 1:
            before = line[:i].rsplit(" ", 1)[-1]
            after = line[i + 1 :].split(" ", 1)[0]
            if before in _BINARY or not before:
                continue  # never right after an operator
            if depth > 0:
                rank = 4
            elif before.endswith(","):
                rank = 0
            elif after == "=":
                rank = 1
            elif after in _BINARY:
                rank = 2
            else:
                rank = 3
            found.append((i, rank))
    return found


def wrap_formula(line: str, width: int) -> list[str]:
    """``line`` broken at spaces into lines of at most ``width`` characters where it
    can (a part without a space that is longer stays whole): after a comma or before an
    operator, outside brackets if possible.  Continuation lines start under the right
    side of the first ``=``.

    >>> wrap_formula("y = a + b + c", 9)
    ['y = a + b', '    + c']
    """
    if len(line) <= width:
        return [line]
    equals = line.find(" = ")
    hang = equals + 3 if 0 <= equals <= width // 2 else len(line) - len(line.lstrip(" ")) + 4
    lines = []
    rest = line
    while len(rest) > width:
        fitting = [(i, rank) for i, rank in _breaks(rest) if i <= width and i > hang]
        if not fitting:
            fitting = [(i, rank) for i, rank in _breaks(rest) if i > hang][:1]
            if not fitting:
                break
        # the best rank among the breaks in the second half of the line, else the last
        late = [b for b in fitting if b[0] >= width // 2] or fitting
        best = min(rank for _, rank in late)
        cut = max(i for i, rank in late if rank == best)
        lines.append(rest[:cut].rstrip())
        rest = " " * hang + rest[cut + 1 :]
    lines.append(rest)
    return lines


_INLINE = re.compile(r":math:`([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj):`~?([^`]+)`")


def inline_text(text: str) -> str:
    """A docstring sentence with its ``:math:`...``` spans rendered, ````code```` and
    cross-reference roles as plain words.

    >>> inline_text(r"with :math:`p = \\sigma(\\hat y)` for ``from_logits=True``")
    'with p = σ(ŷ) for from_logits=True'
    """
    text = _INLINE.sub(lambda m: " / ".join(formula_lines(m.group(1))), text)
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return _LITERAL.sub(r"\1", text)


_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:$")


def formula_notes(doc: str | None) -> str:
    """What a docstring says around its formula, as plain text: the paragraph that
    introduces the ``.. math::`` block (one ending with a colon) and the paragraph that
    follows it, where the symbols are defined.

    >>> formula_notes("Loss.\\n\\n.. math:: x^2\\n\\nwith :math:`x` the error.\\n\\nArgs:\\n    a: b")
    'with x the error.'
    """
    if not doc:
        return ""
    paragraphs = [p for p in re.split(r"\n\s*\n", doc.strip()) if p.strip()]
    for index, paragraph in enumerate(paragraphs):
        if not paragraph.lstrip().startswith(".. math::"):
            continue
        notes = []
        before = paragraphs[index - 1] if index > 1 else ""
        if before.rstrip().endswith(":") and not _SECTION.match(before.strip()):
            notes.append(before)
        after = paragraphs[index + 1] if index + 1 < len(paragraphs) else ""
        first = after.strip().splitlines()[0] if after.strip() else ""
        if after and not _SECTION.match(first) and not after.lstrip().startswith(".. "):
            notes.append(after)
        return " ".join(inline_text(" ".join(n.split())) for n in notes)
    return ""
