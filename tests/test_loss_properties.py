"""The NTP loss under extreme logits: never below the entropy; the restricted loss in between."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import ntpbook_lib as nl

from fuzz_support import FAST, covers, datas


@covers("ce_loss", "ce_decomposition", "log_softmax")
@FAST
@given(datas, st.integers(0, 10**6), st.integers(-300, 300))
def test_cross_entropy_never_falls_below_the_entropy(data, seed, k):
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((data.V, data.m)) * 10.0**k
    dec = nl.ce_decomposition(L, data)
    assert np.all(dec.kl >= 0) and dec.excess >= 0 and nl.ce_loss(L, data) >= data.entropy
    logq = nl.log_softmax(L)
    assert np.all(logq <= 0) and np.all(np.isfinite(logq))
    Lt = torch.tensor(np.clip(np.rint(L), -30, 30).astype(np.int64))  # integer logits are computed in float64
    assert float(nl.ce_loss(Lt, data)) >= data.entropy - 1e-12 * (1 + data.entropy)
    assert float(nl.ce_loss(Lt, data)) == pytest.approx(nl.ce_loss(Lt.numpy(), data), rel=1e-12, abs=1e-14)


@covers("restricted_ce_loss")
@FAST
@given(datas, st.integers(0, 10**6), st.integers(-300, 300))
def test_restricted_loss_lies_between_the_entropy_and_the_loss(data, seed, k):
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((data.V, data.m)) * 10.0**k
    r = nl.restricted_ce_loss(L, data)
    assert np.isfinite(r)
    assert r >= data.entropy - 1e-12 * (1 + data.entropy)
    assert r <= nl.ce_loss(L, data) * (1 + 1e-12) + 1e-12
    exact = np.where(data.S > 0, np.log(np.where(data.S > 0, data.P, 1.0)), rng.standard_normal(L.shape) * 10)
    assert nl.restricted_ce_loss(exact, data) == pytest.approx(data.entropy, rel=1e-9, abs=1e-12)
    Lt = torch.tensor(np.clip(np.rint(L), -30, 30).astype(np.int64))
    assert nl.restricted_ce_loss(Lt, data) == pytest.approx(nl.restricted_ce_loss(Lt.numpy(), data), rel=1e-12)
