"""The ball path of T24 Thm 1 and the trainers on extreme data."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import ntpbook_lib as nl

from fuzz_support import covers, datas, has_off_support, make_H


@covers("ridge_solution", "regularization_path", "genie_excess")
@settings(max_examples=4, deadline=None)
@given(st.integers(0, 100))
def test_the_ball_path_meets_its_radii_and_the_genie_bound_holds(seed):
    data = nl.random_ntp_data(4, 5, 2, rng=np.random.default_rng(seed), max_count=4)
    H = nl.gaussian_embeddings(6, data.m, rng=np.random.default_rng(seed + 1))  # d ≥ m: separable, compatible
    W = nl.ridge_solution(data, H, 0.1)
    assert np.all(np.isfinite(W)) and W.shape == (data.V, 6)
    path = nl.regularization_path(data, H, np.array([0.5, 2.0]))
    np.testing.assert_allclose(np.linalg.norm(path.W, axis=(1, 2)), [0.5, 2.0], rtol=1e-8)
    excess, bound, C = nl.genie_excess(data, H, np.array([1.0, 5.0]))
    assert np.all(excess >= 0) and np.all(excess <= bound * (1 + 1e-9)) and C > 0


@covers("train_linear", "train_logits", "train_ufm", "log_schedule")
@settings(max_examples=6, deadline=None)
@given(datas, st.sampled_from(["gd", "ngd", "adam"]), st.integers(0, 100))
def test_trainers_keep_the_excess_non_negative(data, method, seed):
    H = make_H(data, 0, seed)
    h = nl.train_linear(data, H, method, 0.5, 20, n_records=5)
    assert np.all(h.excess >= 0) and np.all(np.isfinite(h.norm))
    h = nl.train_logits(data, 20, n_records=5)
    assert np.all(h.excess >= 0)
    if has_off_support(data):
        u = nl.train_ufm(data, 2, 1e-3, "gd", 0.5, 20, rng=np.random.default_rng(seed), n_records=5)
        assert np.all(u.excess >= 0) and np.all(np.isfinite(u.norm_W))
    s = nl.log_schedule(10**6, 30)
    assert s[0] == 0 and s[-1] == 10**6 and np.all(np.diff(s) > 0)
