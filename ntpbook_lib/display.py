"""What a chapter shows besides figures: numbers for its prose and tables of results.

Numbers that a chapter's sentences quote are computed, never typed: a cell calls :func:`glue` and the prose
refers to the value by name with MyST-NB's ``{glue:text}`name:.3f``` role.  In the rendered book the role is
replaced by the number; on Colab (no MyST-NB) :func:`glue` prints ``name = value`` under the cell, and the
chapter's notebook names the value in its text.  Tables are pandas ``DataFrame`` objects, which render as
HTML tables both in the book and on Colab.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["glue", "table", "Table", "build_environment"]


def glue(name: str, value: Any) -> None:
    """Make ``value`` available to the chapter's prose under ``name`` (MyST-NB glue; printed when MyST-NB is absent)."""
    if not isinstance(name, str):
        raise TypeError(f"glue name must be a str, got {type(name).__name__}")
    if not name.isidentifier():
        raise ValueError(f"glue name must be an identifier, got {name!r}")
    if isinstance(value, np.generic):
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # Colab and plain Jupyter: show the value where the prose names it
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"{name} = {shown}")
        return
    myst_glue(name, value, display=False)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_MATH = re.compile(r"\$(?P<tex>[^$]+)\$")


def _column_format(values: Sequence[float], digits: int) -> Callable[[float], str]:
    """One format for a whole column: fixed decimals when the magnitudes allow (the smallest entry to
    ``digits`` significant digits, all with as many decimals), else scientific ``m×10ᵉ`` with the same mantissa digits; integers as integers."""
    finite = np.array([v for v in values if np.isfinite(v)], dtype=float)
    nonzero = np.abs(finite[finite != 0])
    if finite.size and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 1e15):
        return lambda x: f"{int(round(x)):d}"
    if nonzero.size == 0:
        return lambda x: f"{x:.{max(digits - 1, 0)}f}" if x != 0 else "0"
    big, small = float(nonzero.max()), float(nonzero.min())
    if 1e-3 <= small and big < 1e5 and big / small < 1e4:
        decimals = max(digits - 1 - int(np.floor(np.log10(small))), 0)  # the smallest to `digits` digits
        return lambda x: f"{x:.{decimals}f}"

    def sci(x: float) -> str:
        if x == 0:
            return "0"
        mantissa, exponent = f"{x:.{max(digits - 1, 0)}e}".split("e")
        return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return sci


def _cell(x: Any, fmt: Callable[[float], str] | None) -> Any:
    if isinstance(x, (float, np.floating)):
        if np.isnan(x):
            return "–"  # a missing entry shows as a dash
        if np.isinf(x):
            return "∞" if x > 0 else "−∞"
        text = fmt(float(x)) if fmt is not None else f"{x:.4g}"
        return text.replace("-", "−") if text.startswith("-") else text
    return x


def _html_text(x: Any) -> str:
    """A cell's HTML: ``$…$`` becomes MathJax inline math, everything else is escaped."""
    text, out, last = str(x), [], 0
    for m in _MATH.finditer(text):
        out += [html.escape(text[last:m.start()]), f'<span class="math notranslate nohighlight">\\({html.escape(m["tex"])}\\)</span>']
        last = m.end()
    return "".join(out) + html.escape(text[last:])


_NUMBER = re.compile(r"^[−\-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:×10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?$|^[–∞]$|^−∞$")


def _td(x: Any) -> str:
    """A body cell; numbers get the class ``num`` (set right-aligned and never wrapped, book/_static)."""
    cls = ' class="num"' if _NUMBER.match(str(x)) or isinstance(x, (int, np.integer)) else ""
    return f"<td{cls}>{_html_text(x)}</td>"


class Table(pd.DataFrame):
    """A results table: a DataFrame whose HTML has one header row (the row label's name in its first cell),
    no 0..n index, ``$…$`` in headers and labels typeset as math, and numbers that never wrap."""

    @property
    def _constructor(self):
        return Table

    def _repr_html_(self) -> str:
        if isinstance(self.index, pd.RangeIndex) and self.index.name is None:  # no row labels: no index column
            head = "".join(f'<th scope="col">{_html_text(c)}</th>' for c in self.columns)
            rows = "".join("<tr>" + "".join(_td(v) for v in row) + "</tr>"
                           for row in self.itertuples(index=False, name=None))
            return f'<table class="dataframe ntpbook-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        levels = self.index.nlevels
        names = [n for n in (self.index.names or [])]
        corner = [n if n is not None else (self.columns.name if i == 0 and self.columns.name is not None else "")
                  for i, n in enumerate(names)] if levels > 1 or names[0] is not None or self.columns.name is not None \
            else [""]
        head = "".join(f'<th scope="col">{_html_text(c)}</th>' for c in corner)
        head += "".join(f'<th scope="col">{_html_text(c)}</th>' for c in self.columns)
        rows = []
        for key, row in zip(self.index, self.itertuples(index=False, name=None)):
            keys = key if isinstance(key, tuple) else (key,)
            cells = "".join(f'<th scope="row">{_html_text(k)}</th>' for k in keys)
            cells += "".join(_td(v) for v in row)
            rows.append(f"<tr>{cells}</tr>")
        return (f'<table class="dataframe ntpbook-table"><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table>')

    def _repr_latex_(self) -> str:
        """The same table for the book's PDF: one header row, row labels (if any) in the first columns."""
        plain = isinstance(self.index, pd.RangeIndex) and self.index.name is None
        labels = [] if plain else [n if n is not None else "" for n in self.index.names]
        head = [*labels, *map(str, self.columns)]
        lines = [r"\begin{tabular}{" + "l" * len(labels) + "r" * len(self.columns) + "}", r"\hline",
                 " & ".join(rf"\textbf{{{_latex_text(h)}}}" for h in head) + r" \\ \hline"]
        for key, row in zip(self.index, self.itertuples(index=False, name=None)):
            keys = [] if plain else list(key if isinstance(key, tuple) else (key,))
            lines.append(" & ".join(_latex_text(v) for v in (*keys, *row)) + r" \\")
        lines += [r"\hline", r"\end{tabular}"]
        return "\n".join(lines)


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "\\": r"\textbackslash{}", "$": r"\$"}
_SCI = re.compile(r"^([−\-+]?[\d.]+)×10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)$")
_FROM_SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def _latex_text(x: Any) -> str:
    """A cell's LaTeX for the book's PDF: ``$…$`` kept as math, ``m×10ᵉ`` as ``$m\times 10^{e}$``, the rest escaped."""
    text = str(x)
    sci = _SCI.match(text)
    if sci:
        return f"${sci[1].replace('−', '-')}\\times 10^{{{sci[2].translate(_FROM_SUPERSCRIPT)}}}$"
    out, last = [], 0
    for m in _MATH.finditer(text):
        out += ["".join(_LATEX_SPECIAL.get(c, c) for c in text[last:m.start()]), f"${m['tex']}$"]
        last = m.end()
    return "".join(out) + "".join(_LATEX_SPECIAL.get(c, c) for c in text[last:])


def table(rows: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]], index: str | None = None,
          digits: int | Mapping[str, int] = 4) -> Table:
    """A table of results, one row per mapping (or one column per key), its rows labelled by the column
    ``index`` (none by default: no 0..n column is shown); each float column in one format to ``digits`` significant digits (an int, or
    one per column name); missing entries as –; ``$…$`` in names and labels is typeset as math.

    Columns and cells may be Python values, NumPy arrays, pandas objects or torch tensors (read as NumPy, their
    types kept: booleans show as True/False); masked arrays and complex numbers are refused."""
    from .validation import check_display_values, check_int

    per_column = dict(digits) if isinstance(digits, Mapping) else {}
    default = 4 if isinstance(digits, Mapping) else digits
    default = check_int(default, "digits", minimum=1, maximum=17)  # float64 holds 17 significant digits
    for name, d in per_column.items():
        check_int(d, f"digits[{name!r}]", minimum=1, maximum=17)
    if index is not None and not isinstance(index, str):
        raise TypeError(f"index must be a column name (str) or None, got {type(index).__name__}")
    if isinstance(rows, Mapping):
        rows = {k: check_display_values(v, f"rows[{k!r}]") for k, v in rows.items()}
    elif isinstance(rows, Sequence) and not isinstance(rows, (str, bytes)):
        rows = [{k: check_display_values(v, f"rows[{i}][{k!r}]") for k, v in r.items()}
                if isinstance(r, Mapping) else r for i, r in enumerate(rows)]
    df = pd.DataFrame(rows)
    if df.empty:
        raise ValueError("rows is empty: a table needs at least one row")
    if index is not None and index not in df.columns:
        raise ValueError(f"index column {index!r} is not among the columns {list(df.columns)}")
    unknown = set(per_column) - set(df.columns)
    if unknown:
        raise ValueError(f"digits names columns that the table does not have: {sorted(map(str, unknown))}")

    def formatted(column: pd.Series) -> pd.Series:
        floats = [float(x) for x in column if isinstance(x, (float, np.floating))]
        fmt = _column_format(floats, per_column.get(column.name, default)) if floats else None
        return column.map(lambda x: _cell(x, fmt)).astype(object)

    df = pd.DataFrame({c: formatted(df[c]) for c in df.columns}, columns=df.columns)
    return Table(df.set_index(index) if index is not None else df)


def build_environment() -> pd.DataFrame:
    """The library, Python and package versions, and the machine, that a chapter is run with."""
    import importlib.metadata as metadata
    import os
    import platform

    from . import __version__

    rows = [("ntpbook_lib", __version__), ("Python", platform.python_version())]
    for package in ("numpy", "scipy", "torch", "matplotlib", "seaborn", "pandas", "jupyter-book", "myst-nb"):
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    rows.append(("machine", f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores"))
    return pd.DataFrame(rows, columns=["component", "version"]).set_index("component")
