"""The book's display and plotting helpers on edge cases."""

import numpy as np

import ntpbook_lib as nl

from fuzz_support import COVERED

COVERED.update({"tokenize", "context_length_statistics", "load_text", "glue", "table", "plotting.set_style",
                "plotting.subplots", "plotting.heatmap", "plotting.curves"})


def test_book_and_plotting_helpers():
    nl.glue("x", 1.0)
    assert nl.table([{"a": 1.0, "b": 2}], index="b").shape == (1, 1)
    nl.plotting.set_style()
    fig, ax = nl.plotting.subplots(1, 2)
    nl.plotting.heatmap(ax[0, 0], np.array([[1.0, np.nan], [0.0, 2.0]]), center=0.0)
    nl.plotting.curves(ax[0, 1], np.arange(3), {"a": np.arange(3.0)})
    import matplotlib.pyplot as plt

    plt.close(fig)
