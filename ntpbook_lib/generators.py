"""Synthetic NTP data: random supports of exact sizes, the symmetric design, Gaussian embeddings.

Array arguments may come in any container :func:`~ntpbook_lib.validation.as_float64` accepts (NumPy of any
real dtype or layout, lists, pandas, torch tensors, SciPy sparse); each is read once, into a new float64
array, so arguments are never modified and results never share memory with them.
"""

from __future__ import annotations

from itertools import chain, combinations, combinations_with_replacement
from math import comb, lgamma, log

import numpy as np
from scipy.special import digamma

from .data import NTPData
from .validation import check_array, check_bool, check_int, check_memory, check_real, check_rng, check_support

__all__ = [
    "random_supports",
    "random_ntp_data",
    "symmetric_supports",
    "gaussian_embeddings",
    "count_entropy_range",
    "dirichlet_expected_entropy",
]


def random_supports(V: int, m: int, sizes: int | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A V×m 0/1 support matrix whose column j has exactly ``sizes[j]`` ones at random rows.

    Parameters
    ----------
    V : int
        Vocabulary size.
    m : int
        Number of contexts.
    sizes : int or numpy.ndarray
        The support size of every context, or one per context.
    rng : numpy.random.Generator
        The source of randomness.

    Returns
    -------
    numpy.ndarray
        V×m 0/1 support matrix.
    """
    V, m = check_int(V, "V", minimum=1), check_int(m, "m", minimum=1)
    rng = check_rng(rng)
    check_memory(8.0 * V * m, f"a V×m = {V}×{m} support matrix")
    sizes = check_array(sizes, "sizes", integer=True)
    if sizes.ndim > 1 or sizes.size not in (1, m):
        raise ValueError(f"sizes must be one integer or one per context (shape (m,) = ({m},)), got shape "
                         f"{sizes.shape}")
    sizes = np.broadcast_to(sizes, (m,))
    if np.any(sizes < 1) or np.any(sizes > V):
        raise ValueError(f"support sizes must lie in 1..V={V}, got {np.unique(sizes).tolist()}")
    S = np.zeros((V, m))
    for j in range(m):
        S[rng.choice(V, size=int(sizes[j]), replace=False), j] = 1.0
    return S


def random_ntp_data(V: int, m: int, support_size: int | np.ndarray, rng: np.random.Generator, *,
                    max_count: int | None = None, n: int | None = None, weights: str = "uniform",
                    uniform_pi: bool = False, S: np.ndarray | None = None) -> NTPData:
    """Random NTP data with supports of exactly the given sizes (T24 App. A, Z24 §4.5, §5.1).

    Counts on the support are either uniform on ``{1..max_count}`` (Z24's sampler), or, with ``n``,
    ``n`` samples in which every support entry occurs at least once and the rest fall multinomially
    on the support entries with random weights (so no support entry can be emptied by sampling).
    The weights are i.i.d. ``Uniform(0, 1)`` (``weights="uniform"``) or ``Exp(1)`` (``"exponential"``:
    normalised within a context they are then ``Dirichlet(1, …, 1)``, uniform on the simplex).
    ``uniform_pi`` sets ``π̂_j = 1/m`` instead of ``π̂ ∝`` counts.  A given ``S`` fixes the supports.

    Parameters
    ----------
    V : int
        Vocabulary size.
    m : int
        Number of contexts.
    support_size : int or numpy.ndarray
        Support sizes, as in :func:`random_supports`.
    rng : numpy.random.Generator
        The source of randomness.
    max_count : int, optional
        Counts uniform on ``1..max_count`` (give this or ``n``).
    n : int, optional
        Sample size of multinomial counts (give this or ``max_count``).
    weights : str, optional
        ``"uniform"`` or ``"exponential"`` sampling weights (with ``n``).
    uniform_pi : bool, optional
        ``π̂_j = 1/m``.
    S : numpy.ndarray, optional
        A fixed V×m support matrix.

    Returns
    -------
    NTPData
        The data.
    """
    if (max_count is None) == (n is None):
        raise ValueError("give exactly one of max_count (counts uniform on 1..max_count) and n (sample size)")
    V, m = check_int(V, "V", minimum=1), check_int(m, "m", minimum=1)
    rng = check_rng(rng)
    uniform_pi = check_bool(uniform_pi, "uniform_pi")
    if max_count is not None:
        max_count = check_int(max_count, "max_count", minimum=1, maximum=2**62)
    else:
        n = check_int(n, "n", minimum=1, maximum=2**62)
    if weights not in ("uniform", "exponential"):
        raise ValueError(f"weights must be 'uniform' or 'exponential', got {weights!r}")
    if S is None:
        S = random_supports(V, m, support_size, rng)
    else:
        S = check_support(S, need_off_support=False)
    if S.shape != (V, m):
        raise ValueError(f"S has shape {S.shape}, expected (V, m) = ({V}, {m})")
    idx = np.flatnonzero(S.T.ravel())  # support entries, column-major
    counts = np.zeros(m * V)
    if max_count is not None:
        counts[idx] = rng.integers(1, max_count + 1, size=idx.size)
    else:
        if n < idx.size:
            raise ValueError(f"n = {n} samples cannot cover the {idx.size} support entries")
        w = rng.uniform(size=idx.size) if weights == "uniform" else rng.exponential(size=idx.size)
        counts[idx] = 1 + rng.multinomial(n - idx.size, w / w.sum())
    counts = counts.reshape(m, V).T
    data = NTPData.from_counts(counts)
    if uniform_pi:
        data = NTPData(data.P, np.full(m, 1.0 / m), data.n)
    return data


def symmetric_supports(V: int, k: int) -> np.ndarray:
    """The V×C(V,k) support matrix whose columns are all k-subsets of [V] (Z24 Prop. 2, Prop. 5).

    Parameters
    ----------
    V : int
        Vocabulary size.
    k : int
        The support size, ``1 ≤ k < V``.

    Returns
    -------
    numpy.ndarray
        V×C(V,k) 0/1 matrix, one column per k-subset.
    """
    V, k = check_int(V, "V", minimum=1), check_int(k, "k")
    if not 1 <= k <= V:
        raise ValueError(f"k must lie in 1..V={V}, got {k}")
    check_memory(8.0 * V * V if k < V else 8.0 * V, f"a design with V = {V} tokens")  # C(V, k) ≥ V for k < V
    if comb(V, k) > 10**6:
        raise ValueError(f"C({V},{k}) = {comb(V, k)} columns is too many")
    check_memory(8.0 * V * comb(V, k), f"the V×C(V,k) = {V}×{comb(V, k)} support matrix")
    C = comb(V, k)
    rows = np.fromiter(chain.from_iterable(combinations(range(V), k)), dtype=np.int64, count=C * k)
    S = np.zeros((V, C))
    S[rows, np.repeat(np.arange(C), k)] = 1.0  # column j holds the j-th k-subset in lexicographic order
    return S


def gaussian_embeddings(d: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Fixed context embeddings ``H = [h_1 … h_m]`` (d×m) with i.i.d. N(0, 1) entries (T24 App. A).

    Parameters
    ----------
    d : int
        Embedding dimension.
    m : int
        Number of contexts.
    rng : numpy.random.Generator
        The source of randomness.

    Returns
    -------
    numpy.ndarray
        d×m embeddings.
    """
    d, m = check_int(d, "d", minimum=1), check_int(m, "m", minimum=1)
    rng = check_rng(rng)
    check_memory(8.0 * d * m, f"a d×m = {d}×{m} embedding matrix")
    return rng.standard_normal((d, m))


def count_entropy_range(support_size: int, max_count: int) -> tuple[float, float]:
    """Least and largest per-context entropy under Z24's sampler (§5.1): counts uniform on ``{1..max_count}``.

    A context with ``support_size`` tokens has ``p̂ = c / Σ c`` for a count vector ``c ∈ {1..max_count}^S``;
    every such vector is enumerated (up to order), so any data set drawn this way has ``H`` in this range.

    Parameters
    ----------
    support_size : int
        Tokens per context.
    max_count : int
        Largest count.

    Returns
    -------
    tuple of float
        The smallest and largest entropy.
    """
    support_size = check_int(support_size, "support_size", minimum=1)
    max_count = check_int(max_count, "max_count", minimum=1)
    n, k = support_size + max_count - 1, support_size  # C(n, k) count vectors; screened in logs first (no bignum)
    if lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) > log(10**6) + 1 or comb(n, k) > 10**6:
        raise ValueError(f"too many count vectors to enumerate for support_size={support_size}, "
                         f"max_count={max_count}")
    c = np.array(list(combinations_with_replacement(range(1, max_count + 1), support_size)), dtype=np.float64)
    p = c / c.sum(axis=1, keepdims=True)
    h = -(p * np.log(p)).sum(axis=1)
    return float(h.min()), float(h.max())


def dirichlet_expected_entropy(support_size: int, alpha: float = 1.0) -> float:
    """``E[−Σ p log p]`` for ``p ~ Dirichlet(α, …, α)`` on ``support_size`` tokens: ``ψ(Sα + 1) − ψ(α + 1)``.

    With ``α = 1`` (probabilities uniform on the simplex) it is the harmonic number ``H_S`` minus 1.

    Parameters
    ----------
    support_size : int
        Tokens per context.
    alpha : float, optional
        The Dirichlet concentration.

    Returns
    -------
    float
        The expected entropy in nats.
    """
    support_size = check_int(support_size, "support_size", minimum=1)
    alpha = check_real(alpha, "alpha", positive=True)
    value = float(digamma(support_size * alpha + 1) - digamma(alpha + 1))
    if not np.isfinite(value):
        raise ValueError(f"support_size · alpha = {support_size} · {alpha:g} is beyond float64's range")
    return value
