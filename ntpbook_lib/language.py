"""Language data for Z24 §5: contexts of fixed length, a capped vocabulary, and Z24's three data sets.

Every builder returns a :class:`LanguageData`: the NTP data (distinct contexts, ``π̂``, ``P``), the m×t array of
the distinct contexts' tokens (row j is context ``x̄_j``, the input of a network), and the vocabulary.

* :func:`stream_contexts` — every window of t tokens of a stream is a context (one pair per occurrence);
  :func:`line_contexts` — one pair per line, its first t tokens and the next one (Z24's construction);
  :func:`text_contexts` — either, from raw text with a vocabulary capped at ``V`` tokens, ``<unk>`` included.
* :func:`resample_counts` — Z24's sampler: the supports stay, the count of each support token is drawn
  uniformly from ``{1..max_count}``.
* :func:`synthetic_sentences` — hand-made sentences (Z24 §5.1: m = 16, V = 30, every ``S_j = 3``).
* :func:`simplified_language` — frequent contexts of a corpus, multiplied by substituting words of the same
  role so that several contexts share one support (Z24 §5.1, simplified TinyStories).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .corpus import encode, load_text, tokenize
from .data import NTPData
from .generators import random_ntp_data

__all__ = [
    "LanguageData",
    "pairs_data",
    "stream_contexts",
    "line_contexts",
    "text_contexts",
    "resample_counts",
    "synthetic_sentences",
    "role_similarity",
    "simplified_language",
]


class LanguageData(NamedTuple):
    """NTP data with the tokens of its distinct contexts (m×t) and, when known, the vocabulary and groups."""

    data: NTPData
    contexts: np.ndarray  # m×t int64: row j holds the tokens of context j
    vocab: list[str] | None = None  # token id → word
    groups: np.ndarray | None = None  # (m,) for simplified_language: the frequent context each one came from


def _context_array(contexts: np.ndarray | Sequence[Sequence[int]], V: int | None) -> np.ndarray:
    """An n×t int64 array of tokens in ``[0, V)``; ValueError for ragged rows or tokens out of range."""
    if not isinstance(contexts, np.ndarray):
        lengths = {len(c) for c in contexts}
        if len(lengths) > 1:
            raise ValueError(f"contexts have mismatched lengths {sorted(lengths)}; all must have the same length t")
    arr = np.asarray(contexts)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"contexts must be a non-empty n×t array of tokens, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"context tokens must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or (V is not None and arr.max() >= V):
        bad = arr.min() if arr.min() < 0 else arr.max()
        raise ValueError(f"context token {bad} is out of range for a vocabulary of size V={V}")
    return arr


def pairs_data(contexts: np.ndarray | Sequence[Sequence[int]], next_tokens: Sequence[int] | np.ndarray,
               V: int | None = None) -> LanguageData:
    """NTP data from n pairs (context of t tokens, next token); distinct contexts in lexicographic order (T24 §2)."""
    X = _context_array(contexts, V)
    z = np.asarray(next_tokens)
    if z.shape != (X.shape[0],):
        raise ValueError(f"{X.shape[0]} contexts but next_tokens has shape {z.shape}")
    if not np.issubdtype(z.dtype, np.integer):
        raise ValueError(f"next tokens must be integers, got dtype {z.dtype}")
    z = z.astype(np.int64)
    V = int(max(X.max(), z.max())) + 1 if V is None else int(V)
    if z.min() < 0 or z.max() >= V:
        raise ValueError(f"next token {z.min() if z.min() < 0 else z.max()} is out of range for V={V}")
    distinct, j = np.unique(X, axis=0, return_inverse=True)
    counts = sp.coo_array((np.ones(z.size), (z, j.ravel())), shape=(V, distinct.shape[0]))
    return LanguageData(NTPData.from_counts(counts), distinct)


def stream_contexts(tokens: Sequence[int] | np.ndarray, t: int, V: int | None = None,
                    vocab: list[str] | None = None) -> LanguageData:
    """Every window ``tokens[i:i+t]`` is a context and ``tokens[i+t]`` its next token (one pair per occurrence)."""
    data, contexts = NTPData.from_tokens(tokens, t, V)
    return LanguageData(data, contexts, vocab)


def line_contexts(lines: Sequence[Sequence[int] | np.ndarray], t: int, V: int | None = None,
                  vocab: list[str] | None = None) -> LanguageData:
    """One pair per line: its first t tokens and the token after them (Z24 §5); shorter lines are skipped."""
    if t < 1:
        raise ValueError(f"t must be at least 1, got {t}")
    kept = [np.asarray(line) for line in lines if len(line) > t]
    if not kept:
        raise ValueError(f"no line has more than t = {t} tokens")
    X = np.stack([line[:t] for line in kept])
    z = np.array([line[t] for line in kept])
    d = pairs_data(X, z, V)
    return d._replace(vocab=vocab)


def text_contexts(text: str, V: int, t: int, per_line: bool = False) -> LanguageData:
    """Contexts of t tokens from raw text, with the ``V − 1`` most frequent words and ``<unk>`` (``corpus.tokenize``).

    ``per_line=False``: every window of the whole token stream; ``per_line=True``: one pair per non-empty line.
    """
    tok = tokenize(text, V)
    if per_line:
        lines = [encode(line, tok.vocab) for line in text.splitlines() if line.strip()]
        return line_contexts(lines, t, len(tok.vocab), tok.vocab)
    return stream_contexts(tok.tokens, t, len(tok.vocab), tok.vocab)


def resample_counts(lang: LanguageData, rng: np.random.Generator, max_count: int = 4) -> LanguageData:
    """Z24's sampler: keep every support, draw each support token's count uniformly from ``{1..max_count}``."""
    S = lang.data.S
    data = random_ntp_data(S.shape[0], S.shape[1], S.sum(axis=0).astype(np.int64), rng, max_count=max_count, S=S)
    return lang._replace(data=data)


# ------------------------------------------------------------------------------ synthetic sentences
_SUBJECTS = [("the big cat", "animal"), ("a small dog", "animal"), ("the little boy", "person"),
             ("a young girl", "person")]
_NEXT = {  # (kind of subject, verb) → the three nouns that may follow "<subject> <verb> the"
    ("animal", "eats"): ("fish", "meat", "bone"), ("person", "eats"): ("bread", "apple", "cake"),
    ("animal", "drinks"): ("water", "milk", "rain"), ("person", "drinks"): ("water", "milk", "juice"),
    ("animal", "sees"): ("bird", "ball", "tree"), ("person", "sees"): ("bird", "car", "tree"),
    ("animal", "likes"): ("ball", "bone", "sun"), ("person", "likes"): ("book", "ball", "cake"),
}


def synthetic_sentences(rng: np.random.Generator, max_count: int = 2) -> LanguageData:
    """Z24 §5.1's synthetic sentences: 16 five-word contexts, V = 30, every ``S_j = 3``, counts on ``{1..max_count}``.

    A context is ``<determiner> <adjective> <subject> <verb> the`` (4 subjects × 4 verbs); its three possible
    next nouns depend on the verb and on whether the subject is an animal or a person, so the 16 contexts
    form 8 pairs with equal supports (cat/dog, boy/girl), and different supports overlap.
    """
    verbs = ["eats", "drinks", "sees", "likes"]
    sentences = [(f"{s} {v} the", _NEXT[kind, v]) for s, kind in _SUBJECTS for v in verbs]
    vocab: list[str] = []
    for text, nouns in sentences:
        for w in text.split() + list(nouns):
            if w not in vocab:
                vocab.append(w)
    index = {w: i for i, w in enumerate(vocab)}
    V, m = len(vocab), len(sentences)
    contexts = np.array([[index[w] for w in text.split()] for text, _ in sentences], dtype=np.int64)
    S = np.zeros((V, m))
    for j, (_, nouns) in enumerate(sentences):
        S[[index[w] for w in nouns], j] = 1.0
    data = random_ntp_data(V, m, 3, rng, max_count=max_count, S=S)
    return LanguageData(data, contexts, vocab)


# ------------------------------------------------------------------------------ simplified language
def role_similarity(tokens: np.ndarray, V: int) -> np.ndarray:
    """V×V cosine similarity of the tokens' neighbour counts (previous and next token, concatenated).

    Two words play the same role when they occur between the same words: a distributional notion of
    synonymy, computed from the stream itself.
    """
    tok = np.asarray(tokens, dtype=np.int64)
    if tok.ndim != 1 or tok.size < 2:
        raise ValueError(f"tokens must be a 1-D stream of at least 2 tokens, got shape {tok.shape}")
    if tok.min() < 0 or tok.max() >= V:
        raise ValueError(f"token {tok.max() if tok.max() >= V else tok.min()} is out of range for V={V}")
    nxt = sp.coo_array((np.ones(tok.size - 1), (tok[:-1], tok[1:])), shape=(V, V)).toarray()  # w → following
    prev = nxt.T  # w → preceding
    F = np.hstack([prev, nxt])
    norms = np.linalg.norm(F, axis=1)
    Fn = F / np.where(norms > 0, norms, 1.0)[:, None]
    return Fn @ Fn.T


def simplified_language(rng: np.random.Generator, *, text: str | None = None, V: int = 100, t: int = 5,
                        n_frequent: int = 100, variants: int = 3, max_support: int = 6, min_words: int = 2,
                        role_threshold: float = 0.7, max_count: int = 4) -> LanguageData:
    """Z24 §5.1's simplified language: frequent contexts made to share supports by same-role substitution.

    1. Tokenize ``text`` (default: the offline corpus ``load_text("python-docs")``) with the ``V − 1`` most
       frequent words and ``<unk>``; count all contexts of ``t`` tokens (:func:`stream_contexts`).
    2. Keep the ``n_frequent`` most frequent contexts without ``<unk>``, with at least ``min_words``
       alphabetic tokens and with ``2 ≤ S_j ≤ max_support`` next tokens in the corpus.
    3. Substitution rule: token ``w'`` can replace ``w`` when their neighbour profiles agree,
       ``role_similarity[w, w'] ≥ role_threshold`` (both alphabetic, neither ``<unk>``).  Each frequent context
       yields up to ``variants`` new contexts, each differing from it in one position, most similar first;
       a new context keeps the support of the context it came from (substitutes are interchangeable there).
       Variants that coincide with another context are skipped.
    4. Counts on every support are drawn by Z24's sampler, uniform on ``{1..max_count}`` (:func:`resample_counts`).

    ``groups[j]`` is the frequent context that context j came from; contexts of one group share their support.
    """
    if t < 1 or n_frequent < 1 or variants < 0 or max_support < 2:
        raise ValueError(f"need t ≥ 1, n_frequent ≥ 1, variants ≥ 0, max_support ≥ 2; got t={t}, "
                         f"n_frequent={n_frequent}, variants={variants}, max_support={max_support}")
    text = load_text("python-docs") if text is None else text
    tok = tokenize(text, V)
    Vv = len(tok.vocab)
    corpus = stream_contexts(tok.tokens, t, Vv, tok.vocab)
    unk = tok.vocab.index("<unk>") if "<unk>" in tok.vocab else -1
    alpha = np.array([w.isalpha() and w != "<unk>" for w in tok.vocab])
    sizes = corpus.data.support_sizes
    ok = ((sizes >= 2) & (sizes <= max_support) & ~np.any(corpus.contexts == unk, axis=1)
          & (alpha[corpus.contexts].sum(axis=1) >= min_words))
    order = np.argsort(-corpus.data.pi, kind="stable")
    chosen = [j for j in order if ok[j]][:n_frequent]
    if not chosen:
        raise ValueError("no context of the corpus meets the selection rules")
    R = role_similarity(tok.tokens, Vv)
    np.fill_diagonal(R, -np.inf)
    R[~alpha, :] = -np.inf
    R[:, ~alpha] = -np.inf
    seen = {tuple(corpus.contexts[j]) for j in chosen}
    rows, supports, groups = [], [], []
    for g, j in enumerate(chosen):
        base = corpus.contexts[j]
        support = corpus.data.supports[j]
        rows.append(base)
        supports.append(support)
        groups.append(g)
        cands = [(R[w, w2], i, w2) for i, w in enumerate(base) for w2 in np.flatnonzero(R[w] >= role_threshold)]
        made = 0
        for _, i, w2 in sorted(cands, key=lambda c: (-c[0], c[1], c[2])):
            if made == variants:
                break
            new = base.copy()
            new[i] = w2
            if tuple(new) in seen:
                continue
            seen.add(tuple(new))
            rows.append(new)
            supports.append(support)
            groups.append(g)
            made += 1
    m = len(rows)
    S = np.zeros((Vv, m))
    for k, s in enumerate(supports):
        S[s, k] = 1.0
    lang = LanguageData(NTPData.from_counts(S), np.array(rows, dtype=np.int64), tok.vocab, np.array(groups))
    return resample_counts(lang, rng, max_count)
