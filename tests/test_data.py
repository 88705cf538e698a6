from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ntpbook_lib import NTPData


def counts_matrices(max_V=6, max_m=6):
    shape = st.tuples(st.integers(1, max_V), st.integers(1, max_m))
    return shape.flatmap(lambda s: hnp.arrays(np.int64, s, elements=st.integers(0, 5))).filter(
        lambda C: np.all(C.sum(axis=0) > 0))


@settings(max_examples=60, deadline=None)
@given(counts_matrices())
def test_from_counts_invariants(C):
    d = NTPData.from_counts(C)
    np.testing.assert_allclose(d.P.sum(axis=0), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(d.pi, C.sum(axis=0) / C.sum(), rtol=1e-12)
    np.testing.assert_array_equal(d.S, (C > 0).astype(float))
    np.testing.assert_array_equal(d.support_sizes, (C > 0).sum(axis=0))
    assert d.n == C.sum() and (d.V, d.m) == C.shape
    # entropy against its defining formula, written independently with 0 log 0 = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(d.P > 0, d.P * np.log(d.P), 0.0)
    np.testing.assert_allclose(d.entropy, -(d.pi * terms.sum(axis=0)).sum(), rtol=1e-12, atol=1e-14)
    assert d.entropy >= 0
    assert [s.tolist() for s in d.supports] == [np.flatnonzero(C[:, j]).tolist() for j in range(C.shape[1])]


def test_sparse_and_dense_counts_agree():
    C = np.array([[2, 0, 1], [0, 3, 1], [1, 0, 0]])
    stored_zero = sp.csc_array((np.array([2.0, 0.0, 1.0, 3.0, 1.0, 1.0]), (np.array([0, 1, 2, 1, 0, 1]),
                                                                           np.array([0, 0, 0, 1, 2, 2]))), shape=(3, 3))
    a, b = NTPData.from_counts(C), NTPData.from_counts(sp.csr_array(C))
    np.testing.assert_allclose(NTPData.from_counts(stored_zero).P, a.P)  # an explicitly stored 0 is no count
    np.testing.assert_allclose(a.P, b.P)
    np.testing.assert_allclose(a.pi, b.pi)
    assert a.entropy == pytest.approx(b.entropy, rel=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 4)), min_size=1, max_size=40))
def test_from_pairs_agrees_with_from_counts(pairs):
    contexts, tokens = zip(*pairs)
    data, distinct = NTPData.from_pairs(list(contexts), list(tokens), V=5)
    assert distinct == list(dict.fromkeys(contexts))  # order of first appearance
    C = np.zeros((5, len(distinct)))
    for c, z in pairs:
        C[z, distinct.index(c)] += 1
    ref = NTPData.from_counts(C)
    np.testing.assert_allclose(data.P, ref.P, atol=1e-15)
    np.testing.assert_allclose(data.pi, ref.pi, atol=1e-15)
    assert data.n == len(pairs)


def _reference_from_tokens(tokens, t):
    c = Counter((tuple(tokens[i:i + t]), tokens[i + t]) for i in range(len(tokens) - t))
    contexts = sorted({ctx for ctx, _ in c})
    return c, contexts


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.sampled_from([2, 3, 7, 1 << 20]), st.data())
def test_from_tokens_agrees_with_counter(t, V, draw):
    # V = 2^20 with t ≥ 3 needs more than 63 bits per window: the rank-compression path
    tokens = draw.draw(st.lists(st.integers(0, min(V, 6) - 1).map(lambda x: x * (V // 6 or 1) % V),
                                min_size=t + 1, max_size=60))
    data, contexts = NTPData.from_tokens(np.array(tokens), t, V=V)
    c, ref_contexts = _reference_from_tokens(tokens, t)
    assert [tuple(r) for r in contexts.tolist()] == ref_contexts  # lexicographic order
    assert data.n == len(tokens) - t and data.V == V
    dense = data.P_sparse.toarray() if V < 100 else None
    for (ctx, z), k in c.items():
        j = ref_contexts.index(ctx)
        total = sum(v for (cc, _), v in c.items() if cc == ctx)
        assert data.P_sparse[z, j] == pytest.approx(k / total, rel=1e-12)
        assert data.pi[j] == pytest.approx(total / data.n, rel=1e-12)
    if dense is not None:
        assert np.count_nonzero(dense) == len(c)


def test_from_tokens_equals_from_pairs_on_text_sized_stream():
    rng = np.random.default_rng(0)
    tokens = rng.zipf(1.5, size=20_000) % 300
    for t in (1, 2, 5):
        a, ctx = NTPData.from_tokens(tokens, t)
        windows = [tuple(tokens[i:i + t]) for i in range(len(tokens) - t)]
        b, distinct = NTPData.from_pairs(windows, tokens[t:], V=a.V)
        order = [distinct.index(tuple(r)) for r in ctx.tolist()]
        np.testing.assert_allclose(a.P_sparse.toarray(), b.P_sparse.toarray()[:, order], atol=1e-15)
        np.testing.assert_allclose(a.pi, b.pi[order], atol=1e-15)


def test_from_sequences_pools_all_prefixes():
    seqs = [[0, 1, 2], [0, 1, 3], [0, 2]]
    data, contexts = NTPData.from_sequences(seqs, V=4)
    assert contexts == [(0,), (0, 1)]
    # (0,) is followed by 1, 1, 2; (0, 1) by 2 and 3
    np.testing.assert_allclose(data.P[:, 0], [0, 2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(data.P[:, 1], [0, 0, 1 / 2, 1 / 2])
    np.testing.assert_allclose(data.pi, [3 / 5, 2 / 5])
    longer, _ = NTPData.from_sequences(seqs, V=4, min_length=2)
    assert longer.m == 1


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("C, msg", [
    (np.array([[1.0, -1.0], [1.0, 2.0]]), "non-negative"),
    (np.array([[1.0, np.nan], [1.0, 2.0]]), "finite"),
    (np.array([[1.0, np.inf], [1.0, 2.0]]), "finite"),
    (np.array([[1.0, 0.0], [1.0, 0.0]]), "all-zero column"),
    (np.array([1.0, 2.0]), "V×m"),
])
def test_from_counts_rejects(C, msg):
    with pytest.raises(ValueError, match=msg):
        NTPData.from_counts(C)


@settings(max_examples=40, deadline=None)
@given(counts_matrices(), st.integers(0, 100), st.floats(-1e3, -1e-6))
def test_any_negative_count_is_rejected(C, where, value):
    C = C.astype(float)
    C.flat[where % C.size] = value
    with pytest.raises(ValueError, match="non-negative"):
        NTPData.from_counts(C)


def test_P_columns_must_be_distributions():
    with pytest.raises(ValueError, match="column j=1 of P is not a distribution"):
        NTPData(np.array([[0.5, 0.5], [0.5, 0.4]]), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="negative"):
        NTPData(np.array([[1.5, 0.5], [-0.5, 0.5]]), np.array([0.5, 0.5]))


def test_pi_checks():
    P = np.eye(2)
    with pytest.raises(ValueError, match="shape"):
        NTPData(P, np.ones(3) / 3)
    with pytest.raises(ValueError, match="sum to 1"):
        NTPData(P, np.array([0.5, 0.6]))


@pytest.mark.parametrize("tokens, V, msg", [
    ([0, 1.5, 2], None, "integers"),
    ([0, 1, -1], None, "non-negative"),
    ([0, 1, 7], 5, "out of range"),
    ([[0, 1], [1, 0]], None, "1-D"),
    ([0], None, "no window"),
])
def test_from_tokens_rejects(tokens, V, msg):
    with pytest.raises(ValueError, match=msg):
        NTPData.from_tokens(tokens, 1, V=V)


def test_from_pairs_rejects_mismatch():
    with pytest.raises(ValueError, match="3 contexts but 2 next tokens"):
        NTPData.from_pairs(["a", "b", "c"], [0, 1])
    with pytest.raises(ValueError, match="out of range"):
        NTPData.from_pairs(["a"], [4], V=3)


@pytest.mark.parametrize("t", [5, 6, 7, 8])
def test_from_tokens_long_windows_agree_with_from_pairs(t):
    """At V = 2000 a window of t + 1 ≥ 6 tokens needs more than 63 bits: the codes are built chunk by chunk."""
    rng = np.random.default_rng(t)
    tokens = (rng.zipf(1.2, size=30_000) - 1) % 2000
    tokens[:40] = np.tile([1999, 0, 1999, 1024, 3], 8)  # repeated contexts across the chunk boundaries
    a, ctx = NTPData.from_tokens(tokens, t, V=2000)
    windows = [tuple(tokens[i:i + t]) for i in range(len(tokens) - t)]
    assert [tuple(r) for r in ctx.tolist()] == sorted(set(windows))  # lexicographic order
    b, distinct = NTPData.from_pairs(windows, tokens[t:], V=2000)
    index = {c: j for j, c in enumerate(distinct)}
    order = [index[tuple(r)] for r in ctx.tolist()]
    np.testing.assert_array_equal(a.P_sparse.toarray(), b.P_sparse[:, order].toarray())
    np.testing.assert_allclose(a.pi, b.pi[order], rtol=1e-15, atol=0)  # count/n here, normalised column sums there
