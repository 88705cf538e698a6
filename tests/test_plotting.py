import matplotlib as mpl
import numpy as np

from ntpbook_lib import plotting


def test_style_and_helpers():
    plotting.set_style()
    assert mpl.rcParams["figure.facecolor"] == "white" and mpl.rcParams["axes.facecolor"] == "white"
    fig, axes = plotting.subplots(1, 2)
    plotting.heatmap(axes[0, 0], np.eye(3), "I", center=0)
    plotting.curves(axes[0, 1], np.arange(1, 5), {"a": np.arange(1, 5), "b": np.ones(4)}, logy=True)
    assert axes[0, 0].get_title() == "I" and axes[0, 1].get_yscale() == "log"
    assert len(axes[0, 1].get_lines()) == 2 and axes[0, 1].get_legend() is not None
