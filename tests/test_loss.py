import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_softmax as scipy_log_softmax

from ntpbook_lib import NTPData, ce_decomposition, ce_loss, random_ntp_data, restricted_ce_loss


def _data(seed, V=7, m=5, s=3):
    return random_ntp_data(V, m, s, np.random.default_rng(seed), max_count=4)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 50.0))
def test_ce_matches_definition_and_bound(seed, scale):
    rng = np.random.default_rng(seed)
    data = _data(seed)
    L = scale * rng.standard_normal((data.V, data.m))
    ref = -(data.pi * (data.P * scipy_log_softmax(L, axis=0)).sum(axis=0)).sum()
    ce = ce_loss(L, data)
    assert ce == pytest.approx(ref, rel=1e-12)
    dec = ce_decomposition(L, data)
    assert dec.ce == pytest.approx(dec.entropy + data.pi @ dec.kl, rel=1e-12)
    assert np.all(dec.kl > 0)  # sparse supports: softmax can never match P exactly
    assert ce > data.entropy


def test_bound_is_approached_only_as_norms_diverge():
    data = _data(1)
    logP = np.log(np.where(data.P > 0, data.P, 1.0))
    excess = []
    for c in [1.0, 5.0, 10.0, 20.0]:
        L = np.where(data.P > 0, logP, -c)  # off-support logits pushed to −c
        excess.append(ce_loss(L, data) - data.entropy)
    assert all(e > 0 for e in excess) and np.all(np.diff(excess) < 0) and excess[-1] < 1e-7


def test_full_support_attains_bound():
    data = NTPData.from_counts(np.array([[1.0, 2.0], [3.0, 2.0]]))
    assert ce_loss(np.log(data.P), data) == pytest.approx(data.entropy, rel=1e-14)


def test_stable_for_huge_logits():
    data = _data(2)
    L = 1e6 * np.random.default_rng(0).standard_normal((data.V, data.m))
    assert np.isfinite(ce_loss(L, data))
    assert np.all(np.isfinite(ce_decomposition(L, data).kl))
    assert torch.isfinite(ce_loss(torch.tensor(L), data))


def test_torch_value_and_gradient():
    data = _data(3)
    L = np.random.default_rng(1).standard_normal((data.V, data.m))
    Lt = torch.tensor(L, requires_grad=True)
    loss = ce_loss(Lt, data)
    loss.backward()
    assert loss.item() == pytest.approx(ce_loss(L, data), rel=1e-12)
    q = np.exp(scipy_log_softmax(L, axis=0))
    np.testing.assert_allclose(Lt.grad.numpy(), (q - data.P) * data.pi, atol=1e-14)


def test_shape_mismatch():
    data = _data(4)
    with pytest.raises(ValueError, match=r"expected V×m = \(7, 5\)"):
        ce_loss(np.zeros((5, 7)), data)


def _restricted_by_definition(L, data):
    """T24 eq. 12 term by term: Σ_j π̂_j Σ_{z∈S_j} p̂_{j,z} log(1 + Σ_{z'∈S_j, z'≠z} exp(−(ℓ_z − ℓ_z')))."""
    total = 0.0
    for j, s in enumerate(data.supports):
        for z in s:
            inner = sum(np.exp(-(L[z, j] - L[zp, j])) for zp in s if zp != z)
            total += data.pi[j] * data.P[z, j] * np.log1p(inner)
    return total


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 20.0))
def test_restricted_loss_matches_eq12_and_bounds(seed, scale):
    rng = np.random.default_rng(seed)
    data = random_ntp_data(6, 5, rng.integers(1, 6, size=5), rng, max_count=4)
    L = scale * rng.standard_normal((data.V, data.m))
    cef = restricted_ce_loss(L, data)
    assert cef == pytest.approx(_restricted_by_definition(L, data), rel=1e-10, abs=1e-12)
    assert cef >= data.entropy - 1e-12  # CE_F − H = Σ π̂_j KL(p̂_j ‖ softmax restricted to S_j)
    assert ce_loss(L, data) >= cef  # the full softmax has the off-support terms in its denominator too


def test_restricted_loss_ignores_off_support_logits_and_attains_H_at_log_odds():
    rng = np.random.default_rng(5)
    data = random_ntp_data(7, 6, 3, rng, max_count=4)
    S = data.S > 0
    L = np.where(S, np.log(np.where(S, data.P, 1.0)) + rng.standard_normal(data.m), 0.0)  # log-odds + column shift
    assert restricted_ce_loss(L, data) == pytest.approx(data.entropy, rel=1e-13)
    L_off = np.where(S, L, 50 * rng.standard_normal(L.shape))
    assert restricted_ce_loss(L_off, data) == pytest.approx(data.entropy, rel=1e-13)
    assert ce_loss(L_off, data) > data.entropy + 1e-3  # the full loss does see them
    with pytest.raises(ValueError, match=r"expected V×m"):
        restricted_ce_loss(np.zeros((6, 7)), data)


def test_restricted_loss_is_the_full_loss_when_supports_are_full():
    data = NTPData.from_counts(np.array([[1.0, 2.0], [3.0, 2.0], [1.0, 1.0]]))
    L = np.random.default_rng(0).standard_normal((3, 2))
    assert restricted_ce_loss(L, data) == pytest.approx(ce_loss(L, data), rel=1e-13)
    assert np.isfinite(restricted_ce_loss(1e6 * L, data))


def _extreme_counts(c):
    """Tiny probabilities (1/c) next to ordinary ones, and counts near float64's limits."""
    return NTPData.from_counts(np.array([[c, 1.0, 0.0], [1.0, 0.0, 3.0], [0.0, c, 1.0], [0.0, 0.0, 0.0]]))


def test_excess_is_non_negative_on_extreme_logits():
    """CE − H = Σ_j π̂_j KL_j is a sum of non-negative terms: never negative, also where softmax reproduces p̂
    to rounding (logits log p̂ plus a common shift) or the off-support mass underflows (margins of 10^4)."""
    rng = np.random.default_rng(3)
    datasets = (_data(1), _data(2, V=5, m=4, s=1), _data(3, V=4, m=6, s=4), _extreme_counts(1e15),
                _extreme_counts(1e200))
    for data in datasets:
        logP = np.log(np.where(data.S > 0, data.P, 1.0))
        for shift in (0.0, 1e-3, 50.0, -700.0):
            for gap in (0.0, 40.0, 1e4, 1e300):
                L = np.where(data.S > 0, logP + shift, logP.min() + shift - gap)
                L = L + rng.standard_normal(L.shape) * 1e-16
                dec = ce_decomposition(L, data)
                assert np.all(dec.kl >= 0) and dec.excess >= 0, (shift, gap, dec.kl)
                assert ce_loss(L, data) - data.entropy >= 0
