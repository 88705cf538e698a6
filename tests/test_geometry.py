"""Z24 §5.3's metrics: scale-free, sim_corr is sim of corr, geometry_metrics depends on (W, H) through L."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ntpbook_lib as nl

from fuzz_support import _lang, _ref, covers, datas, has_off_support


@covers("corr", "sim")
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(-300, 300), st.floats(1e-3, 1e3))
def test_corr_and_sim_are_scale_free(seed, k, c):
    X = np.random.default_rng(seed).standard_normal((4, 3)) * 10.0**k
    C = nl.corr(X)
    np.testing.assert_allclose(np.diag(C), 1, atol=1e-12)
    assert np.all(np.abs(C) <= 1 + 1e-12)
    np.testing.assert_allclose(C, nl.corr(X * c), atol=1e-12)
    np.testing.assert_allclose(C, nl.corr(X / np.abs(X).max()), atol=1e-12)
    assert nl.sim(X, X * c) == pytest.approx(1.0, abs=1e-12)
    assert nl.sim(C, C) == pytest.approx(1.0, abs=1e-12)
    assert -1 - 1e-12 <= nl.sim(X, -X, eps=0.0) <= -1 + 1e-12


@covers("sim_corr")
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 6), st.integers(1, 6), st.integers(2, 8), st.integers(-150, 150))
def test_sim_corr_is_sim_of_corr_and_ignores_column_scales(seed, a, b, m, k):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((a, m)), rng.standard_normal((b, m))
    v = nl.sim_corr(X, Y)
    assert v == pytest.approx(nl.sim(nl.corr(X), nl.corr(Y)), abs=1e-9)
    cx, cy = 10.0 ** rng.uniform(-3, 3, m), 10.0 ** rng.uniform(-3, 3, m)
    assert nl.sim_corr(X * cx * 10.0**k, Y * cy) == pytest.approx(v, abs=1e-9)
    assert nl.sim_corr(X, X) == pytest.approx(1.0, abs=1e-9)
    assert np.isfinite(v) and v <= 1 + 1e-9


@covers("collapse_cosines")
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(-300, 300), st.integers(1, 6))
def test_collapse_cosines_ignore_the_scale_of_H(seed, k, d):
    data = _lang().data
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((d, data.m))
    c = nl.collapse_cosines(H, data)
    assert -1 - 1e-12 <= c.within_min <= c.within_mean <= 1 + 1e-12
    assert -1 - 1e-12 <= c.between_mean <= c.between_max <= 1 + 1e-12
    scaled = nl.collapse_cosines(H * 10.0**k * 10.0 ** rng.uniform(-3, 3, data.m), data)
    np.testing.assert_allclose(scaled, c, atol=1e-12)
    H_mm = _ref(data).H_mm  # Z24 Prop. 1: the contexts of one support are collapsed
    assert nl.collapse_cosines(H_mm, data).within_min == pytest.approx(1.0, abs=1e-6)


@covers("geometry_metrics")
@settings(max_examples=15, deadline=None)
@given(datas, st.integers(0, 10**6), st.integers(-60, 60))
def test_geometry_metrics_depend_on_W_H_only_through_L_and_directions(data, seed, k):
    if not has_off_support(data):
        return
    rng, ref = np.random.default_rng(seed), _ref(data)
    W, H = rng.standard_normal((data.V, 3)), rng.standard_normal((3, data.m))
    g = nl.geometry_metrics(W, H, data, ref)
    assert g.excess >= 0 and all(np.isfinite(v) for v in g)
    c = 10.0**k
    gc = nl.geometry_metrics(W * c, H / c, data, ref)  # the same logits L = W H
    assert gc.norm_W == pytest.approx(g.norm_W * c, rel=1e-12) and gc.norm_H == pytest.approx(g.norm_H / c, rel=1e-12)
    for f in ("excess", "dist_in", "cos_mm", "sim_W_theory", "sim_H_theory", "sim_W_proxy", "sim_H_proxy"):
        assert getattr(gc, f) == pytest.approx(getattr(g, f), rel=1e-9, abs=1e-9), f
    with pytest.raises(ValueError, match="overflow"):
        nl.geometry_metrics(W * 1e200, H * 1e200, data, ref)
