"""Real text for the language-sparsity experiments: an offline corpus and an opt-in TinyStories loader."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .data import NTPData
from .validation import check_int, check_ints, check_vocab

__all__ = ["load_text", "tinystories_stories", "tokenize", "encode", "Tokenized", "context_length_statistics", "ContextStats"]

_WORD = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]")


_DATA = Path(__file__).with_name("data")
_EOT = "<|endoftext|>"  # TinyStories' story separator in its plain-text release


def load_text(source: str = "alice", n_stories: int = 2000, path: str | Path | None = None) -> str:
    """Return a corpus as one string.

    ``"alice"`` (default, offline): Lewis Carroll's *Alice's Adventures in Wonderland* (1865, public domain), the
    Canterbury corpus's ``alice29.txt``, shipped as package data (``ntpbook_lib/data/PROVENANCE.md``), about
    27 000 words of English prose.  ``"python-docs"`` (offline): the reference-manual topics that ship with every
    Python (``pydoc_data.topics``; they change with the Python release).  ``"tinystories"``: the first
    ``n_stories`` stories of TinyStories (Eldan & Li, 2023), from a local file in its plain-text release format
    (stories separated by ``<|endoftext|>``) when ``path`` is given, otherwise downloaded through the Hugging Face
    ``datasets`` package (opt-in: this is the only loader that uses the network).
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a corpus name (str), got {type(source).__name__}")
    n_stories = check_int(n_stories, "n_stories", minimum=1)
    if path is not None and source != "tinystories":
        raise ValueError(f"path is read only for source='tinystories', not for {source!r}")
    if source == "alice":
        raw = (_DATA / "alice29.txt").read_text(encoding="ascii")
        return raw.replace("\r\n", "\n").rstrip("\x1a")  # LF line ends, without the DOS end-of-file byte
    if source == "python-docs":
        from pydoc_data.topics import topics

        return "\n\n".join(topics[k] for k in sorted(topics))
    if source == "tinystories":
        if path is not None:
            return "\n\n".join(tinystories_stories(Path(path).read_text(encoding="utf-8"), n_stories))
        try:
            from datasets import load_dataset
        except ImportError as err:  # pragma: no cover - depends on the reader's machine
            raise ImportError("TinyStories needs the `datasets` package: pip install datasets") from err
        ds = load_dataset("roneneldan/TinyStories", split=f"train[:{int(n_stories)}]")  # pragma: no cover - downloads
        return "\n\n".join(ds["text"])  # pragma: no cover
    raise ValueError(f"unknown corpus {source!r}; use 'alice' or 'python-docs' (offline) or 'tinystories'")


def tinystories_stories(text: str, n_stories: int | None = None) -> list[str]:
    """The stories of TinyStories' plain-text release (separated by ``<|endoftext|>``), stripped, empty ones dropped."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    stories = [s.strip() for s in text.split(_EOT)]
    stories = [s for s in stories if s]
    if not stories:
        raise ValueError("the text holds no story (TinyStories separates stories by '<|endoftext|>')")
    if n_stories is not None:
        stories = stories[: check_int(n_stories, "n_stories", minimum=1)]
    return stories


class Tokenized(NamedTuple):
    tokens: np.ndarray  # (N,) int64 token ids
    vocab: list[str]  # id -> word; the last id is "<unk>" when some words were cut


def tokenize(text: str, vocab_size: int | None = None) -> Tokenized:
    """Lower-cased word/punctuation tokens; keeps the ``vocab_size − 1`` most frequent words and maps the rest to ``<unk>``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if vocab_size is not None:
        vocab_size = check_int(vocab_size, "vocab_size")
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2 to hold a word and <unk>, got {vocab_size}")
    words = _WORD.findall(text.lower())
    if not words:
        raise ValueError("the text has no tokens")
    freq = Counter(words)
    ranked = [w for w, _ in freq.most_common()]
    if vocab_size is not None and vocab_size < len(ranked):
        ranked = ranked[: vocab_size - 1] + ["<unk>"]
    index = {w: i for i, w in enumerate(ranked)}
    unk = index.get("<unk>", -1)
    tokens = np.fromiter((index.get(w, unk) for w in words), dtype=np.int64, count=len(words))
    return Tokenized(tokens, ranked)


def encode(text: str, vocab: list[str]) -> np.ndarray:
    """Token ids of ``text`` in a given vocabulary (as :func:`tokenize` splits words); unknown words map to ``<unk>``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    vocab = check_vocab(vocab, "vocab")
    index = {w: i for i, w in enumerate(vocab)}
    words = _WORD.findall(text.lower())
    unk = index.get("<unk>")
    missing = [w for w in words if w not in index]
    if missing and unk is None:
        raise ValueError(f"word {missing[0]!r} is not in the vocabulary, which has no '<unk>' token")
    return np.fromiter((index.get(w, unk) for w in words), dtype=np.int64, count=len(words))


class ContextStats(NamedTuple):
    t: np.ndarray  # context lengths
    m: np.ndarray  # distinct contexts
    mean_support: np.ndarray  # mean of S_j, weighted by π̂_j
    frac_deterministic: np.ndarray  # π̂-mass of contexts with S_j = 1
    entropy: np.ndarray  # H_t in nats
    support_sizes: list[np.ndarray]  # S_j for each t
    pi: list[np.ndarray]  # π̂ for each t


def context_length_statistics(tokens: np.ndarray, lengths: list[int] | range, V: int | None = None) -> ContextStats:
    """Sparsity of next-token distributions as the context length t grows (T24 §2, Z24 §2)."""
    lengths = check_ints(lengths, "lengths", minimum=1)
    if not lengths:
        raise ValueError("lengths must list at least one context length")
    rows = []
    for t in lengths:
        data, _ = NTPData.from_tokens(tokens, t, V)
        s = data.support_sizes
        rows.append((t, data.m, float(data.pi @ s), float(data.pi @ (s == 1)), data.entropy, s, data.pi))
    cols = list(zip(*rows))
    return ContextStats(*(np.array(c) for c in cols[:5]), list(cols[5]), list(cols[6]))
