from math import comb

import numpy as np
import pytest

from ntpbook_lib import gaussian_embeddings, random_ntp_data, random_supports, symmetric_supports


def test_random_supports_exact_sizes():
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 9, size=40)
    S = random_supports(9, 40, sizes, rng)
    np.testing.assert_array_equal(S.sum(axis=0), sizes)
    assert set(np.unique(S)) <= {0.0, 1.0}


@pytest.mark.parametrize("kw", [dict(max_count=2), dict(max_count=4), dict(n=5000)])
def test_random_ntp_data_supports_and_counts(kw):
    rng = np.random.default_rng(1)
    data = random_ntp_data(10, 50, 6, rng, **kw)
    np.testing.assert_array_equal(data.support_sizes, 6)  # no support entry emptied
    counts = data.P * data.pi * data.n
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-8)
    if "max_count" in kw:
        assert counts[data.S > 0].min() >= 1 - 1e-9 and counts.max() <= kw["max_count"] + 1e-9
    else:
        assert data.n == kw["n"]


def test_uniform_pi_and_given_S():
    rng = np.random.default_rng(2)
    S = random_supports(10, 95, rng.integers(1, 10, size=95), rng)
    data = random_ntp_data(10, 95, 0, rng, max_count=3, uniform_pi=True, S=S)
    np.testing.assert_allclose(data.pi, 1 / 95)
    np.testing.assert_array_equal(data.S, S)


@pytest.mark.parametrize("V, k", [(4, 1), (5, 2), (6, 3), (5, 5)])
def test_symmetric_supports(V, k):
    S = symmetric_supports(V, k)
    assert S.shape == (V, comb(V, k))
    np.testing.assert_array_equal(S.sum(axis=0), k)
    assert len({tuple(c) for c in S.T}) == comb(V, k)


def test_gaussian_embeddings():
    H = gaussian_embeddings(60, 50, np.random.default_rng(0))
    assert H.shape == (60, 50) and abs(H.std() - 1) < 0.05


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="support sizes"):
        random_supports(5, 3, 6, rng)
    with pytest.raises(ValueError, match="exactly one"):
        random_ntp_data(5, 3, 2, rng)
    with pytest.raises(ValueError, match="cannot cover"):
        random_ntp_data(5, 3, 2, rng, n=4)
    with pytest.raises(ValueError, match="k must"):
        symmetric_supports(4, 0)
