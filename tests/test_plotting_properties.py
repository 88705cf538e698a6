"""The book's display and plotting helpers on edge cases."""

import numpy as np

import ntpbook_lib as nl

from fuzz_support import COVERED

COVERED.update({"tokenize", "context_length_statistics", "load_text", "glue", "table", "plotting.set_style",
                "plotting.subplots", "plotting.heatmap", "plotting.curves", "plotting.heatmap_grid",
                "plotting.certificate_panels", "plotting.ufm_training_curves", "plotting.symmetric_design_curves",
                "plotting.corr_heatmaps", "plotting.geometry_curves", "plotting.spectral_order"})


def test_book_and_plotting_helpers():
    nl.glue("x", 1.0)
    assert nl.table([{"a": 1.0, "b": 2}], index="b").shape == (1, 1)
    nl.plotting.set_style()
    fig, ax = nl.plotting.subplots(1, 2)
    nl.plotting.heatmap(ax[0, 0], np.array([[1.0, np.nan], [0.0, 2.0]]), center=0.0)
    nl.plotting.curves(ax[0, 1], np.arange(3), {"a": np.arange(3.0)})
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_chapter_figure_helpers_refuse_bad_input_cleanly():
    import pytest

    from ntpbook_lib import plotting as p

    bad = [lambda: p.heatmap_grid({}), lambda: p.heatmap_grid({"a": np.eye(2)}, ncols=0),
           lambda: p.heatmap_grid({"a": np.zeros(3)}), lambda: p.heatmap_grid([np.eye(2)]),
           lambda: p.certificate_panels(np.eye(3), np.eye(2), np.eye(3)),
           lambda: p.certificate_panels("S", np.eye(2), np.eye(2)),
           lambda: p.ufm_training_curves({}, "x"), lambda: p.ufm_training_curves({"a": 1}, "b"),
           lambda: p.symmetric_design_curves(np.array([1, 2]), []),
           lambda: p.symmetric_design_curves("k", [("t", {"a": (np.ones(2), None)})]),
           lambda: p.symmetric_design_curves(np.array([1, 2]), [("t", {"a": (np.ones(3), None)})])]
    for call in bad:
        with pytest.raises((ValueError, TypeError)):
            call()


def test_chapter5_figure_helpers_refuse_bad_input_cleanly():
    import pytest

    from ntpbook_lib import plotting as p

    bad = [lambda: p.corr_heatmaps({}, "x"), lambda: p.corr_heatmaps([np.eye(2)], "x"),
           lambda: p.corr_heatmaps({"a": np.zeros(3)}, "x"), lambda: p.corr_heatmaps({"a": np.eye(2)}, 3),
           lambda: p.corr_heatmaps({"a": np.eye(2)}, "x", tick_every=0),
           lambda: p.geometry_curves({}), lambda: p.geometry_curves({"a": 1}), lambda: p.geometry_curves({"a": []}),
           lambda: p.spectral_order({}), lambda: p.spectral_order({"a": np.ones(2)}),
           lambda: p.spectral_order({"a": (np.ones(2), np.ones(3))}),
           lambda: p.spectral_order({"a": (np.ones((2, 2)), np.ones(2))})]
    for call in bad:
        with pytest.raises((ValueError, TypeError)):
            call()
