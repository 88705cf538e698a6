"""What a chapter shows besides figures: numbers for its prose and tables of results.

Numbers that a chapter's sentences quote are computed, never typed: a cell calls :func:`glue` and the prose
refers to the value by name with MyST-NB's ``{glue:text}`name:.3f``` role.  In the rendered book the role is
replaced by the number; on Colab (no MyST-NB) :func:`glue` prints ``name = value`` under the cell, and the
chapter's notebook names the value in its text.  Tables are pandas ``DataFrame`` objects, which render as
HTML tables both in the book and on Colab.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["glue", "table", "build_environment"]


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


def table(rows: Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]], index: str | None = None,
          digits: int = 4) -> pd.DataFrame:
    """A table of results, one row per mapping (or one column per key); floats to ``digits`` significant digits, missing as –."""
    from .validation import check_int

    digits = check_int(digits, "digits", minimum=1, maximum=17)  # float64 holds 17 significant digits
    if index is not None and not isinstance(index, str):
        raise TypeError(f"index must be a column name (str) or None, got {type(index).__name__}")
    df = pd.DataFrame(rows)
    if df.empty:
        raise ValueError("a table needs at least one row")
    if index is not None:
        if index not in df.columns:
            raise ValueError(f"index column {index!r} is not among the columns {list(df.columns)}")
        df = df.set_index(index)

    def show(x: Any) -> Any:
        if isinstance(x, (float, np.floating)):
            return "–" if np.isnan(x) else f"{x:.{digits}g}"  # a missing entry shows as a dash
        return x

    df.index = pd.Index([show(x) for x in df.index], name=df.index.name)
    return df.apply(lambda column: column.map(show))


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
