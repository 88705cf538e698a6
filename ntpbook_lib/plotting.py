"""One figure style for the whole book, and the heatmap and curve helpers every chapter uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

__all__ = ["set_style", "heatmap", "curves", "subplots"]


def set_style() -> None:
    """The book's figure style: white backgrounds (readable in dark themes), a colour-blind palette; tables
    show their text cells whole."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    pd.set_option("display.max_colwidth", None)
    mpl.rcParams.update({
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "figure.dpi": 100,
        "axes.titlesize": "medium",
        "figure.constrained_layout.use": True,
    })


def subplots(nrows: int = 1, ncols: int = 1, width: float = 4.0, height: float = 3.2, **kw):
    """``plt.subplots`` sized per panel."""
    from .validation import check_int, check_real

    nrows, ncols = check_int(nrows, "nrows", minimum=1, maximum=100), check_int(ncols, "ncols", minimum=1, maximum=100)
    width = check_real(width, "width", positive=True, below=1000.0)  # inches per panel
    height = check_real(height, "height", positive=True, below=1000.0)
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)


def heatmap(ax: mpl.axes.Axes, M: np.ndarray, title: str = "", *, xlabel: str = "", ylabel: str = "",
            center: float | None = None, cmap: str | None = None, cbar: bool = True,
            vmin: float | None = None, vmax: float | None = None,
            xticklabels: Sequence[str] | None = None, yticklabels: Sequence[str] | None = None) -> mpl.image.AxesImage:
    """A matrix as a heatmap; diverging colours symmetric around ``center`` when given (logits, cosines)."""
    from .validation import check_array

    M = check_array(M, "M", ndim=2, finite=False)  # nan cells are drawn blank
    if center is not None and vmin is None and vmax is None:
        r = float(np.nanmax(np.abs(M - center))) or 1.0
        vmin, vmax = center - r, center + r
    if cmap is None:
        cmap = "RdBu_r" if center is not None else "viridis"
    im = ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    for labels, setter, n in ((xticklabels, ax.set_xticks, M.shape[1]), (yticklabels, ax.set_yticks, M.shape[0])):
        if labels is not None:
            setter(np.arange(n), labels)
    if cbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.85)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    return im


def curves(ax: mpl.axes.Axes, x: np.ndarray, ys: Mapping[str, np.ndarray], title: str = "", *,
           xlabel: str = "", ylabel: str = "", logx: bool = False, logy: bool = False,
           styles: Mapping[str, str] | None = None) -> mpl.axes.Axes:
    """Several labelled curves against one x; log axes on request."""
    for label, y in ys.items():
        ax.plot(x, y, (styles or {}).get(label, "-"), label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(ys) > 1:
        ax.legend(fontsize="small")
    return ax
