"""Chapter 5's figure helpers: panels, colour scales, one line per seed, the learned directions drawn."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

import ntpbook_lib as nl
from ntpbook_lib import language as lg
from ntpbook_lib import plotting


def _colorbars(fig):
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def test_corr_heatmaps_show_the_cosines_of_the_columns_on_one_scale():
    rng = np.random.default_rng(0)
    H = rng.standard_normal((4, 9))
    panels = {"a": H, "b": -H, "c": H[:, ::-1]}
    fig, axes = plotting.corr_heatmaps(panels, "context $j$", tick_every=4)
    assert axes.shape == (2, 2) and axes[1, 1].get_visible() is False
    np.testing.assert_allclose(axes[0, 0].images[0].get_array(), nl.corr(H), atol=1e-12)
    assert all(ax.images[0].get_clim() == (-1, 1) for ax in axes.ravel()[:3])
    assert len(_colorbars(fig)) == 3                                   # every heatmap has its colour scale
    labels = [t.get_text() for t in axes[0, 0].get_xticklabels()]
    assert labels[:5] == ["1", "", "", "", "5"]                        # numbered from 1, every 4th
    assert axes[0, 0].get_xlabel() == "context $j$"
    plt.close(fig)
    with pytest.raises(ValueError):
        plotting.corr_heatmaps({}, "x")
    with pytest.raises(TypeError):
        plotting.corr_heatmaps([H], "x")


def test_geometry_curves_draw_one_line_per_seed_and_model():
    lang = nl.synthetic_sentences(np.random.default_rng(0))
    ref = nl.ufm_reference(lang.data)
    runs = [nl.train_ufm(lang.data, d=8, steps=20, lr=1.0, rng=np.random.default_rng(s), ref=ref, n_records=4)
            for s in range(3)]
    fig, axes = plotting.geometry_curves({"NTP-UFM": runs, "one": runs[0]})
    assert all(len(ax.get_lines()) == 4 for ax in axes.ravel())        # 3 seeds + 1
    assert axes[0, 0].get_yscale() == "log" and axes[1, 0].get_yscale() == "linear"
    np.testing.assert_allclose(axes[1, 0].get_lines()[1].get_ydata(), runs[1].cos_mm)
    assert [t.get_text() for t in axes[0, 0].get_legend().get_texts()] == ["NTP-UFM", "one"]
    plt.close(fig)
    with pytest.raises(ValueError):
        plotting.geometry_curves({})
    with pytest.raises(ValueError):
        plotting.geometry_curves({"x": [1, 2]})


def test_spectral_order_leaves_out_directions_never_learned():
    sigma = np.array([4.0, 2.0, 1.0])
    learned = np.array([1.0, 10.0, np.inf])
    fig, axes = plotting.spectral_order({"a": (sigma, learned), "b": (sigma, learned[::-1])})
    offsets = axes[0, 0].collections[0].get_offsets()
    np.testing.assert_allclose(offsets, [[4.0, 1.0], [2.0, 10.0]])
    assert axes[0, 0].get_xscale() == "log" and axes[0, 0].get_title() == "a"
    plt.close(fig)
    with pytest.raises(ValueError):
        plotting.spectral_order({"a": (sigma, learned[:2])})
    with pytest.raises(ValueError):
        plotting.spectral_order({})


def test_spectral_order_takes_spectral_learning_fields():
    S = nl.random_supports(6, 10, 2, np.random.default_rng(1))
    U, s, Qt = np.linalg.svd(nl.centered_support(S), full_matrices=False)
    snaps = {k: (U * s * k / 4, Qt) for k in (1, 2, 4)}
    sp_ = lg.spectral_learning(snaps, S)
    fig, axes = plotting.spectral_order({"t": (sp_.sigma, sp_.learned_at)})
    assert len(axes[0, 0].collections[0].get_offsets()) == int(np.isfinite(sp_.learned_at).sum())
    plt.close(fig)
