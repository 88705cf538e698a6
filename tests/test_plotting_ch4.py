"""Chapter 4's figure helpers: panels, colour scales, the sign test's crosses, and the curves drawn."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import ntpbook_lib as nl
from ntpbook_lib import plotting


def _colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def test_heatmap_grid_panels_and_colour_scales():
    rng = np.random.default_rng(0)
    panels = {f"M{i}": rng.standard_normal((4, 5)) for i in range(5)}
    fig, axes = plotting.heatmap_grid(panels, ncols=2, vmin=-1, vmax=1)
    assert axes.shape == (3, 2)
    visible = [ax for ax in axes.ravel() if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == list(panels)
    assert len(_colorbars(fig)) == 5  # every heatmap has its colour scale
    assert axes[2, 1].get_visible() is False
    assert visible[0].images[0].get_clim() == (-1, 1)
    plt.close(fig)
    with pytest.raises(ValueError):
        plotting.heatmap_grid({})


def test_certificate_panels_cross_the_failed_sign_test():
    for seed in range(40):  # a draw whose certificate fails
        r = np.random.default_rng(seed)
        S = nl.random_supports(8, 10, r.integers(1, 5, size=10), r)
        cert = nl.certificate(S)
        if not cert:
            break
    fig, axes, crossed = plotting.certificate_panels(S, nl.ntp_svm_logits(S), cert.A)
    assert crossed == int(np.sum((S == 0) & (cert.A >= 0))) > 0
    assert len(_colorbars(fig)) == 4
    assert axes[0, 0].get_xticklabels()[0].get_text() == "1"  # contexts numbered from 1
    plt.close(fig)
    with pytest.raises(ValueError):
        plotting.certificate_panels(S, np.zeros((3, 3)), cert.A)


def test_ufm_training_curves_and_symmetric_design_curves():
    rng = np.random.default_rng(1)
    data = nl.random_ntp_data(5, 6, 2, rng, max_count=3)
    ref = nl.ufm_reference(data)
    runs = {"a": nl.train_ufm(data, d=5, steps=50, lr=1.0, rng=np.random.default_rng(2), ref=ref, n_records=5)}
    fig, axes = plotting.ufm_training_curves(runs, "a", floor=1e-4)
    assert axes[0, 0].get_yscale() == "log" and len(axes[1, 1].get_lines()) == 5
    plt.close(fig)
    with pytest.raises(ValueError):
        plotting.ufm_training_curves(runs, "b")
    k = np.arange(1, 5)
    fig, axes = plotting.symmetric_design_curves(k, [("t", {"x": (k * 1.0, k + 0.0), "printed": (k * 2.0, None)})],
                                                 logy=[True])
    assert len(axes[0, 0].get_lines()) == 3 and axes[0, 0].get_yscale() == "log"
    plt.close(fig)
