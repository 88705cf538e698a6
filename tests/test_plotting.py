import base64
import io
import json

import matplotlib as mpl
import numpy as np
from PIL import Image

from ntpbook_lib import plotting


def test_style_and_helpers():
    plotting.set_style()
    assert mpl.rcParams["figure.facecolor"] == "white" and mpl.rcParams["axes.facecolor"] == "white"
    fig, axes = plotting.subplots(1, 2)
    plotting.heatmap(axes[0, 0], np.eye(3), "I", center=0)
    plotting.curves(axes[0, 1], np.arange(1, 5), {"a": np.arange(1, 5), "b": np.ones(4)}, logy=True)
    assert axes[0, 0].get_title() == "I" and axes[0, 1].get_yscale() == "log"
    assert len(axes[0, 1].get_lines()) == 2 and axes[0, 1].get_legend() is not None
    assert fig.get_size_inches()[0] == plotting.FIG_WIDTH


def test_a_styled_figure_reads_at_nine_px_in_the_column():
    plotting.set_style()
    fig, axes = plotting.subplots(2, 3, width=3, height=2.5)
    for ax in axes.ravel()[:3]:
        plotting.curves(ax, np.arange(1, 5), {"a": np.arange(1, 5), "b": np.ones(4)}, xlabel="$k$", title="t")
    for ax in axes.ravel()[3:5]:
        plotting.heatmap(ax, np.random.default_rng(0).normal(size=(4, 5)), "M", center=0)
    report = plotting.figure_report(fig)
    assert report["min_text_px"] >= plotting.MIN_TEXT_PX
    assert report["panels_per_row"] == 3 and report["heatmaps_per_row"] == 2
    assert report["heatmaps_without_colour_scale"] == []


def test_report_flags_small_text_missing_colour_scales_and_crowded_rows():
    plotting.set_style()
    fig, axes = plotting.subplots(1, 4)
    plotting.heatmap(axes[0, 0], np.eye(3), "no scale", cbar=False)
    axes[0, 1].text(0.5, 0.5, "tiny", fontsize=5)
    report = plotting.figure_report(fig)
    assert report["min_text_px"] < plotting.MIN_TEXT_PX and report["min_text"] == "tiny"
    assert report["heatmaps_without_colour_scale"] == ["no scale"]
    assert report["panels_per_row"] == 4


def test_a_shared_colour_bar_counts_for_every_panel_it_serves():
    plotting.set_style()
    fig, axes = plotting.subplots(1, 2)
    ims = [plotting.heatmap(ax, np.eye(3) * s, f"p{s}", vmin=0, vmax=2, cbar=False) for s, ax in zip((1, 2), axes[0])]
    plotting.colorbar(fig, ims[0], axes)
    assert plotting.figure_report(fig)["heatmaps_without_colour_scale"] == []


def test_png_is_twice_the_displayed_size_and_carries_its_report():
    plotting.set_style()
    fig, ax = plotting.subplots(1, 1)
    ax[0, 0].plot([1, 2])
    data, meta = plotting._png(fig)
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    assert image.size[0] == 2 * meta["width"] == 2 * round(plotting.FIG_WIDTH * plotting.CSS_PX_PER_INCH)
    assert json.loads(image.text["ntpbook"])["min_text_px"] >= plotting.MIN_TEXT_PX
