from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ntpbook_lib as nl
from ntpbook_lib.language import role_similarity


def _loop_counts(pairs):
    """(context tuple, next token) → count, by a plain loop."""
    counts = Counter()
    for ctx, z in pairs:
        counts[tuple(int(a) for a in ctx), int(z)] += 1
    return counts


def assert_matches_counts(lang, counts, V):
    """Assert that lang holds exactly the (context, next token) counts of a plain counting loop."""
    data, X = lang.data, lang.contexts
    contexts = sorted({c for c, _ in counts})
    assert data.V == V and data.m == len(contexts)
    assert [tuple(r) for r in X] == contexts  # distinct contexts, lexicographic order
    n = sum(counts.values())
    C = data.P * data.pi * n
    want = np.zeros((V, len(contexts)))
    for (c, z), k in counts.items():
        want[z, contexts.index(c)] = k
    np.testing.assert_allclose(C, want, atol=1e-9)
    assert data.n == n


@pytest.mark.parametrize("seed, V, t", [(0, 3, 1), (1, 4, 2), (2, 6, 3), (3, 2, 5)])
def test_stream_contexts_match_a_counting_loop(seed, V, t):
    tokens = np.random.default_rng(seed).integers(0, V, size=300)
    lang = nl.stream_contexts(tokens, t, V)
    counts = _loop_counts((tokens[i:i + t], tokens[i + t]) for i in range(len(tokens) - t))
    assert_matches_counts(lang, counts, V)


@pytest.mark.parametrize("seed, V, t", [(0, 5, 2), (1, 3, 4)])
def test_line_contexts_take_one_pair_per_line(seed, V, t):
    rng = np.random.default_rng(seed)
    lines = [rng.integers(0, V, size=rng.integers(0, 9)) for _ in range(200)]
    lang = nl.line_contexts(lines, t, V)
    counts = _loop_counts((line[:t], line[t]) for line in lines if len(line) > t)
    assert_matches_counts(lang, counts, V)


def test_pairs_data_matches_a_counting_loop():
    rng = np.random.default_rng(5)
    X, z = rng.integers(0, 3, size=(100, 2)), rng.integers(0, 4, size=100)
    assert_matches_counts(nl.pairs_data(X, z, 4), _loop_counts(zip(X, z)), 4)


def test_text_contexts_cap_the_vocabulary_with_unk():
    text = "the cat sat on the mat .\nthe dog sat on the log .\na cat ran .\n"
    lang = nl.text_contexts(text, V=5, t=2)
    assert len(lang.vocab) == 5 and lang.vocab[-1] == "<unk>" and lang.data.V == 5
    tok = nl.tokenize(text, 5)
    counts = _loop_counts((tok.tokens[i:i + 2], tok.tokens[i + 2]) for i in range(len(tok.tokens) - 2))
    assert_matches_counts(lang, counts, 5)
    per_line = nl.text_contexts(text, V=5, t=2, per_line=True)
    lines = [nl.encode(line, tok.vocab) for line in text.splitlines()]
    assert_matches_counts(per_line, _loop_counts((line[:2], line[2]) for line in lines), 5)  # one pair per line
    ids = {w: i for i, w in enumerate(tok.vocab)}
    np.testing.assert_array_equal(nl.encode("The cat flew", tok.vocab), [ids["the"], ids["cat"], ids["<unk>"]])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        nl.encode("zebra", ["cat", "dog"])


def test_resample_counts_keeps_supports():
    lang = nl.text_contexts(nl.load_text()[:20_000], V=40, t=2)
    for max_count in (2, 4):
        new = nl.resample_counts(lang, np.random.default_rng(max_count), max_count)
        np.testing.assert_array_equal(new.data.S, lang.data.S)
        C = new.data.P * new.data.pi * new.data.n
        vals = C[lang.data.S > 0]
        np.testing.assert_allclose(vals, np.round(vals), atol=1e-9)
        assert set(np.round(vals).astype(int)) == set(range(1, max_count + 1))
        assert np.all(C[lang.data.S == 0] == 0)
        assert new.contexts is lang.contexts


def test_synthetic_sentences():
    lang = nl.synthetic_sentences(np.random.default_rng(0))
    data = lang.data
    assert (data.V, data.m) == (30, 16) and len(lang.vocab) == 30 and lang.contexts.shape == (16, 5)
    assert np.all(data.support_sizes == 3)
    C = np.round(data.P * data.pi * data.n)
    assert set(C[data.S > 0].astype(int)) <= {1, 2}
    assert len(np.unique(data.S.T, axis=0)) == 8  # 8 supports, each shared by two contexts
    words = [" ".join(lang.vocab[i] for i in row) for row in lang.contexts]
    j = words.index("the big cat eats the")
    assert {lang.vocab[z] for z in data.supports[j]} == {"fish", "meat", "bone"}
    assert all(w.endswith(" the") for w in words)


@pytest.fixture(scope="module")
def simplified():
    return nl.simplified_language(np.random.default_rng(0), n_frequent=40, variants=3)


def test_simplified_language_shares_supports(simplified):
    lang = simplified
    data, X, g = lang.data, lang.contexts, lang.groups
    assert data.V == 100 and X.shape == (data.m, 5) and len(set(map(tuple, X))) == data.m
    sizes = np.bincount(g)
    assert sizes.max() > 1 and sizes.sum() == data.m and data.m > 2 * 40
    assert len(np.unique(data.S.T, axis=0)) < data.m  # contexts really share supports
    tok = nl.tokenize(nl.load_text(), 100)
    R = role_similarity(tok.tokens, 100)
    # the supports are the corpus's own next-token sets of the frequent context, by a counting loop
    follow = defaultdict(set)
    for i in range(len(tok.tokens) - 5):
        follow[tuple(tok.tokens[i:i + 5])].add(int(tok.tokens[i + 5]))
    for grp in range(sizes.size):
        rows = np.flatnonzero(g == grp)
        base = X[rows[0]]
        assert set(data.supports[rows[0]].tolist()) == follow[tuple(base)]
        for j in rows[1:]:
            np.testing.assert_array_equal(data.S[:, j], data.S[:, rows[0]])
            diff = np.flatnonzero(X[j] != base)
            assert diff.size == 1  # one word substituted
            assert R[base[diff[0]], X[j, diff[0]]] >= 0.7  # by a word of the same role
    C = np.round(data.P * data.pi * data.n)
    assert set(C[data.S > 0].astype(int)) <= {1, 2, 3, 4}


@pytest.mark.parametrize("call, msg", [
    (lambda: nl.pairs_data([[0, 1], [1]], [0, 1]), "mismatched lengths"),
    (lambda: nl.pairs_data([[0, 5]], [0], V=4), "out of range"),
    (lambda: nl.pairs_data([[0, 1]], [7], V=4), "out of range"),
    (lambda: nl.pairs_data([[0, 1]], [0, 1]), "next_tokens"),
    (lambda: nl.stream_contexts([0, 1, 9], 1, V=4), "out of range"),
    (lambda: nl.line_contexts([[0, 1]], 3), "no line"),
    (lambda: nl.simplified_language(np.random.default_rng(0), max_support=1), "max_support"),
])
def test_bad_input(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(2, 5), st.lists(st.integers(0, 4), min_size=2, max_size=60))
def test_stream_contexts_property(t, V, raw):
    tokens = np.array(raw) % V
    if tokens.size <= t:
        with pytest.raises(ValueError, match="no window"):
            nl.stream_contexts(tokens, t, V)
        return
    lang = nl.stream_contexts(tokens, t, V)
    counts = _loop_counts((tokens[i:i + t], tokens[i + t]) for i in range(len(tokens) - t))
    assert_matches_counts(lang, counts, V)


# ------------------------------------------------------------------ chapter 5's controls and diagnostics
from ntpbook_lib import language as lg


def _partition(S):
    """The contexts grouped by equal support, as a set of frozensets of column indices."""
    _, inv = np.unique(S.T, axis=0, return_inverse=True)
    return {frozenset(np.flatnonzero(inv.ravel() == g)) for g in np.unique(inv)}


@pytest.mark.parametrize("weighted", [False, True])
def test_matched_random_supports_keep_grouping_and_sizes(weighted):
    S = nl.text_contexts(nl.load_text()[:20_000], V=30, t=2).data.S
    R = lg.matched_random_supports(S, np.random.default_rng(0), weighted=weighted)
    assert R.shape == S.shape and set(np.unique(R)) <= {0.0, 1.0}
    np.testing.assert_array_equal(R.sum(axis=0), S.sum(axis=0))    # every context keeps its support size
    assert _partition(R) == _partition(S)                             # and its group of equal supports
    assert not np.array_equal(R, S)
    if weighted:  # tokens in no support of S have weight 0
        assert np.all(R[S.sum(axis=1) == 0] == 0)
    with pytest.raises(ValueError, match="support matrix"):
        lg.matched_random_supports(np.zeros((3, 2)), np.random.default_rng(0))


def test_factor_proxy_sims_are_one_at_the_proxy_factors():
    S = nl.random_supports(6, 9, 2, np.random.default_rng(1))
    W, H = nl.mm_embeddings(nl.centered_support(S))
    O = np.linalg.qr(np.random.default_rng(2).standard_normal((W.shape[1],) * 2))[0]   # a rotation changes nothing
    np.testing.assert_allclose(lg.factor_proxy_sims(W @ O, O.T @ H, S), (1.0, 1.0), atol=1e-8)
    with pytest.raises(ValueError, match="rows"):
        lg.factor_proxy_sims(W[:-1], H, S)


def test_spectral_learning_reads_the_component_of_each_direction():
    S = nl.random_supports(7, 12, 3, np.random.default_rng(3))
    U, s, Qt = np.linalg.svd(nl.centered_support(S), full_matrices=False)
    r = int(np.sum(s > 1e-10 * s[0]))
    # logits with component c_k(step) = step · k / r along direction k (in units of σ_k)
    snaps = {}
    for step in (1, 2, 4):
        c = step * np.arange(1, r + 1) / r
        snaps[step] = (U[:, :r] * (c * s[:r]), Qt[:r])
    sp_ = lg.spectral_learning(snaps, S, threshold=0.999)
    np.testing.assert_allclose(sp_.sigma, s[:r])
    np.testing.assert_allclose(sp_.coef[2], 4 * np.arange(1, r + 1) / r, atol=1e-10)
    want = [min((k for k in (1, 2, 4) if k * (i + 1) / r >= 0.999), default=np.inf) for i in range(r)]
    np.testing.assert_array_equal(sp_.learned_at, want)


def test_seed_spread_and_separation():
    assert lg.seed_spread([1.0, 3.0, 2.0]) == (2.0, 1.0, 3.0)
    assert lg.separated([0.1, 0.2], [0.3, 0.4]) and not lg.separated([0.1, 0.35], [0.3, 0.4])
    with pytest.raises(ValueError):
        lg.seed_spread([])


@pytest.mark.parametrize("ratio", [1, 30, 1000])
def test_one_hot_supports_make_the_proxy_exact(ratio):
    """Thrampoulidis et al. 2022 (chapter 5): one-hot supports give L^mm = S̃ (the SEL matrix) for any imbalance."""
    n_z = np.maximum(1, np.round(np.geomspace(ratio, 1, 5))).astype(int)
    S = np.zeros((5, n_z.sum()))
    S[np.repeat(np.arange(5), n_z), np.arange(n_z.sum())] = 1.0
    assert bool(nl.certificate(S))
    np.testing.assert_allclose(nl.ntp_svm_logits(S, tol=1e-9), nl.centered_support(S), atol=1e-5)


def test_train_networks_runs_every_kind_and_names_both_proxies():
    lang = nl.synthetic_sentences(np.random.default_rng(0))
    ref = nl.ufm_reference(lang.data)
    runs = lg.train_networks(lang, ref, seeds=(0, 1), d=8, steps=3, lr=1e-2, n_records=2,
                             snapshots={"transformer": [1, 3]})
    assert set(runs) == {(k, s) for k in lg.NETWORKS + ("NTP-UFM",) for s in (0, 1)}
    assert set(runs["transformer", 0].snapshots) == {1, 3} and not runs["transformer", 1].snapshots
    m = lg.run_metrics(runs["LSTM", 0], lang.data.S)
    assert {"sim_H_gram", "sim_H_factor", "sim_W_gram", "sim_W_factor"} <= set(m)
    assert m["sim_H_gram"] == pytest.approx(runs["LSTM", 0].final()["sim_H_proxy"])
    with pytest.raises(ValueError, match="kind"):
        lg.make_network("CNN", lang, 8, 0)


def test_chapter_table_helpers():
    lang = nl.synthetic_sentences(np.random.default_rng(0))
    rows = lg.context_rows(lang, [0, 4])
    assert rows[0]["context"] == "the big cat eats the" and rows[0]["next tokens"] == "fish, meat, bone"
    np.testing.assert_allclose(rows[1]["p̂"].sum(), 1.0, atol=0.02)
    with pytest.raises(ValueError):
        lg.context_rows(lang, [lang.data.m])
    assert lg.format_spread([1.0, 2.0, 3.0], "{:.1f}") == "2.0 [1.0, 3.0]"
    assert lg.format_spread([0.5, 0.5]) == "0.5"
    vals = {("a", "x"): [1.0, 2.0], ("b", "x"): [3.0, 4.0]}
    assert lg.spread_rows(vals, ["a", "b"], [("X", "x", "{:.0f}")]) == [
        {"model": "a", "X": "2 [1, 2]"}, {"model": "b", "X": "4 [3, 4]"}]
    assert lg.ordering({"b": [3.0, 4.0], "a": [1.0, 2.0], "c": [3.5, 5.0]}) == "a < b ≈ c"
    with pytest.raises(ValueError):
        lg.ordering({})
    assert lg.largest_rise([0, 1, 2, 3], [4.0, 1.0, 3.0, 0.5]) == (1.0, 3.0, 2)
    assert lg.largest_rise([1, 2], [2.0, 1.0]) == (2.0, 2.0, 1)
    with pytest.raises(ValueError):
        lg.largest_rise([1, 2], [1.0, 0.0])
