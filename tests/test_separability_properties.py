"""Scale invariance in H of the data subspace, separability, the NTP-SVM and the references (T24)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ntpbook_lib as nl

from fuzz_support import (
    FAST,
    assert_margin_constraints,
    covers,
    datas,
    exponents,
    has_off_support,
    instances,
    outcome,
)


@covers("data_subspace", "is_compatible", "logodds_solution")
@FAST
@given(instances, exponents)
def test_data_subspace_and_compatibility_do_not_depend_on_the_scale_of_H(inst, k):
    data, H = inst
    c = 10.0**k
    F1, comp1, W1 = nl.data_subspace(data, H), nl.is_compatible(data, H), nl.logodds_solution(data, H)
    F = outcome(nl.data_subspace, data, H * c)
    assert F is not None and F.dim == F1.dim  # a subspace: no answer to refuse
    comp = outcome(nl.is_compatible, data, H * c)
    W = outcome(nl.logodds_solution, data, H * c)
    if comp is None or W is None:  # W* = W*(H)/c would leave float64
        assert abs(k) > 250 or not np.all(np.isfinite(W1 / c)) or np.any(np.abs(W1[W1 != 0] / c) < 1e-300)
        return
    assert bool(comp) == bool(comp1)
    np.testing.assert_allclose(W * c, W1, rtol=1e-7, atol=1e-9 * max(1.0, np.abs(W1).max()))
    np.testing.assert_allclose(F.project(W1), W1, rtol=1e-7, atol=1e-9 * max(1.0, np.abs(W1).max()))


@covers("is_separable", "ntp_svm", "ntp_margin")
@FAST
@given(instances, exponents)
def test_separability_and_the_svm_do_not_depend_on_the_scale_of_H(inst, k):
    data, H = inst
    if not has_off_support(data):
        with pytest.raises(ValueError, match="whole vocabulary"):
            nl.is_separable(data, H)
        return
    c = 10.0**k
    sep1 = nl.is_separable(data, H, explain=False)
    sep = outcome(nl.is_separable, data, H * c, explain=False)
    if sep is None:
        return  # W^d = W^d(H)/c not representable: refused with a message
    assert bool(sep) == bool(sep1)
    if not sep:
        with pytest.raises(ValueError, match="not NTP-separable"):
            nl.ntp_svm(data, H * c)
        return
    assert_margin_constraints(sep.W @ (H * c), data.S, 1e-7)
    W1 = nl.ntp_svm(data, H)
    W = outcome(nl.ntp_svm, data, H * c)
    if W is None:
        return
    np.testing.assert_allclose(W * c, W1, rtol=1e-5, atol=1e-7 * np.abs(W1).max())
    assert_margin_constraints(W @ (H * c), data.S, 1e-6)
    assert nl.ntp_margin(W1, data, H) == pytest.approx(1.0, abs=1e-6)
    m = outcome(nl.ntp_margin, W1, data, H * c)
    assert m is None or m == pytest.approx(c, rel=1e-6)


@covers("lemma1_witnesses", "implicit_bias_reference", "lifted_points", "alignment")
@FAST
@given(datas, st.integers(0, 10**6), st.integers(-100, 100))
def test_lemma1_and_the_reference_scale_like_one_over_H(data, seed, k):
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((data.m + 1, data.m))
    c = 10.0**k
    Wp, Wd = nl.lemma1_witnesses(data, H * c)
    S = data.S > 0
    np.testing.assert_allclose(np.where(S, Wp @ (H * c), 0), np.where(S, np.log(np.where(S, data.P, 1)), 0),
                               atol=1e-8)
    np.testing.assert_allclose(Wd @ (H * c), data.S, atol=1e-8)
    ref1, ref = nl.implicit_bias_reference(data, H), nl.implicit_bias_reference(data, H * c)
    np.testing.assert_allclose(ref.W_star * c, ref1.W_star, rtol=1e-6, atol=1e-9 * max(1, np.abs(ref1.W_star).max()))
    assert (ref.W_mm is None) == (ref1.W_mm is None)
    points, spans = nl.lifted_points(data, H)
    assert points.shape[1:] == spans.shape[1:] == (data.V, H.shape[0])
    a = nl.alignment(rng.standard_normal((data.V, H.shape[0])) * 10.0 ** rng.integers(-3, 4), data, H, ref1)
    assert a.excess >= 0 and np.isfinite(a.excess) and a.norm > 0
