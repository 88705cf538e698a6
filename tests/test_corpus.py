import hashlib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from ntpbook_lib import NTPData, context_length_statistics, load_text, tokenize
from ntpbook_lib.corpus import tinystories_stories

FIXTURE = Path(__file__).with_name("data") / "tinystories_sample.txt"
ALICE_SHA256 = "7467306ee0feed4971260f3c87421154a05be571d944e9cb021a5713700c38f0"


@pytest.fixture(scope="module")
def docs():
    return tokenize(load_text("python-docs"), vocab_size=2000)


def test_shipped_alice_is_the_canterbury_file_and_loads_as_prose():
    raw = files("ntpbook_lib").joinpath("data/alice29.txt").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == ALICE_SHA256  # the bytes PROVENANCE.md describes
    assert files("ntpbook_lib").joinpath("data/PROVENANCE.md").read_text().count(ALICE_SHA256) == 1
    text = load_text("alice")
    assert text == load_text() and "\r" not in text
    assert text.lstrip().startswith("ALICE'S ADVENTURES IN WONDERLAND") and text.rstrip().endswith("THE END")
    tok = tokenize(text, vocab_size=64)
    assert 30_000 < tok.tokens.size < 40_000
    assert {"alice", "the", "said", "little"} <= set(tok.vocab)


def test_tinystories_from_a_local_file_in_the_release_format():
    stories = tinystories_stories(FIXTURE.read_text())
    assert len(stories) == 3 and stories[0].startswith("Once upon a time") and all("<|" not in s for s in stories)
    text = load_text("tinystories", path=FIXTURE)
    assert text == "\n\n".join(stories)
    assert load_text("tinystories", n_stories=2, path=FIXTURE) == "\n\n".join(stories[:2])
    tok = tokenize(text, vocab_size=20)
    assert len(tok.vocab) == 20 and tok.vocab[-1] == "<unk>"
    with pytest.raises(ValueError, match="no story"):
        tinystories_stories("<|endoftext|>\n<|endoftext|>")
    with pytest.raises(ValueError, match="only for source='tinystories'"):
        load_text("alice", path=FIXTURE)


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
