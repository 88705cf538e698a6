import numpy as np
import pytest

from ntpbook_lib import NTPData, context_length_statistics, load_text, tokenize


@pytest.fixture(scope="module")
def docs():
    return tokenize(load_text("python-docs"), vocab_size=2000)


def test_offline_corpus_and_tokenizer(docs):
    assert docs.tokens.size > 100_000
    assert len(docs.vocab) == 2000 and docs.vocab[-1] == "<unk>"
    assert docs.tokens.max() == 1999 and docs.tokens.min() == 0
    counts = np.bincount(docs.tokens[docs.tokens < 1999])
    assert np.all(np.diff(counts) <= 0)  # ids are ranked by frequency


def test_language_gets_sparser_with_context_length(docs):
    st = context_length_statistics(docs.tokens, range(1, 6))
    assert np.all(np.diff(st.entropy) < 0)
    assert np.all(np.diff(st.mean_support) < 0)
    assert np.all(np.diff(st.m) > 0)
    for t, s, pi in zip(st.t, st.support_sizes, st.pi):
        data, _ = NTPData.from_tokens(docs.tokens, int(t))
        np.testing.assert_array_equal(s, data.support_sizes)
        assert pi.sum() == pytest.approx(1.0)


def test_unknown_corpus():
    with pytest.raises(ValueError, match="unknown corpus"):
        load_text("wikipedia")


def test_tokenize_rejects_tiny_vocab():
    with pytest.raises(ValueError, match="vocab_size"):
        tokenize("a b c", vocab_size=1)
