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


# ------------------------------------------------------------------ chapter 4's figures (Z24 Figs 3, 4, 8, 9–10)
def heatmap_grid(panels: Mapping[str, np.ndarray], ncols: int = 2, *, center: float | None = 0.0,
                 vmin: float | None = None, vmax: float | None = None, cmap: str | None = None,
                 xlabel: str = "", ylabel: str = "", ticks: bool = False):
    """Matrices as heatmaps, ``ncols`` per row, each with its own colour scale; unused cells hidden (Z24 Fig. 3)."""
    from .validation import check_int

    ncols = check_int(ncols, "ncols", minimum=1, maximum=100)
    items = list(panels.items())
    if not items:
        raise ValueError("heatmap_grid needs at least one panel")
    nrows = -(-len(items) // ncols)
    fig, axes = subplots(nrows, min(ncols, len(items)))
    for ax, (title, M) in zip(axes.ravel(), items):
        heatmap(ax, M, title, center=center, vmin=vmin, vmax=vmax, cmap=cmap, xlabel=xlabel, ylabel=ylabel)
        if not ticks:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax in axes.ravel()[len(items):]:
        ax.set_visible(False)
    return fig, axes


def certificate_panels(S: np.ndarray, L_mm: np.ndarray, A: np.ndarray, title: str = ""):
    """Z24 Figs 9–10: ``S``, ``S̃``, the sign test's ``A = U Qᵀ`` (off-support entries ≥ 0 crossed) and ``L^mm``.

    Tokens and contexts are numbered from 1.  Returns ``(fig, axes, crossed)``, ``crossed`` the number of
    off-support entries where the sign test fails.
    """
    from .nuclear_svm import centered_support
    from .validation import check_array

    S = check_array(S, "S", ndim=2)
    L_mm, A = check_array(L_mm, "L_mm", ndim=2), check_array(A, "A", ndim=2)
    if L_mm.shape != S.shape or A.shape != S.shape:
        raise ValueError(f"S, L_mm and A must have one shape, got {S.shape}, {L_mm.shape}, {A.shape}")
    V, m = S.shape
    fig, axes = subplots(2, 2)
    labels = dict(xlabel="context $j$", ylabel="token $z$", xticklabels=range(1, m + 1),
                  yticklabels=range(1, V + 1))
    heatmap(axes[0, 0], S, "$S$", cmap="Greys", vmin=0, vmax=1, **labels)
    heatmap(axes[0, 1], centered_support(S), r"$\tilde S$", center=0, **labels)
    heatmap(axes[1, 0], A, r"$A = UQ^\top$ (× : off-support $A_{vj}\geq 0$)", center=0, **labels)
    bad_v, bad_j = np.nonzero((S == 0) & (A >= 0))
    axes[1, 0].plot(bad_j, bad_v, "x", color="black", ms=7, mew=1.5)
    heatmap(axes[1, 1], L_mm, r"$L^{\rm mm}$", center=0, **labels)
    if title:
        fig.suptitle(title)
    return fig, axes, int(bad_v.size)


def ufm_training_curves(runs: Mapping[str, object], main: str, floor: float | None = None):
    """Z24 Fig. 4: excess loss of every run; norms, ``‖P_𝓕 L_k − L^in‖`` and ``sim`` of the run ``main``.

    ``runs`` maps a legend label to a ``GeometryHistory`` (``train_ufm``); ``floor`` draws a grey line.
    """
    if main not in runs:
        raise ValueError(f"main must be one of the runs {list(runs)}, got {main!r}")
    h = runs[main]
    fig, axes = subplots(2, 2)
    for (label, r), style in zip(runs.items(), ["-", "--", ":", "-."]):
        axes[0, 0].plot(r.steps, r.excess, style, label=label)
    axes[0, 0].set(xscale="log", yscale="log", xlabel="step $k$", title=r"$\mathrm{CE} - \mathcal{H}$")
    if floor is not None:
        axes[0, 0].axhline(floor, color="grey", lw=0.8)
    axes[0, 0].legend(fontsize="small")
    curves(axes[0, 1], h.steps, {r"$\|W_k\|_F$": h.norm_W, r"$\|H_k\|_F$": h.norm_H}, f"norms, {main}",
           xlabel="step $k$", logx=True)
    curves(axes[1, 0], h.steps, {"": h.dist_in}, r"$\|P_{\mathcal{F}}(L_k) - L^{\rm in}\|_F$", xlabel="step $k$",
           logx=True, logy=True)
    curves(axes[1, 1], h.steps, {"$W$, theory": h.sim_W_theory, "$H$, theory": h.sim_H_theory,
                                 "$W$, Gram proxy": h.sim_W_proxy, "$H$, Gram proxy": h.sim_H_proxy,
                                 r"$\cos(L_k, L^{\rm mm})$": h.cos_mm},
           "similarity", xlabel="step $k$", logx=True,
           styles={"$W$, Gram proxy": "--", "$H$, Gram proxy": "--"})
    axes[1, 1].set_ylim(0.5, 1.01)
    return fig, axes


def symmetric_design_curves(k: np.ndarray, panels: Sequence[tuple[str, Mapping[str, tuple[np.ndarray, np.ndarray]]]],
                            logy: Sequence[bool] = ()):
    """Z24 Fig. 8: per panel, closed forms (lines) against solver values (dots) over the support size ``k``.

    ``panels`` is a list of ``(title, {label: (closed, measured)})``; a ``measured`` of ``None`` draws only
    the closed form, dotted (a printed formula).
    """
    k = np.asarray(k)
    fig, axes = subplots(-(-len(panels) // 2), min(2, len(panels)))  # two panels to a row: legible legends
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for i, (ax, (title, series)) in enumerate(zip(axes.ravel(), panels)):
        for n, (label, (closed, measured)) in enumerate(series.items()):
            colour = f"C{n}"
            if measured is None:
                ax.plot(k, closed, ":", color="grey", label=label)
                continue
            ax.plot(k, closed, "-", color=colour, label=f"{label}: closed form")
            ax.plot(k, measured, "o", color=colour, ms=4, label=f"{label}: solver")
        ax.set(title=title, xlabel="support size $k$")
        if i < len(logy) and logy[i]:
            ax.set_yscale("log")
        ax.legend(fontsize="small")
    return fig, axes


__all__ += ["heatmap_grid", "certificate_panels", "ufm_training_curves", "symmetric_design_curves"]
