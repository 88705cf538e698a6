"""One figure style for the whole book, and the heatmap and curve helpers every chapter uses.

Figures are drawn for the book's text column (about 688 CSS px at a 1280 px window):

- every figure is :data:`FIG_WIDTH` inches wide (6.8 in) and is shown at :data:`CSS_PX_PER_INCH` (100) CSS
  pixels per inch, so 680 CSS px: one point of font size is 100/72 CSS px on the page.  The PNG is rendered at
  twice that (200 dpi, IPython's "retina" format, with the displayed width in the output's metadata) so that
  HiDPI screens get sharp figures; Colab and MyST-NB both honour the width.
- the smallest text (tick labels, legends) is 8 pt = 11 CSS px; the test of the built book fails below
  :data:`MIN_TEXT_PX` = 9 CSS px.
- at most 3 panels per row (2 for grids of heatmaps); on narrow screens (390 px phones) ``book/_static``'s CSS
  keeps each figure at its design width and lets it scroll sideways, so its text stays at >= 9 px and one
  panel (<= 1/3 of the width, 1/2 for heatmaps) fits on the screen at a time. (Stacking panels would need a
  second image per figure; scaling the figure down to 350 px would shrink 9 px text to 4.6 px.)
- colour maps: sequential ``viridis`` by default (``Blues``/``Greys``/``Oranges`` where a chapter wants a
  one-hue map for probabilities, supports, frequencies), diverging ``RdBu_r`` symmetric around ``center`` for
  signed quantities (logits, cosines, correlations); every heatmap has a colour scale (``cbar=True``, or one
  shared bar via :func:`colorbar` for panels that share ``vmin``/``vmax``).

When :func:`set_style` has run inside IPython, every figure a cell shows is rendered by :func:`_png`, which
measures the figure and writes what it found into the PNG's ``ntpbook`` text chunk (JSON: the smallest
displayed text in CSS px and which text it is, the panels per row, the heatmaps without a colour scale).
``tests/rendered.py`` reads it back from the executed notebooks of the build: a figure whose smallest text
would display below 9 px, that has more panels per row than allowed, that has a heatmap without a colour
scale, or that was not drawn with this style, fails the book's tests.

Conventions for chapters (every chapter follows them):

- call ``set_style()`` once; create figures only with :func:`subplots` (``width``/``height`` are the
  *per-panel aspect*: the figure is always scaled to :data:`FIG_WIDTH`); never set ``figsize``, ``dpi`` or
  font sizes by hand (no ``fontsize=`` arguments: the rc sizes are the smallest readable ones);
- one figure per code cell, shown with ``plt.show()``, and the cell carries MyST-NB metadata::

      ---
      mystnb:
        figure:
          name: fig-short-name
          caption: |
            What is plotted; what to see; which paper figure it reproduces and how it differs.
        image:
          alt: One sentence saying what the figure shows.
      ---

  The label ``fig-…`` is unique book-wide; prose refers to it with MyST's ``numref`` role on that label ("Figure 3.2"
  on the web and on Colab).
- heatmaps with :func:`heatmap` (a colour bar unless ``cbar=False`` *and* a shared :func:`colorbar` is drawn
  for panels with the same ``vmin``/``vmax``/``cmap``); curves with :func:`curves`; legends with
  ``ax.legend()`` at the rc size, or one legend for the figure with
  ``fig.legend(..., loc="outside lower center", ncols=...)``;
- at most 3 panels per row (2 heatmaps): a grid of many heatmaps becomes several rows or several figures;
- label axes with the papers' symbols (mathtext needs braces: ``\\mathcal{F}``, not ``\\mathcal F``);
  tokens and contexts numbered from 1 in tick labels.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

# colorbar, figure_report and the size constants are public too (import them by name); __all__ lists the
# helpers every chapter uses.
__all__ = ["set_style", "heatmap", "curves", "subplots"]

FIG_WIDTH = 6.8          # inches: every figure's width
CSS_PX_PER_INCH = 100    # displayed CSS px per inch of figure (figure.dpi); the PNG has twice as many pixels
COLUMN_PX = 688          # the text column at a 1280 px window
MIN_TEXT_PX = 9.0        # the smallest text a figure may display, in CSS px
MAX_PANELS_PER_ROW = 3
MAX_HEATMAPS_PER_ROW = 2
PNG_DPI = 2 * CSS_PX_PER_INCH
SEQUENTIAL, DIVERGING = "viridis", "RdBu_r"

_RC = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.dpi": CSS_PX_PER_INCH,
    "savefig.dpi": PNG_DPI,
    "figure.figsize": (FIG_WIDTH, 0.62 * FIG_WIDTH),
    "figure.constrained_layout.use": True,
    "font.size": 9.0,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.fontsize": 8.0,
    "legend.title_fontsize": 8.0,
    "figure.titlesize": 10.0,
    "lines.linewidth": 1.6,
    "image.cmap": SEQUENTIAL,
}


def set_style() -> None:
    """The book's figure style (sizes for the 688 px column, white backgrounds readable in dark themes, a
    colour-blind palette), and, inside IPython, figures shown as 2x PNGs that carry their own measurements."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    pd.set_option("display.max_colwidth", None)
    mpl.rcParams.update(_RC)
    _install_formatter()


def _install_formatter() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    try:  # importing the inline backend first lets it register its own formatter, which ours then replaces
        import matplotlib_inline.backend_inline as inline

        cfg = inline.InlineBackend.instance()
        cfg.figure_formats = {"png"}
        cfg.print_figure_kwargs = {"bbox_inches": None}
    except ImportError:  # pragma: no cover - every Jupyter has matplotlib-inline
        pass
    ip.display_formatter.formatters["image/png"].for_type(Figure, _png)


def _png(fig: Figure):
    """The figure as a 200-dpi PNG (base64) with its display width in the metadata and its report inside."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI, bbox_inches=None, facecolor="white",
                metadata={"ntpbook": json.dumps(figure_report(fig))})
    w, h = fig.get_size_inches() * CSS_PX_PER_INCH
    return base64.b64encode(buf.getvalue()).decode("ascii"), {"width": int(round(w)), "height": int(round(h))}


def _drawn_texts(fig: Figure) -> list[mpl.text.Text]:
    """The non-empty, visible texts that drawing ``fig`` shows (tick labels only of ticks in view)."""
    texts = []
    tick_texts = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_texts.update((id(tick.label1), id(tick.label2)))
            if not (axis.get_visible() and ax.axison and ax.get_visible()):
                continue
            for tick in axis._update_ticks():
                texts += [t for t in (tick.label1, tick.label2) if t.get_visible()]
            texts.append(axis.get_offset_text())
            tick_texts.add(id(axis.get_offset_text()))
    seen = {id(t) for t in texts}
    for t in fig.findobj(mpl.text.Text):
        if id(t) in tick_texts or id(t) in seen:
            continue
        seen.add(id(t))
        texts.append(t)

    return [t for t in texts if t.get_text().strip() and t.get_visible()
            and (t.axes is None or t.axes.get_visible())]


def _colorbars(fig: Figure) -> list:
    bars = []
    for ax in fig.axes:
        for artist in ax.images + ax.collections:
            cb = getattr(artist, "colorbar", None)
            if cb is not None and cb not in bars:
                bars.append(cb)
    return bars


def figure_report(fig: Figure) -> dict:
    """What a reader sees of ``fig`` in the column: its smallest text in CSS px, panels per row, heatmaps
    without a colour scale (the checks of the built book read this from the PNG)."""
    fig.canvas.draw()  # lay out first: tick positions and labels are final only after a draw
    width_in, height_in = (float(x) for x in fig.get_size_inches())
    shown_px = min(width_in * CSS_PX_PER_INCH, COLUMN_PX)  # CSS max-width: 100% of the column
    px_per_pt = shown_px / (width_in * 72.0)
    texts = _drawn_texts(fig)
    smallest = min(texts, key=lambda t: t.get_fontsize(), default=None)
    bars = _colorbars(fig)
    bar_axes = {id(cb.ax) for cb in bars}
    solids = {id(cb.solids) for cb in bars if getattr(cb, "solids", None) is not None}
    normed = [(cb.mappable.norm, cb.mappable.get_cmap()) for cb in bars]
    panels = [ax for ax in fig.axes if id(ax) not in bar_axes and ax.get_visible() and ax.axison]
    heatmap_axes, uncoloured = [], []
    for ax in panels:
        for artist in ax.images + [c for c in ax.collections if isinstance(c, mpl.collections.QuadMesh)]:
            if id(artist) in solids:
                continue
            heatmap_axes.append(ax)
            scaled = getattr(artist, "colorbar", None) is not None or any(
                n is artist.norm or (n.vmin == artist.norm.vmin and n.vmax == artist.norm.vmax
                                     and c.name == artist.get_cmap().name) for n, c in normed)
            if not scaled:
                uncoloured.append(ax.get_title() or f"panel {fig.axes.index(ax) + 1}")

    def per_row(axes):
        rows: dict[float, int] = {}
        for ax in axes:
            bbox = ax.get_position()
            key = round((bbox.y0 + bbox.y1) / 2, 2)
            rows[key] = rows.get(key, 0) + 1
        return max(rows.values(), default=0)

    return {
        "width_in": round(width_in, 3), "height_in": round(height_in, 3),
        "min_text_px": round(smallest.get_fontsize() * px_per_pt, 2) if smallest is not None else None,
        "min_text": smallest.get_text()[:40] if smallest is not None else None,
        "panels_per_row": per_row(panels),
        "heatmaps_per_row": per_row(list({id(a): a for a in heatmap_axes}.values())),
        "heatmaps_without_colour_scale": uncoloured,
    }


def subplots(nrows: int = 1, ncols: int = 1, width: float = 4.0, height: float = 3.2, **kw):
    """``plt.subplots`` for the column: ``width``:``height`` is one panel's aspect; the figure is always
    :data:`FIG_WIDTH` inches wide (``squeeze=False``: index panels as ``ax[row, col]``)."""
    from .validation import check_int, check_real

    nrows, ncols = check_int(nrows, "nrows", minimum=1, maximum=100), check_int(ncols, "ncols", minimum=1, maximum=100)
    width = check_real(width, "width", positive=True, below=1000.0)  # panel aspect, width part
    height = check_real(height, "height", positive=True, below=1000.0)
    if "figsize" in kw:
        raise ValueError("subplots sizes figures for the text column: pass the panel aspect (width, height), not figsize")
    scale = FIG_WIDTH / (width * ncols)
    return plt.subplots(nrows, ncols, figsize=(FIG_WIDTH, height * nrows * scale), squeeze=False, **kw)


def colorbar(fig: Figure, im: mpl.cm.ScalarMappable, axes, label: str = "", **kw):
    """One colour scale shared by the panels ``axes`` that show ``im``'s colours (same vmin, vmax, cmap)."""
    axes = np.asarray(axes).ravel().tolist()
    cb = fig.colorbar(im, ax=axes, shrink=kw.pop("shrink", 0.9), **kw)
    if label:
        cb.set_label(label)
    return cb


def heatmap(ax: mpl.axes.Axes, M: np.ndarray, title: str = "", *, xlabel: str = "", ylabel: str = "",
            center: float | None = None, cmap: str | None = None, cbar: bool = True,
            vmin: float | None = None, vmax: float | None = None,
            xticklabels: Sequence[str] | None = None, yticklabels: Sequence[str] | None = None,
            cbar_label: str = "") -> mpl.image.AxesImage:
    """A matrix as a heatmap with its colour scale; diverging colours symmetric around ``center`` when given
    (logits, cosines). ``cbar=False`` only for panels that share a :func:`colorbar`."""
    from .validation import check_array

    M = check_array(M, "M", ndim=2, finite=False)  # nan cells are drawn blank
    if center is not None and vmin is None and vmax is None:
        r = float(np.nanmax(np.abs(M - center))) or 1.0
        vmin, vmax = center - r, center + r
    if cmap is None:
        cmap = DIVERGING if center is not None else SEQUENTIAL
    im = ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    for labels, setter, n in ((xticklabels, ax.set_xticks, M.shape[1]), (yticklabels, ax.set_yticks, M.shape[0])):
        if labels is not None:
            setter(np.arange(n), labels)
    if cbar:
        cb = ax.figure.colorbar(im, ax=ax, shrink=0.9)
        if cbar_label:
            cb.set_label(cbar_label)
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
        ax.legend()
    return ax


# ------------------------------------------------------------------ chapter 4's figures (Z24 Figs 3, 4, 8, 9–10)
def heatmap_grid(panels: Mapping[str, np.ndarray], ncols: int = 2, *, center: float | None = 0.0,
                 vmin: float | None = None, vmax: float | None = None, cmap: str | None = None,
                 xlabel: str = "", ylabel: str = "", ticks: bool = False):
    """Matrices as heatmaps, ``ncols`` per row, each with its own colour scale; unused cells hidden (Z24 Fig. 3)."""
    from .validation import check_int

    ncols = check_int(ncols, "ncols", minimum=1, maximum=100)
    if not isinstance(panels, Mapping):
        raise TypeError(f"panels must map titles to matrices (a dict), got {type(panels).__name__}")
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
    axes[0, 0].legend()
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
    from .validation import check_array

    k = check_array(k, "k", ndim=1)
    if not panels:
        raise ValueError("symmetric_design_curves needs at least one panel")
    for title, series in panels:
        for label, (closed, measured) in series.items():
            for name, y in (("closed", closed), ("measured", measured)):
                if y is not None and np.shape(y) != k.shape:
                    raise ValueError(f"panel {title!r}, {label!r}: {name} has shape {np.shape(y)}, k has {k.shape}")
    fig, axes = subplots(-(-len(panels) // 2), min(2, len(panels)))  # two panels to a row: legible legends
    spare = list(axes.ravel()[len(panels):])
    for ax in spare:
        ax.axis("off")
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
        if i == 0 and spare:  # the first panel's legend in the empty cell, off the curves
            spare[0].legend(*ax.get_legend_handles_labels(), loc="center")
        else:
            ax.legend()
    return fig, axes


__all__ += ["heatmap_grid", "certificate_panels", "ufm_training_curves", "symmetric_design_curves"]


# ------------------------------------------------------------------ chapter 5's figures (Z24 Figs 5–7; Zhao & Thrampoulidis 2025)
def corr_heatmaps(panels: Mapping[str, np.ndarray], label: str, tick_every: int = 4):
    """``corr(X)`` of every matrix ``X`` in ``panels`` (cosines of its columns), two heatmaps to a row (Z24 Figs 1, 5).

    Pass ``H`` (d×m) for the context geometry ``corr(H)`` and ``Wᵀ`` (d×V) for the word geometry ``corr(Wᵀ)``;
    every panel has the colour scale −1 to 1, both axes are labelled ``label`` (a mathtext string naming the
    contexts or the tokens) and numbered from 1, every ``tick_every``-th item.  Returns ``(fig, axes)``.
    """
    from .geometry import corr
    from .validation import check_array, check_int

    if not isinstance(panels, Mapping):
        raise TypeError(f"panels must map titles to matrices (a dict), got {type(panels).__name__}")
    if not panels:
        raise ValueError("corr_heatmaps needs at least one panel")
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__}")
    tick_every = check_int(tick_every, "tick_every", minimum=1, maximum=10**6)
    mats = {title: corr(check_array(X, f"panels[{title!r}]", ndim=2)) for title, X in panels.items()}
    fig, axes = subplots(-(-len(mats) // 2), min(2, len(mats)), width=3.0, height=2.6)
    for ax, (title, C) in zip(axes.ravel(), mats.items()):
        ticks = [str(i + 1) if i % tick_every == 0 else "" for i in range(C.shape[0])]
        heatmap(ax, C, title, center=0, vmin=-1, vmax=1, xlabel=label, ylabel=label, xticklabels=ticks,
                yticklabels=ticks)
    for ax in axes.ravel()[len(mats):]:
        ax.set_visible(False)
    return fig, axes


_GEOMETRY_CURVES = [("excess", r"CE $-\ \mathcal{H}$", True),
                    ("dist_in", r"$\|P_{\mathcal{F}}(L_k) - L^{\rm in}\|_F$", True),
                    ("cos_mm", r"cos($L_k, L^{\rm mm}$)", False),
                    ("sim_H_theory", "sim corr($H$), theory", False)]


def geometry_curves(runs: Mapping[str, Sequence]):
    """Z24 Figs 6–7: ``CE − H``, ``‖P_𝓕(L_k) − L^in‖_F``, ``cos(L_k, L^mm)`` and ``sim`` of ``corr(H)`` with the
    theory against the step, 2×2 panels on log step axes.

    ``runs`` maps a model's name to its runs over seeds (``GeometryHistory`` of ``train_ufm`` or
    ``train_model``; one run or a list): one colour and line style per model, one line per seed, so the
    spread over seeds is what the reader sees.  Returns ``(fig, axes)``.
    """
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a non-empty dict: model name → run or list of runs")
    series = {name: list(r) if isinstance(r, Sequence) else [r] for name, r in runs.items()}
    for name, hs in series.items():
        if not hs or not all(hasattr(h, "steps") and all(hasattr(h, k) for k, _, _ in _GEOMETRY_CURVES) for h in hs):
            raise ValueError(f"runs[{name!r}] must be recorded runs (GeometryHistory) with steps and metrics")
    fig, axes = subplots(2, 2, width=3.3, height=2.5)
    styles = ["-", "--", ":", "-."]
    for ax, (key, title, logy) in zip(axes.ravel(), _GEOMETRY_CURVES):
        for n, (name, hs) in enumerate(series.items()):
            for i, h in enumerate(hs):
                ax.plot(np.maximum(h.steps, 1), getattr(h, key), styles[n % len(styles)], color=f"C{n}",
                        alpha=1.0 if i == 0 else 0.55, label=name if i == 0 else None)
        ax.set(xscale="log", yscale="log" if logy else "linear", title=title, xlabel="step $k$")
    axes[0, 0].legend()
    return fig, axes


def spectral_order(panels: Mapping[str, tuple[np.ndarray, np.ndarray]]):
    """Zhao & Thrampoulidis (2025): the step at which each singular direction of ``S̃`` is learned against its
    singular value ``σ_k``, log–log, one panel per run (at most 3 to a row).

    ``panels`` maps a title to ``(sigma, learned_at)`` (``language.spectral_learning``'s fields); directions
    never learned (``inf``) are left out.  Returns ``(fig, axes)``.
    """
    from .validation import check_array

    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty dict: title → (sigma, learned_at)")
    items = []
    for title, pair in panels.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"panels[{title!r}] must be a pair (sigma, learned_at)")
        sigma = check_array(pair[0], f"panels[{title!r}] sigma", ndim=1)
        learned = check_array(pair[1], f"panels[{title!r}] learned_at", ndim=1, finite=False)
        if sigma.shape != learned.shape:
            raise ValueError(f"panels[{title!r}]: sigma and learned_at differ in shape, {sigma.shape} and {learned.shape}")
        items.append((title, sigma, learned))
    n = len(items)
    fig, axes = subplots(-(-n // 3), min(3, n), width=3.3, height=2.7)
    for ax, (title, sigma, learned) in zip(axes.ravel(), items):
        ok = np.isfinite(learned)
        ax.scatter(sigma[ok], learned[ok], s=12)
        ax.set(xscale="log", yscale="log", xlabel=r"singular value $\sigma_k$ of $\tilde S$",
               ylabel=r"step learned ($c_k \geq 1/2$)", title=title)
        ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())   # log-axis minor labels would overlap
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes


__all__ += ["corr_heatmaps", "geometry_curves", "spectral_order"]
