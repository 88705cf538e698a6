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
from .nuclear_svm import centered_support, mm_embeddings
from .ufm import sim_corr
from .validation import (
    check_bool,
    check_data,
    check_int,
    check_memory,
    check_real,
    check_rng,
    check_tokens,
    check_vocab,
)

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
    "matched_random_supports",
    "factor_proxy_sims",
    "spectral_learning",
    "SpectralLearning",
    "NETWORKS",
    "make_network",
    "seed_spread",
    "separated",
    "run_metrics",
    "train_networks",
    "context_rows",
    "format_spread",
    "spread_rows",
    "ordering",
    "largest_rise",
]


class _LanguageFields(NamedTuple):
    data: NTPData
    contexts: np.ndarray  # m×t int64: row j holds the tokens of context j
    vocab: list[str] | None = None  # token id → word
    groups: np.ndarray | None = None  # (m,) for simplified_language: the frequent context each one came from


class LanguageData(_LanguageFields):
    """NTP data with the tokens of its distinct contexts (m×t) and, when known, the vocabulary and groups."""

    __slots__ = ()

    def __new__(cls, data: NTPData, contexts: np.ndarray | Sequence[Sequence[int]], vocab: list[str] | None = None,
                groups: np.ndarray | None = None) -> "LanguageData":
        data = check_data(data)
        contexts = check_tokens(contexts, "contexts", ndim=2, V=data.V, rows=data.m)
        if vocab is not None:
            vocab = check_vocab(vocab, "vocab", data.V)
        if groups is not None:
            groups = check_tokens(groups, "groups", ndim=1, integer_dtype=False)
            if groups.shape != (data.m,):
                raise ValueError(f"groups must have one entry per context (shape ({data.m},)), got {groups.shape}")
        return super().__new__(cls, data, contexts, vocab, groups)


def _vocab_size(V: int | None, vocab: list[str] | None) -> int | None:
    """``V`` checked; without it, the size of a given vocabulary."""
    if V is not None:
        return check_int(V, "V", minimum=1, maximum=2**62)
    return None if vocab is None else len(check_vocab(vocab))


def pairs_data(contexts: np.ndarray | Sequence[Sequence[int]], next_tokens: Sequence[int] | np.ndarray,
               V: int | None = None) -> LanguageData:
    """NTP data from n pairs (context of t tokens, next token); distinct contexts in lexicographic order (T24 §2)."""
    if V is not None:
        V = check_int(V, "V", minimum=1, maximum=2**62)
    X = check_tokens(contexts, "contexts", ndim=2, V=V)
    z = check_tokens(next_tokens, "next_tokens", ndim=1, V=V, rows=X.shape[0])
    V = int(max(X.max(), z.max())) + 1 if V is None else V
    check_memory(8.0 * V * X.shape[0], f"NTP data with V = {V} tokens and up to {X.shape[0]} contexts")
    distinct, j = np.unique(X, axis=0, return_inverse=True)
    counts = sp.coo_array((np.ones(z.size), (z, j.ravel())), shape=(V, distinct.shape[0]))
    return LanguageData(NTPData.from_counts(counts), distinct)


def stream_contexts(tokens: Sequence[int] | np.ndarray, t: int, V: int | None = None,
                    vocab: list[str] | None = None) -> LanguageData:
    """Every window ``tokens[i:i+t]`` is a context and ``tokens[i+t]`` its next token (one pair per occurrence)."""
    t, V = check_int(t, "t", minimum=1), _vocab_size(V, vocab)
    tokens = check_tokens(tokens, "tokens", ndim=1, V=V, integer_dtype=False)
    if tokens.size <= t:
        raise ValueError(f"a stream of {tokens.size} tokens has no window of t = {t} tokens and a next one")
    data, contexts = NTPData.from_tokens(tokens, t, V)
    return LanguageData(data, contexts, vocab)


def line_contexts(lines: Sequence[Sequence[int] | np.ndarray], t: int, V: int | None = None,
                  vocab: list[str] | None = None) -> LanguageData:
    """One pair per line: its first t tokens and the token after them (Z24 §5); shorter lines are skipped."""
    t, V = check_int(t, "t", minimum=1), _vocab_size(V, vocab)
    if isinstance(lines, (str, bytes)) or not isinstance(lines, (Sequence, np.ndarray)):
        raise TypeError(f"lines must be a sequence of token sequences, got {type(lines).__name__}")
    kept = [check_tokens(line, f"lines[{i}]", ndim=1, V=V) for i, line in enumerate(lines)
            if not hasattr(line, "__len__") or len(line) > t]
    if not kept:
        raise ValueError(f"no line has more than t = {t} tokens")
    X = np.stack([line[:t] for line in kept])
    z = np.array([line[t] for line in kept])
    d = pairs_data(X, z, V)
    return LanguageData(d.data, d.contexts, vocab)


def text_contexts(text: str, V: int, t: int, per_line: bool = False) -> LanguageData:
    """Contexts of t tokens from raw text, with the ``V − 1`` most frequent words and ``<unk>`` (``corpus.tokenize``).

    ``per_line=False``: every window of the whole token stream; ``per_line=True``: one pair per non-empty line.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    V, t = check_int(V, "V", minimum=2), check_int(t, "t", minimum=1)
    per_line = check_bool(per_line, "per_line")
    tok = tokenize(text, V)
    if per_line:
        lines = [encode(line, tok.vocab) for line in text.splitlines() if line.strip()]
        return line_contexts(lines, t, len(tok.vocab), tok.vocab)
    return stream_contexts(tok.tokens, t, len(tok.vocab), tok.vocab)


def resample_counts(lang: LanguageData, rng: np.random.Generator, max_count: int = 4) -> LanguageData:
    """Z24's sampler: keep every support, draw each support token's count uniformly from ``{1..max_count}``."""
    if not isinstance(lang, LanguageData):
        raise TypeError(f"lang must be a LanguageData, got {type(lang).__name__}")
    rng = check_rng(rng)
    max_count = check_int(max_count, "max_count", minimum=1, maximum=2**62)
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
    rng = check_rng(rng)
    max_count = check_int(max_count, "max_count", minimum=1, maximum=2**62)
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
    V = check_int(V, "V", minimum=1)
    tok = check_tokens(tokens, "tokens", ndim=1, V=V, integer_dtype=False)
    if tok.size < 2:
        raise ValueError(f"tokens must be a 1-D stream of at least 2 tokens, got shape {tok.shape}")
    check_memory(8.0 * 4 * V * V, f"the V×V role similarity with V = {V}")
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

    1. Tokenize ``text`` (default: the offline corpus ``load_text()``, Carroll's *Alice*) with the ``V − 1`` most
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
    rng = check_rng(rng)
    if text is not None and not isinstance(text, str):
        raise TypeError(f"text must be a str or None, got {type(text).__name__}")
    V, t = check_int(V, "V", minimum=2), check_int(t, "t", minimum=1)
    n_frequent, variants = check_int(n_frequent, "n_frequent", minimum=1), check_int(variants, "variants", minimum=0)
    max_support = check_int(max_support, "max_support", minimum=2)
    min_words = check_int(min_words, "min_words", minimum=0)
    role_threshold = check_real(role_threshold, "role_threshold")
    max_count = check_int(max_count, "max_count", minimum=1, maximum=2**62)
    text = load_text() if text is None else text
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


# ------------------------------------------------------------------------------ controls and diagnostics
def matched_random_supports(S: np.ndarray, rng: np.random.Generator, weighted: bool = False) -> np.ndarray:
    """A random support matrix with the grouping and sizes of ``S``: a control for what language adds.

    The contexts keep their partition into groups of equal support (the same number of distinct supports, each
    shared by as many contexts as in ``S``) and each distinct support keeps its size; its tokens are redrawn
    without replacement, uniformly (``weighted=False``) or with probability proportional to how many distinct
    supports of ``S`` contain the token (``weighted=True``, the tokens' frequency in the pattern).  Distinct
    supports stay distinct (a draw that repeats an earlier one is drawn again).
    """
    S = np.asarray(S)
    if S.ndim != 2 or not np.all((S == 0) | (S == 1)) or np.any(S.sum(axis=0) == 0):
        raise ValueError("S must be a V×m 0/1 support matrix with at least one token per column")
    rng = check_rng(rng)
    weighted = check_bool(weighted, "weighted")
    V = S.shape[0]
    distinct, inverse = np.unique(S.T > 0, axis=0, return_inverse=True)
    sizes = distinct.sum(axis=1)
    weights = distinct.sum(axis=0).astype(float) if weighted else np.ones(V)
    weights = weights / weights.sum()
    out, seen = np.zeros_like(distinct), set()
    for g, k in enumerate(sizes):
        k = int(k)
        if np.count_nonzero(weights) < k:
            raise ValueError(f"a support of {k} tokens cannot be drawn from {np.count_nonzero(weights)} tokens")
        for _ in range(1000):
            z = tuple(sorted(rng.choice(V, size=k, replace=False, p=weights).tolist()))
            if z not in seen:
                break
        seen.add(z)
        out[g, list(z)] = True
    return out[inverse.ravel()].T.astype(float)


def factor_proxy_sims(W: np.ndarray, H: np.ndarray, S: np.ndarray) -> tuple[float, float]:
    """``sim`` of ``corr(Wᵀ)`` and ``corr(H)`` with the factor proxy: Z24 Cor. 1's factors of ``S̃ = UΣQᵀ``.

    The factor proxy is ``W̃ = UΣ^{1/2}``, ``H̃ = Σ^{1/2}Qᵀ``; ``geometry_metrics``'s ``sim_*_proxy`` use the Gram
    proxy instead (``corr(S̃ᵀ)``, ``corr(S̃)``).  Returns ``(sim words, sim contexts)``.
    """
    W, H = np.asarray(W, dtype=float), np.asarray(H, dtype=float)
    Wp, Hp = mm_embeddings(centered_support(S))
    if W.shape[0] != Wp.shape[0] or H.shape[1] != Hp.shape[1]:
        raise ValueError(f"W must have V = {Wp.shape[0]} rows and H m = {Hp.shape[1]} columns, "
                         f"got {W.shape} and {H.shape}")
    return sim_corr(W.T, Wp.T), sim_corr(H, Hp)


class SpectralLearning(NamedTuple):
    """When each singular direction of ``S̃ = UΣQᵀ`` is learned (Zhao & Thrampoulidis 2025)."""

    steps: np.ndarray  # (n,) the snapshot steps
    sigma: np.ndarray  # (r,) singular values of S̃, largest first
    coef: np.ndarray  # (n, r) u_kᵀ L q_k / σ_k: the logits' component along direction k, in units of S̃'s
    learned_at: np.ndarray  # (r,) first snapshot step with coef ≥ threshold (inf: not yet)


def spectral_learning(snapshots: dict, S: np.ndarray, threshold: float = 0.5) -> SpectralLearning:
    """Track ``c_k(step) = u_kᵀ W H q_k / σ_k`` along training for every singular direction k of ``S̃``.

    ``snapshots``: step → ``(W, H)``, as recorded by ``train_ufm`` or ``train_model``.  Direction k counts as
    learned at the first step where ``c_k ≥ threshold``: the logits contain at least ``threshold`` times S̃'s
    own k-th component ``σ_k u_k q_kᵀ``.
    """
    if not isinstance(snapshots, dict) or not snapshots:
        raise ValueError("snapshots must be a non-empty dict step → (W, H)")
    threshold = check_real(threshold, "threshold", positive=True)
    U, s, Qt = np.linalg.svd(centered_support(S), full_matrices=False)
    r = int(np.sum(s > 1e-10 * s[0]))
    U, s, Qt = U[:, :r], s[:r], Qt[:r]
    steps = np.array(sorted(snapshots))
    coef = np.empty((steps.size, r))
    for i, k in enumerate(steps):
        W, H = snapshots[int(k)]
        coef[i] = np.einsum("vk,vk->k", U, (W @ (H @ Qt.T))) / s
    hit = coef >= threshold
    learned = np.where(hit.any(axis=0), steps[np.argmax(hit, axis=0)].astype(float), np.inf)
    return SpectralLearning(steps, s, coef, learned)


NETWORKS = ("transformer", "MLP", "LSTM")


def make_network(kind: str, lang: LanguageData, d: int, seed: int, *, n_layers: int | None = None,
                 n_heads: int = 4):
    """One of the chapter's networks for ``lang``, its weights drawn from ``torch.Generator().manual_seed(seed)``.

    ``"transformer"`` (``TinyTransformer``, 1 layer by default), ``"MLP"`` (``ContextMLP`` on the concatenated
    token embeddings, 4 layers by default: Z24's deep-MLP baseline), ``"LSTM"`` (``ContextLSTM``, 1 layer).
    """
    import torch

    from .models import ContextLSTM, ContextMLP, TinyTransformer

    if kind not in NETWORKS:
        raise ValueError(f"kind must be one of {NETWORKS}, got {kind!r}")
    if not isinstance(lang, LanguageData):
        raise TypeError(f"lang must be a LanguageData, got {type(lang).__name__}")
    d, seed = check_int(d, "d", minimum=1), check_int(seed, "seed", minimum=0)
    g = torch.Generator().manual_seed(seed)
    V, t = lang.data.V, lang.contexts.shape[1]
    if kind == "transformer":
        return TinyTransformer(V, d=d, n_layers=n_layers or 1, n_heads=n_heads, generator=g)
    if kind == "MLP":
        return ContextMLP(V, t, d=d, n_layers=n_layers or 4, generator=g)
    return ContextLSTM(V, d=d, n_layers=n_layers or 1, generator=g)


def seed_spread(values: Sequence[float]) -> tuple[float, float, float]:
    """``(mean, min, max)`` of a metric over seeds."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {v.shape}")
    return float(v.mean()), float(v.min()), float(v.max())


def separated(lower: Sequence[float], upper: Sequence[float]) -> bool:
    """True when every value of ``lower`` is below every value of ``upper``: the seed ranges do not overlap."""
    return float(np.max(lower)) < float(np.min(upper))


def run_metrics(history, S: np.ndarray) -> dict[str, float]:
    """A run's final metrics, with ``sim`` to both proxies named: ``*_gram`` (``geometry_metrics``) and ``*_factor``."""
    f = history.final()
    w_fac, h_fac = factor_proxy_sims(history.W, history.H, S)
    return {"excess": f["excess"], "cos_mm": f["cos_mm"], "sim_W_theory": f["sim_W_theory"],
            "sim_H_theory": f["sim_H_theory"], "sim_W_gram": f["sim_W_proxy"], "sim_H_gram": f["sim_H_proxy"],
            "sim_W_factor": w_fac, "sim_H_factor": h_fac, "seconds": float(history.seconds)}


def train_networks(lang: LanguageData, ref, *, kinds: Sequence[str] = NETWORKS + ("NTP-UFM",),
                   seeds: Sequence[int] = (0, 1, 2), d: int, steps: int, lr: float | dict, ufm_lr: float = 0.05,
                   betas: tuple[float, float] = (0.9, 0.999), weight_decay: float = 1e-6, n_records: int = 12,
                   snapshots: dict | None = None, device: str = "cpu") -> dict:
    """Train every kind of model on ``lang`` for every seed: ``(kind, seed) → GeometryHistory``.

    Networks by :func:`make_network` and ``train_model`` (AdamW with ``betas``, full batch; ``lr`` one learning
    rate, or ``kind → lr``); ``"NTP-UFM"`` by ``train_ufm`` with Adam (``ufm_lr``) and ``d`` columns.
    ``snapshots``: ``kind → steps`` at which to keep ``(W, H)``, for the first seed.
    """
    from .models import train_model
    from .ufm import train_ufm

    snapshots = snapshots or {}
    rates = dict(lr) if isinstance(lr, dict) else {k: lr for k in kinds}
    missing = [k for k in kinds if k != "NTP-UFM" and k not in rates]
    if missing:
        raise ValueError(f"lr gives no learning rate for {missing}")
    runs = {}
    for kind in kinds:
        for seed in seeds:
            snaps = snapshots.get(kind, ()) if seed == seeds[0] else ()
            if kind == "NTP-UFM":
                runs[kind, seed] = train_ufm(lang.data, d=d, weight_decay=weight_decay, method="adam", lr=ufm_lr,
                                             steps=steps, rng=np.random.default_rng(seed), ref=ref,
                                             n_records=n_records, snapshots=snaps, device=device)
            else:
                runs[kind, seed] = train_model(make_network(kind, lang, d, seed), lang.data, lang.contexts,
                                               steps=steps, lr=rates[kind], betas=betas,
                                               weight_decay=weight_decay, ref=ref,
                                               n_records=n_records, snapshots=snaps, device=device,
                                               progress=False)
    return runs


# ------------------------------------------------------------------------------ the chapter's tables
def context_rows(lang: LanguageData, rows: Sequence[int]) -> list[dict]:
    """Contexts ``rows`` of ``lang`` as words, with their next tokens and ``p̂`` on the support (Z24 §5.1's examples)."""
    if not isinstance(lang, LanguageData) or lang.vocab is None:
        raise TypeError("lang must be a LanguageData with a vocabulary")
    out = []
    for j in rows:
        j = check_int(j, "row", minimum=0, maximum=lang.data.m - 1)
        support = lang.data.supports[j]
        out.append({"context": " ".join(lang.vocab[i] for i in lang.contexts[j]),
                    "next tokens": ", ".join(lang.vocab[z] for z in support),
                    "p̂": np.round(lang.data.P[support, j], 2)})
    return out


def format_spread(values: Sequence[float], fmt: str = "{:.3g}") -> str:
    """``"mean [min, max]"`` of a metric over seeds (just ``"mean"`` when all values agree)."""
    m, lo, hi = seed_spread(values)
    return fmt.format(m) if lo == hi else f"{fmt.format(m)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def spread_rows(values: dict, kinds: Sequence[str], columns: Sequence[tuple[str, str, str]],
                label: str = "model") -> list[dict]:
    """One table row per kind: ``{label: kind, header: "mean [min, max]", ...}`` from ``values[kind, key]``.

    ``values`` maps ``(kind, key)`` to the metric's values over seeds; ``columns`` lists ``(header, key, fmt)``.
    """
    return [{label: k, **{h: format_spread(values[k, key], f) for h, key, f in columns}} for k in kinds]


def ordering(values: dict) -> str:
    """The names of ``values`` (name → values over seeds) sorted by mean, joined by ``<`` where the seed ranges
    separate (:func:`separated`) and ``≈`` where they overlap."""
    if not isinstance(values, dict) or not values:
        raise ValueError("values must be a non-empty dict: name → values over seeds")
    ks = sorted(values, key=lambda k: seed_spread(values[k])[0])
    out = str(ks[0])
    for a, b in zip(ks, ks[1:]):
        out += (" < " if separated(values[a], values[b]) else " ≈ ") + str(b)
    return out


def largest_rise(steps: Sequence[int], values: Sequence[float]) -> tuple[float, float, int]:
    """The largest relative rise of a positive curve above its running minimum: ``(minimum, later value, step)``.

    A monotone decreasing curve gives ``(v, v, step)`` with equal first two entries.
    """
    steps, y = np.asarray(steps), np.asarray(values, dtype=float)
    if y.ndim != 1 or y.size == 0 or steps.shape != y.shape or not np.all(y > 0):
        raise ValueError("steps and values must be 1-D of one length, the values positive")
    low = np.minimum.accumulate(y)
    i = int(np.argmax(y / low))
    return float(low[i]), float(y[i]), int(steps[i])
