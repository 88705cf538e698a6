"""Language data agree with a counting loop; samplers keep supports and the entropy range."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ntpbook_lib as nl

from fuzz_support import covers, make_text, outcome

def _counted(pairs) -> dict:
    """(context, next token) → count, by a plain loop."""
    out: dict = {}
    for ctx, z in pairs:
        key = (tuple(int(x) for x in ctx), int(z))
        out[key] = out.get(key, 0) + 1
    return out

def _counts_of(lang) -> dict:
    C = np.rint(lang.data.P * lang.data.pi * lang.data.n)
    return {(tuple(int(x) for x in lang.contexts[j]), int(z)): int(C[z, j]) for z, j in zip(*np.nonzero(C))}


@covers("encode", "stream_contexts", "line_contexts", "pairs_data", "text_contexts", "LanguageData")
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 3), st.integers(2, 40))
def test_contexts_agree_with_a_counting_loop(seed, t, V):
    text = make_text(seed, n_lines=8)
    tok = nl.tokenize(text, V)
    np.testing.assert_array_equal(nl.encode(text, tok.vocab), tok.tokens)
    lang = nl.stream_contexts(tok.tokens, t, vocab=tok.vocab)  # V from the vocabulary
    assert lang.data.V == len(tok.vocab) and lang.contexts.shape == (lang.data.m, t)
    assert _counts_of(lang) == _counted((tok.tokens[i:i + t], tok.tokens[i + t]) for i in range(tok.tokens.size - t))
    assert _counts_of(nl.text_contexts(text, V, t)) == _counts_of(lang)
    lines = [nl.encode(line, tok.vocab) for line in text.splitlines()]
    by_line = nl.line_contexts(lines, t, len(tok.vocab), tok.vocab)
    assert _counts_of(by_line) == _counted((x[:t], x[t]) for x in lines if len(x) > t)
    assert _counts_of(nl.text_contexts(text, V, t, per_line=True)) == _counts_of(by_line)
    X = np.array([x[:t] for x in lines if len(x) > t])
    z = np.array([x[t] for x in lines if len(x) > t])
    assert _counts_of(nl.pairs_data(X, z, len(tok.vocab))) == _counts_of(by_line)
    with pytest.raises(ValueError, match="out of range"):
        nl.stream_contexts(tok.tokens, t, V=int(tok.tokens.max()))
    with pytest.raises(ValueError, match="mismatched"):
        nl.pairs_data([list(X[0]), list(X[0]) + [0]], z[:2])
    with pytest.raises(ValueError, match="vocab"):
        nl.LanguageData(lang.data, lang.contexts, vocab=tok.vocab[:-1] + [tok.vocab[0]])


@covers("resample_counts", "synthetic_sentences", "simplified_language", "count_entropy_range")
@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 6))
def test_samplers_keep_supports_and_stay_in_the_entropy_range(seed, max_count):
    rng = np.random.default_rng(seed)
    lang = nl.synthetic_sentences(rng, max_count=max_count)
    new = nl.resample_counts(lang, rng, max_count=max_count)
    np.testing.assert_array_equal(new.data.S, lang.data.S)
    np.testing.assert_array_equal(new.contexts, lang.contexts)
    lo, hi = nl.count_entropy_range(3, max_count)  # every S_j = 3
    P = new.data.P
    h = -np.sum(np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0), axis=0)
    assert np.all(h >= lo - 1e-12) and np.all(h <= hi + 1e-12)
    C = np.rint(P * new.data.pi * new.data.n)
    assert set(C[new.data.S > 0].astype(int)) <= set(range(1, max_count + 1))
    simp = outcome(nl.simplified_language, rng, text=make_text(seed), V=25, t=2, n_frequent=4, max_count=max_count)
    if simp is not None:
        for g in np.unique(simp.groups):  # contexts of one group share their support
            cols = simp.data.S[:, simp.groups == g]
            assert np.all(cols == cols[:, :1])
