from math import comb

import numpy as np
import pytest

from ntpbook_lib import (
    count_entropy_range,
    dirichlet_expected_entropy,
    gaussian_embeddings,
    random_ntp_data,
    random_supports,
    symmetric_supports,
)


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


@pytest.mark.parametrize("s, c", [(1, 3), (2, 2), (3, 2), (3, 4), (4, 3)])
def test_count_entropy_range_against_every_count_vector(s, c):
    from itertools import product

    hs = []
    for counts in product(range(1, c + 1), repeat=s):  # every ordered count vector, independently of the code
        p = np.array(counts, dtype=float) / sum(counts)
        hs.append(-(p * np.log(p)).sum())
    lo, hi = count_entropy_range(s, c)
    assert lo == pytest.approx(min(hs), abs=1e-14) and hi == pytest.approx(max(hs), abs=1e-14)
    assert hi == pytest.approx(np.log(s), abs=1e-14)  # equal counts are allowed


def test_count_entropy_range_closed_form_and_data():
    lo, hi = count_entropy_range(3, 2)
    assert lo == pytest.approx(1.5 * np.log(2), abs=1e-14)  # counts (1, 1, 2): p = (1/4, 1/4, 1/2)
    data = random_ntp_data(30, 16, 3, np.random.default_rng(3), max_count=2)
    assert np.all(data.context_entropies >= lo - 1e-12) and np.all(data.context_entropies <= hi + 1e-12)
    with pytest.raises(ValueError, match="positive"):
        count_entropy_range(0, 2)


@pytest.mark.parametrize("s, alpha", [(2, 1.0), (3, 1.0), (6, 1.0), (6, 0.5), (4, 3.0)])
def test_dirichlet_expected_entropy_monte_carlo(s, alpha):
    p = np.random.default_rng(0).dirichlet(np.full(s, alpha), size=200_000)
    h = -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=1)
    assert dirichlet_expected_entropy(s, alpha) == pytest.approx(h.mean(), abs=4 * h.std() / np.sqrt(h.size))


def test_dirichlet_expected_entropy_closed_forms():
    assert dirichlet_expected_entropy(2) == pytest.approx(0.5, abs=1e-14)  # 2 ∫ −p log p dp
    assert dirichlet_expected_entropy(6) == pytest.approx(sum(1 / k for k in range(1, 7)) - 1, abs=1e-14)
    assert dirichlet_expected_entropy(1, 2.0) == pytest.approx(0.0, abs=1e-14)
    with pytest.raises(ValueError, match="alpha"):
        dirichlet_expected_entropy(3, 0.0)


def test_exponential_weights_are_uniform_on_the_simplex():
    # with many samples per context the empirical p̂_j follow the normalised weights, Dirichlet(1, …, 1)
    data = random_ntp_data(8, 400, 4, np.random.default_rng(4), n=4_000_000, weights="exponential")
    np.testing.assert_array_equal(data.support_sizes, 4)
    h = data.context_entropies
    assert h.mean() == pytest.approx(dirichlet_expected_entropy(4), abs=4 * h.std() / np.sqrt(h.size))
    with pytest.raises(ValueError, match="weights"):
        random_ntp_data(8, 4, 2, np.random.default_rng(0), n=100, weights="gamma")
