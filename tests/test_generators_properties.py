"""Generators and constructors on random sizes; huge designs are refused with their size."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ntpbook_lib as nl
from ntpbook_lib import NTPData

from fuzz_support import covers


@covers("random_supports", "random_ntp_data", "gaussian_embeddings", "symmetric_supports", "symmetric_geometry",
        "measure_symmetric_geometry", "separability_phase_transition", "cover_probability", "NTPData",
        "NTPData.from_counts", "NTPData.from_tokens", "NTPData.from_pairs", "NTPData.from_sequences")
@settings(max_examples=15, deadline=None)
@given(st.integers(2, 6), st.integers(1, 5), st.integers(0, 10**6), st.integers(-300, 300))
def test_generators_and_constructors(V, m, seed, k):
    s = min(V - 1, 2)
    S = nl.random_supports(V, m, s, np.random.default_rng(seed))
    assert np.all(S.sum(axis=0) == s)
    data = nl.random_ntp_data(V, m, s, np.random.default_rng(seed), max_count=3)
    assert np.all(data.support_sizes == s)
    assert nl.gaussian_embeddings(2, m, np.random.default_rng(seed)).shape == (2, m)
    kk = 1 + seed % (V - 1)
    assert nl.symmetric_supports(V, kk).shape[0] == V
    g, L = nl.measure_symmetric_geometry(V, kk)
    cf = nl.symmetric_geometry(V, kk)
    assert g.cos_in == pytest.approx(cf.cos_in, abs=1e-3) and g.cos_words == pytest.approx(cf.cos_words, abs=1e-3)
    p = nl.cover_probability(m, seed % 8)
    assert 0 <= p <= 1
    counts = np.random.default_rng(seed).integers(0, 3, (V, m)).astype(np.float64)
    counts[np.arange(m) % V, np.arange(m)] += 1.0  # no empty column
    d1, d2 = NTPData.from_counts(counts), NTPData.from_counts(counts * 10.0**k)
    np.testing.assert_allclose(d2.P, d1.P, rtol=1e-12)
    np.testing.assert_allclose(d2.pi, d1.pi, rtol=1e-12)
    assert np.isfinite(d2.entropy)
    NTPData(d1.P, d1.pi)
    tok = np.random.default_rng(seed).integers(0, V, 30)
    assert NTPData.from_tokens(tok, 2, V=V)[0].V == V
    assert NTPData.from_pairs(["a", "b", "a"], [0, 1, V - 1])[0].m == 2
    assert NTPData.from_sequences([tok.tolist()], V=V)[0].V == V


def test_huge_designs_are_refused_with_their_size():
    """symmetric_supports(24, 8) is a 24×735471 matrix (141 MiB), but measuring it forms m×m objects (TiBs)."""
    with pytest.raises(ValueError, match=r"m = C\(V,k\) = 735471 contexts.*\d+\.\d TiB"):
        nl.measure_symmetric_geometry(24, 8)
    with pytest.raises(ValueError, match=r"memory"):
        nl.measure_symmetric_geometry(10**7, 2)
    with pytest.raises(ValueError, match=r"(memory|too many)"):
        nl.symmetric_supports(10**7, 2)
    with pytest.raises(ValueError, match=r"\d+\.\d [KMGTPE]iB"):
        nl.measure_symmetric_geometry(10**6, 1)
    with pytest.raises(ValueError, match="memory"):
        nl.gaussian_embeddings(10**7, 10**7, np.random.default_rng(0))


def test_phase_transition_and_corpus_on_valid_input():
    pt = nl.separability_phase_transition(5, 4, 2, [0.5, 1.5], 2, np.random.default_rng(0))
    assert np.all((0 <= pt.separable) & (pt.separable <= 1))
    toks = nl.tokenize("the cat sat on the mat . the end", vocab_size=4)
    assert len(toks.vocab) == 4
    st_ = nl.context_length_statistics(toks.tokens, [1, 2])
    assert np.all(st_.entropy >= 0)
    assert isinstance(nl.load_text(), str)


@covers("dirichlet_expected_entropy")
@settings(max_examples=20, deadline=None)
@given(st.integers(1, 50), st.floats(1e-3, 1e3))
def test_dirichlet_entropy_is_the_harmonic_number_at_alpha_one(S, alpha):
    assert nl.dirichlet_expected_entropy(S) == pytest.approx(sum(1.0 / k for k in range(2, S + 1)), abs=1e-12)
    e = nl.dirichlet_expected_entropy(S, alpha)
    assert 0 <= e <= np.log(S) + 1e-12  # an expected entropy on S tokens
    P = np.random.default_rng(S).dirichlet(np.full(S, alpha), size=4000)
    mc = -np.sum(np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0), axis=1)
    assert abs(mc.mean() - e) <= 5 * mc.std() / np.sqrt(mc.size) + 1e-9
