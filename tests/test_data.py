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


# ------------------------------------------------------------------ the counting path: sizes, huge ids, no hangs
def _counts_by_reference(tokens, t):
    """{(context tuple, next token): count} by a plain loop, and the sorted distinct contexts."""
    c = Counter((tuple(int(x) for x in tokens[i:i + t]), int(tokens[i + t])) for i in range(len(tokens) - t))
    return c, sorted({ctx for ctx, _ in c})


def _assert_counts(data, contexts, tokens, t):
    c, ref_contexts = _counts_by_reference(tokens, t)
    assert [tuple(r) for r in contexts.tolist()] == ref_contexts
    index = {ctx: j for j, ctx in enumerate(ref_contexts)}
    totals = Counter()
    for (ctx, _), k in c.items():
        totals[ctx] += k
    P = data.P_sparse.tocoo()
    got = {(ref_contexts[j], int(z)): p for z, j, p in zip(P.row, P.col, P.data)}
    assert got.keys() == c.keys()
    for key, k in c.items():
        assert got[key] == pytest.approx(k / totals[key[0]], rel=1e-13)
    np.testing.assert_allclose(data.pi, [totals[ctx] / (len(tokens) - t) for ctx in ref_contexts], rtol=1e-13)
    assert all(index[ctx] == j for j, ctx in enumerate(ref_contexts))


def _in_spawned_process(func, *args, limit=60.0):
    """func(*args) in a spawned interpreter (never forked), killed after ``limit`` seconds: ("ok", value),
    ("error", type name, message), or ("hung",)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        res = pool.apply_async(func, args)
        try:
            return res.get(timeout=limit)
        except mp.TimeoutError:
            pool.terminate()
            return ("hung",)


def _call_from_tokens(tokens, t, V):
    try:
        data, ctx = NTPData.from_tokens(tokens, t, V)
        return ("ok", data.V, data.m, data.n, ctx.tolist())
    except Exception as e:  # noqa: BLE001 - reported to the parent
        return ("error", type(e).__name__, str(e))


def _call_from_sequences(seqs, V):
    try:
        data, ctx = NTPData.from_sequences(seqs, V)
        return ("ok", data.V, data.m, data.n, ctx)
    except Exception as e:  # noqa: BLE001
        return ("error", type(e).__name__, str(e))


@pytest.mark.parametrize("tokens, t, V, expect", [
    ([0, 1, 2, 3, 0, 1, 2, 3], 1, 2**62, ("ok", 2**62, 4, 7, [[0], [1], [2], [3]])),  # hung before
    ([0, 1, 2**62 - 1, 3, 0, 1, 2**62 - 1, 3], 2, None, ("ok", 2**62, 4, 6, None)),  # V inferred, hung before
    (np.array([2**63 - 1, 0, 2**63 - 1, 0], dtype=np.uint64), 1, None, ("error", "ValueError", "below 2^62")),
    (np.array([2**64 - 1, 0, 1], dtype=np.uint64), 1, None, ("error", "ValueError", "below 2^62")),  # wrapped before
    (np.array([2**62, 0, 1], dtype=np.int64), 1, None, ("error", "ValueError", "below 2^62")),
    ([0, 1, 0, 1], 1, 2**62 + 1, ("error", "ValueError", "V must be at most")),
])
def test_from_tokens_huge_ids_return(tokens, t, V, expect):
    """Every case returns (or raises a ValueError naming the argument) in a time-limited spawned process."""
    out = _in_spawned_process(_call_from_tokens, tokens, t, V)
    assert out[0] == expect[0], out
    if expect[0] == "ok":
        assert out[1:4] == expect[1:4]
        if expect[4] is not None:
            assert out[4] == expect[4]
    else:
        assert out[1] == expect[1] and expect[2] in out[2], out


def test_from_sequences_huge_ids_return():
    out = _in_spawned_process(_call_from_sequences, [[0, 1, 2**62 - 1], [0, 1, 3]], None)
    assert out[0] == "ok" and out[1] == 2**62 and out[4] == [(0,), (0, 1)], out
    out = _in_spawned_process(_call_from_sequences, [np.array([0, 2**63], dtype=np.uint64)], None)
    assert out[0] == "error" and out[1] == "ValueError" and "sequences[0]" in out[2], out


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 5), st.data())
def test_from_tokens_large_ids_agree_with_loop(t, k, draw):
    """Ids spread up to 2^62 (dense ranks inside), and few ids with long windows (many chunks): a plain loop."""
    ids = draw.draw(st.lists(st.integers(0, 2**62 - 1), min_size=k, max_size=k, unique=True))
    picks = draw.draw(st.lists(st.integers(0, k - 1), min_size=t + 1, max_size=80))
    tokens = np.array([ids[p] for p in picks], dtype=np.int64)
    data, contexts = NTPData.from_tokens(tokens, t)
    assert data.V == int(tokens.max()) + 1
    _assert_counts(data, contexts, tokens, t)


@pytest.mark.parametrize("V, t, period", [(2, 90, 7), (5, 40, 11), (3, 200, 1), (2000, 12, 5)])
def test_from_tokens_repetitive_long_windows(V, t, period):
    """Windows of hundreds of bits that tie on every chunk: each chunk must advance (bit-exact against a loop)."""
    rng = np.random.default_rng(t)
    tokens = np.tile(rng.integers(0, V, period), 600 // period + 2)[:600]
    tokens[rng.integers(0, 600, 5)] = rng.integers(0, V, 5)  # a few changes, so contexts differ deep inside
    data, contexts = NTPData.from_tokens(tokens, t, V)
    _assert_counts(data, contexts, tokens, t)


def test_from_tokens_leaves_the_tokens_alone():
    rng = np.random.default_rng(0)
    for dtype, t in ((np.int64, 2), (np.int64, 9), (np.uint16, 3), (np.int32, 12)):
        tokens = ((rng.zipf(1.3, 5000) - 1) % 3000).astype(dtype)
        before = tokens.copy()
        tokens.flags.writeable = False  # a read-only array is accepted as it is
        data, contexts = NTPData.from_tokens(tokens, t)
        np.testing.assert_array_equal(tokens, before)
        assert not np.shares_memory(contexts, tokens)
        assert not np.shares_memory(data.P_sparse.indices, tokens)


def test_from_tokens_refuses_what_cannot_fit(monkeypatch):
    import ntpbook_lib.data as data_module

    monkeypatch.setattr(data_module, "check_memory", _tiny_memory)
    with pytest.raises(ValueError, match="counting the 999 windows of context_length 1"):
        NTPData.from_tokens(np.arange(1000) % 7, 1)
    with pytest.raises(ValueError, match="prefixes of 1 sequences"):
        NTPData.from_sequences([list(range(100))])


def _tiny_memory(nbytes, what):
    if nbytes > 1000:
        raise ValueError(f"{what} needs about {nbytes:.0f} bytes")


def test_from_sequences_refuses_quadratic_prefixes_up_front():
    """One sequence of 10^7 tokens has prefixes of 5·10^13 tokens in all: refused before any work."""
    with pytest.raises(ValueError, match="prefixes of 1 sequences"):
        NTPData.from_sequences([np.zeros(10**7, dtype=np.int64)])


@pytest.mark.parametrize("N, V, t, repetitive", [(20_000, 2000, 1, False), (20_000, 2000, 3, False),
                                                 (20_000, 2000, 7, False), (20_000, 5, 40, True),
                                                 (20_000, 10**9, 2, False), (20_000, 2000, 8, True)])
def test_from_tokens_peak_memory_within_its_estimate(N, V, t, repetitive):
    """The memory check's estimate (per token, then the m×t contexts) against the peak tracemalloc measures."""
    import tracemalloc

    from ntpbook_lib.data import _BYTES_PER_WINDOW

    rng = np.random.default_rng(1)
    tokens = np.tile(rng.integers(0, V, 50), N // 50) if repetitive else (rng.zipf(1.2, N) - 1) % V
    tracemalloc.start()
    data, contexts = NTPData.from_tokens(tokens, t, V)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    estimate = _BYTES_PER_WINDOW * N + 8.0 * data.m * t
    assert peak <= estimate
    assert estimate <= 6 * peak  # not so loose that valid input is refused long before memory runs out


def test_from_sequences_matches_its_definition():
    """The trie construction against the definition: every prefix of length ≥ min_length as a tuple context."""
    rng = np.random.default_rng(3)
    seqs = [rng.integers(0, 4, rng.integers(1, 9)).tolist() for _ in range(40)] + [[], [2]]
    for min_length in (1, 2, 3):
        data, contexts = NTPData.from_sequences(seqs, V=4, min_length=min_length)
        pairs = [(tuple(s[:k]), s[k]) for s in seqs for k in range(min_length, len(s))]
        ref, distinct = NTPData.from_pairs([c for c, _ in pairs], [z for _, z in pairs], V=4)
        assert contexts == distinct
        np.testing.assert_array_equal(data.P, ref.P)
        np.testing.assert_array_equal(data.pi, ref.pi)
        assert data.n == ref.n
