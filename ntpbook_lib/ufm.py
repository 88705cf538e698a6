"""Learned embeddings: the NTP unconstrained-features model, its convex twin, and the Z24 metrics.

NTP-UFM (Z24 Def. 1) trains the decoder and the context embeddings together,

    min_{W, H}  CE(W H) + (λ/2)‖W‖_F² + (λ/2)‖H‖_F²,

and by Lemma 1 (``‖L‖_* = min_{L = W H} (‖W‖² + ‖H‖²)/2``) it is the problem in the logits

    min_L  CE(L) + λ‖L‖_*   (rank L ≤ d; the constraint is inactive for d ≥ V)          (8)

whose solutions grow as ``L_λ ≈ L^in + R(λ) L^mm`` when ``λ → 0`` (Thms 1–3).  :func:`nuclear_regularized_logits`
solves (8) by accelerated proximal gradient, :func:`train_ufm` trains the factored model in torch, and
:func:`corr` / :func:`sim` are the geometry metrics of Z24 §5.3.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from .data import NTPData
from .loss import ce_decomposition, log_softmax
from .nuclear_svm import (
    _svt,
    centered_support,
    certificate,
    logits_in,
    mm_embeddings,
    ntp_svm_logits,
    project_logits_F,
)
from .training import _cos, _softmax_minus_P, log_schedule, small_problem_threads
from .validation import (
    check_array,
    check_betas,
    check_bool,
    check_data,
    check_device,
    check_dtype,
    check_int,
    check_ints,
    check_memory,
    check_real,
    check_rng,
    check_strictly_monotone,
    check_support,
    frobenius_norm,
)

__all__ = [
    "corr",
    "sim",
    "sim_corr",
    "CollapseCosines",
    "collapse_cosines",
    "RegularizedLogits",
    "nuclear_regularized_logits",
    "NuclearPath",
    "nuclear_regularization_path",
    "GenieBound",
    "genie_bound",
    "UFMReference",
    "ufm_reference",
    "ProxyQuality",
    "proxy_quality",
    "GeometryMetrics",
    "geometry_metrics",
    "GeometryHistory",
    "UFMHistory",
    "train_ufm",
]


# ----------------------------------------------------------------------------------------- metrics
def corr(X: np.ndarray) -> np.ndarray:
    """The cosine matrix of the columns of X (Z24 §5.3); a zero column has cosine 0 with everything.

    Scale-free: each column is divided by its largest entry before its norm is formed, so no product
    overflows or underflows for any finite X.
    """
    X = check_array(X, "X", ndim=2)
    top = np.max(np.abs(X), axis=0, initial=0.0)
    X = X / np.where(top > 0, top, 1.0)
    norms = np.linalg.norm(X, axis=0)
    Xn = X / np.where(norms > 0, norms, 1.0)
    return Xn.T @ Xn


def sim(X: np.ndarray, Y: np.ndarray, eps: float = 1e-8, *, ddof: int = 0) -> float:
    """SSIM's structure term ``(σ_XY + ε)/(σ_X σ_Y + ε)`` over the entries of two matrices (Z24 §5.3).

    Applied to two ``corr`` matrices it is 1 when one geometry is an increasing affine image of the other.
    ``ddof=1`` divides the two standard deviations by ``N − 1`` but the covariance still by ``N`` (N entries),
    as Z24's public code does (``compute_structural_component``, with ``eps = 1e-5``); then
    ``sim(X, X) = (N − 1)/N`` up to ``eps``, not 1.
    Computed scale-free: with ``x = a x̂``, ``y = b ŷ`` (``x̂, ŷ`` of largest entry 1) the ratio is
    ``(σ_x̂ŷ + ε/(ab)) / (σ_x̂ σ_ŷ + ε/(ab))``, and ``ε/(ab)`` is formed in logarithms, so no product overflows.
    """
    X, Y = check_array(X, "X", nonempty=True), check_array(Y, "Y", nonempty=True)
    eps = check_real(eps, "eps", nonnegative=True)
    if X.shape != Y.shape:
        raise ValueError(f"sim compares matrices of one shape, got {X.shape} and {Y.shape}")
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 (the definition) or 1 (Z24's code), got {ddof}")
    N = X.size
    if N - ddof < 1:
        raise ValueError(f"ddof={ddof} needs at least {ddof + 1} entries, got {N}")
    (x, a), (y, b) = _centered_unit(X), _centered_unit(Y)
    if eps == 0 and (a == 0 or b == 0):
        raise ValueError("sim with eps = 0 is undefined (0/0) when X or Y is constant")
    if a == 0 or b == 0:
        return 1.0  # σ_XY = σ_X σ_Y = 0: the ratio is ε/ε
    cov = float(np.mean(x * y))
    var = float(np.sqrt(np.mean(x * x) * np.mean(y * y))) * N / (N - ddof)
    if eps == 0:
        return cov / var
    log_t = np.log(eps) - np.log(a) - np.log(b)
    if log_t > 700.0:  # ε/(ab) beyond float64: the ratio is 1 to rounding
        return 1.0
    t = float(np.exp(log_t))
    return float((cov + t) / (var + t))


def _centered_unit(X: np.ndarray) -> tuple[np.ndarray, float]:
    """``(x̂, a)`` with ``X − mean X = a x̂`` and ``max |x̂| = 1`` (``a = 0`` for a constant X), without overflow."""
    top = float(np.max(np.abs(X)))
    Xs = X.ravel() / top if top > 0 else X.ravel()
    x = Xs - Xs.mean()
    u = float(np.max(np.abs(x)))
    return (x / u if u > 0 else x), top * u


class CollapseCosines(NamedTuple):
    """Cosines of context embeddings within and between groups of contexts with equal supports (Z24 Prop. 1)."""

    within_mean: float  # mean cos(h_j, h_j') over pairs j ≠ j' with S_j = S_j'
    within_min: float
    between_mean: float  # mean cos(h_j, h_j') over pairs with S_j ≠ S_j'
    between_max: float


def collapse_cosines(H: np.ndarray, data: NTPData) -> CollapseCosines:
    """Subspace collapse (Z24 Prop. 1): how parallel are the embeddings of contexts that share a support?"""
    data = check_data(data)
    H = check_array(H, "H", ndim=2, nonempty=True)
    if H.shape[1] != data.m:
        raise ValueError(f"H must be d×m with m={data.m}, got shape {H.shape}")
    _, group = np.unique(data.S.T, axis=0, return_inverse=True)
    group = group.ravel()
    same = (group[:, None] == group[None, :]) & ~np.eye(data.m, dtype=bool)
    other = group[:, None] != group[None, :]
    if not same.any() or not other.any():
        raise ValueError("need at least two contexts with one support and two different supports")
    C = corr(H)
    return CollapseCosines(float(C[same].mean()), float(C[same].min()), float(C[other].mean()),
                           float(C[other].max()))


def sim_corr(X: np.ndarray, Y: np.ndarray, eps: float = 1e-8) -> float:
    """``sim(corr(X), corr(Y))`` (Z24 §5.3) for X (a×m) and Y (b×m) without forming the m×m matrices.

    With unit columns ``X̂, Ŷ``, the entry sums of ``corr(X) ∘ corr(Y)``, ``corr(X)²`` and ``corr(Y)²`` are
    ``‖X̂Ŷᵀ‖_F²``, ``‖X̂X̂ᵀ‖_F²`` and ``‖ŶŶᵀ‖_F²``, and the entry sums of ``corr`` are ``‖X̂1‖²``, ``‖Ŷ1‖²``:
    O((a + b)² m) work and memory, so it also serves m = 10^5 contexts.
    """
    X, Y = check_array(X, "X", ndim=2, nonempty=True), check_array(Y, "Y", ndim=2, nonempty=True)
    eps = check_real(eps, "eps", nonnegative=True)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"sim_corr compares two matrices with m columns each, got {X.shape} and {Y.shape}")
    if X.shape[1] == 1:  # corr(X), corr(Y) are 1×1, so constant: σ = 0 and the ratio is ε/ε, as in sim
        if eps == 0:
            raise ValueError("sim_corr with eps = 0 is undefined (0/0) for m = 1 column")
        return 1.0
    m2 = X.shape[1] ** 2

    def unit(M: np.ndarray) -> np.ndarray:  # unit columns, scaled first so that no norm overflows
        top = np.max(np.abs(M), axis=0)
        M = M / np.where(top > 0, top, 1.0)
        n = np.linalg.norm(M, axis=0)
        return M / np.where(n > 0, n, 1.0)

    Xn, Yn = unit(X), unit(Y)
    mx, my = np.sum(Xn.sum(axis=1) ** 2) / m2, np.sum(Yn.sum(axis=1) ** 2) / m2
    cxy = np.sum((Xn @ Yn.T) ** 2) / m2 - mx * my
    cxx = np.sum((Xn @ Xn.T) ** 2) / m2 - mx * mx
    cyy = np.sum((Yn @ Yn.T) ** 2) / m2 - my * my
    den = np.sqrt(max(cxx, 0.0) * max(cyy, 0.0))
    if eps == 0 and den == 0:
        raise ValueError("sim_corr with eps = 0 is undefined (0/0) when corr(X) or corr(Y) is constant")
    if den == 0:  # a constant corr: σ_XY = 0 by Cauchy–Schwarz (cxy is rounding), the ratio is ε/ε, as in sim
        return 1.0
    return float((cxy + eps) / (den + eps))



# ------------------------------------------------------------------------------ problem (8) by APG
def _grad(L: np.ndarray, P: torch.Tensor, insupp: torch.Tensor, pi: np.ndarray) -> np.ndarray:
    """``∇CE(L) = (softmax(L) − P) diag(π̂)``, exact when the off-support mass is below rounding."""
    with torch.no_grad():
        return _softmax_minus_P(torch.from_numpy(L), P, insupp).numpy() * pi


def _entropy(Q: np.ndarray) -> np.ndarray:
    return -np.sum(np.where(Q > 0, Q * np.log(np.where(Q > 0, Q, 1.0)), 0.0), axis=0)


def _gap(L: np.ndarray, G: np.ndarray, nuc: float, data: NTPData, lam: float) -> tuple[float, float]:
    """``(excess, duality gap)`` of (8): the dual point ``c∇CE(L)``, ``c = min(1, λ/‖∇CE‖_op)``, has value
    ``Σ_j π̂_j H(c softmax(ℓ_j) + (1 − c) p̂_j)`` (the conjugate of CE is a negative entropy)."""
    dec = ce_decomposition(L, data)
    c = min(1.0, lam / max(float(np.linalg.norm(G, 2)), 1e-300))
    Q = c * np.exp(log_softmax(L)) + (1 - c) * data.P
    dual = float(data.pi @ _entropy(Q))
    excess = float(data.pi @ dec.kl)
    return excess, excess + lam * nuc - (dual - data.entropy)


@dataclass(frozen=True)
class RegularizedLogits:
    """A solution of (8) with its certificate."""

    L: np.ndarray
    lam: float
    excess: float  # CE(L) − H
    nuclear_norm: float
    gap: float  # primal − dual objective of (8), ≥ the suboptimality
    iterations: int
    converged: bool  # gap ≤ tol · (CE(L) − H + λ‖L‖_*), the objective measured from the entropy bound


def nuclear_regularized_logits(data: NTPData, lam: float, *, L0: np.ndarray | None = None, tol: float = 1e-6,
                               max_iter: int = 200_000, check_every: int = 50) -> RegularizedLogits:
    """``L_λ = argmin_L CE(L) + λ‖L‖_*`` (Z24 eq. 8 with d ≥ V), by FISTA with singular-value thresholding.

    Step ``1/ℒ`` with ``ℒ = max_j π̂_j / 2`` (the softmax Hessian is at most ½), gradient-based adaptive
    restart, and a duality-gap stop relative to the objective minus the entropy:
    ``gap ≤ tol · (CE(L) − H + λ‖L‖_*)``.  ``L0`` warm-starts (a path goes λ downwards).
    """
    check_data(data)
    lam = check_real(lam, "lam", positive=True)
    tol = check_real(tol, "tol", positive=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    check_every = check_int(check_every, "check_every", minimum=1, maximum=max_iter)
    V, m = data.V, data.m
    if L0 is None:
        L = np.zeros((V, m))
    else:  # finite: a non-finite entry would stall LAPACK's SVD
        L = check_array(L0, "L0", finite=False).copy()
        if L.shape != (V, m):
            raise ValueError(f"L0 must be V×m = ({V}, {m}), got shape {L.shape}")
        L = check_array(L, "L0")
    step = 2.0 / float(data.pi.max())
    P, insupp = torch.from_numpy(data.P), torch.from_numpy(data.S > 0)
    Y, t = L.copy(), 1.0
    result = None
    for it in range(1, max_iter + 1):
        G = _grad(Y, P, insupp, data.pi)
        L_new, nuc = _svt(Y - step * G, step * lam)
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        if np.sum((Y - L_new) * (L_new - L)) > 0:  # restart: the momentum points uphill
            Y, t_new = L_new.copy(), 1.0
        else:
            Y = L_new + ((t - 1) / t_new) * (L_new - L)
        L, t = L_new, t_new
        if it % check_every == 0 or it == max_iter:
            excess, gap = _gap(L, _grad(L, P, insupp, data.pi), nuc, data, lam)
            result = RegularizedLogits(L, lam, excess, nuc, gap, it, gap <= tol * (excess + lam * nuc))
            if result.converged:
                break
    return result  # type: ignore[return-value]


@dataclass(frozen=True)
class NuclearPath:
    """Z24 Thms 1–3 along ``λ → 0``: where ``L_λ`` points and how close its 𝓕 part is to ``L^in``."""

    lams: np.ndarray
    excess: np.ndarray  # CE(L_λ) − H
    nuclear_norm: np.ndarray  # ‖L_λ‖_*
    dist_mm: np.ndarray  # ‖L_λ/‖L_λ‖_* − L^mm/‖L^mm‖_*‖_F
    cos_mm: np.ndarray  # cos(L_λ, L^mm) (Frobenius)
    dist_in: np.ndarray  # ‖P_𝓕(L_λ) − L^in‖_F
    gaps: np.ndarray
    L: list[np.ndarray] = field(repr=False)


def nuclear_regularization_path(data: NTPData, lams: Sequence[float], *, L_mm: np.ndarray | None = None,
                                tol: float = 1e-5, max_iter: int = 200_000) -> NuclearPath:
    """Solve (8) for decreasing ``λ`` and measure Z24 Thms 1–3 at each point.

    Each solve starts from a linear extrapolation in ``log λ`` of the two previous solutions (exact if
    ``L_λ = L^in + R(λ) L^mm`` with ``R`` affine in ``log λ``, as the theory suggests), which roughly halves
    the iterations at small ``λ``.  ``L = 0`` for ``λ ≥ ‖∇CE(0)‖_op``, where the direction metrics are nan.
    """
    check_data(data)
    lams = check_array(lams, "lams", ndim=1, nonempty=True)
    if np.any(lams <= 0):
        raise ValueError(f"lams must be positive, found {lams[lams <= 0][0]}")
    lams = check_strictly_monotone(np.sort(lams)[::-1], "lams (sorted)", increasing=False)
    tol = check_real(tol, "tol", positive=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if L_mm is None:
        L_mm = ntp_svm_logits(check_support(data.S, "the support matrix of data"))
    else:
        L_mm = check_array(L_mm, "L_mm", shape=(data.V, data.m))
        if not np.any(L_mm):
            raise ValueError("L_mm must not be zero")
    mm = L_mm / np.linalg.svd(L_mm, compute_uv=False).sum()
    L_in = logits_in(data)
    rows, Ls = [], []
    for i, lam in enumerate(lams):
        L0 = Ls[-1] if i else None
        if i >= 2 and np.any(Ls[-2]):
            L0 = Ls[-1] + (Ls[-1] - Ls[-2]) * np.log(lams[i - 1] / lam) / np.log(lams[i - 2] / lams[i - 1])
        r = nuclear_regularized_logits(data, float(lam), L0=L0, tol=tol, max_iter=max_iter)
        L, nuc = r.L, r.nuclear_norm
        Ls.append(L)
        rows.append((r.excess, nuc,
                     np.linalg.norm(L / nuc - mm) if nuc > 0 else np.nan,
                     _cos(L, L_mm),
                     np.linalg.norm(project_logits_F(L, data) - L_in), r.gap))
    cols = [np.array(c) for c in zip(*rows)]
    return NuclearPath(lams, *cols, L=Ls)


# ------------------------------------------------------------------- the genie comparison (λ → 0)
@dataclass(frozen=True)
class GenieBound:
    """``CE(L^in + R L^mm) − H ≤ C e^{−R}`` for ``R ≥ 0``, and what it implies for the path of (8)."""

    C: float  # Σ_j π̂_j (V − S_j) GM_j, GM_j the geometric mean of p̂_j over S_j
    nuclear_in: float  # ‖L^in‖_*
    nuclear_mm: float  # ‖L^mm‖_*
    L_in: np.ndarray = field(repr=False)
    L_mm: np.ndarray = field(repr=False)

    def logits(self, R: float) -> np.ndarray:
        """The genie point ``L^in + R L^mm``."""
        return self.L_in + R * self.L_mm

    def excess_bound(self, R: float | np.ndarray) -> float | np.ndarray:
        """``C e^{−R}``, an upper bound on ``CE(L^in + R L^mm) − H`` for ``R ≥ 0``."""
        return self.C * np.exp(-np.asarray(R, dtype=np.float64))

    def objective_bound(self, lam: float | np.ndarray) -> float | np.ndarray:
        """``min_{R≥0} C e^{−R} + λ(‖L^in‖_* + R‖L^mm‖_*) ≥ CE(L_λ) − H + λ‖L_λ‖_*`` (L_λ solving (8)).

        The minimiser is ``R = log(C/(λ‖L^mm‖_*))`` when positive, giving
        ``λ‖L^in‖_* + λ‖L^mm‖_*(1 + log(C/(λ‖L^mm‖_*)))``; dividing by λ bounds ``‖L_λ‖_*`` by
        ``‖L^mm‖_* log(1/λ) + O(1)``.
        """
        lam = np.asarray(lam, dtype=np.float64)
        if not np.all(lam > 0):
            raise ValueError("lam must be positive")
        a = lam * self.nuclear_mm
        R = np.maximum(np.log(self.C / a), 0.0)
        out = self.C * np.exp(-R) + lam * self.nuclear_in + a * R
        return float(out) if out.ndim == 0 else out


def genie_bound(data: NTPData, L_mm: np.ndarray | None = None, tol: float = 1e-6) -> GenieBound:
    """The genie comparison behind Z24's regularisation-path theorems (Thms 1–3; cf. T24 Thm 1 and Prop. 4).

    Column j of ``L^in + R L^mm`` has in-support logits ``ℓ^in_{z,j} + R a_j`` and off-support logits
    ``R L^mm[v, j] ≤ R(a_j − 1)``, so with ``Z_j = Σ_{z∈S_j} e^{ℓ^in_{z,j}} = 1/GM_j``,
    ``CE − H = Σ_j π̂_j log(1 + GM_j Σ_{v∉S_j} e^{−R(a_j − L^mm[v,j])}) ≤ e^{−R} Σ_j π̂_j (V − S_j) GM_j``.
    ``L_mm`` (default: the NTP-SVM★ solution) must be feasible for eqs. (9)–(10) up to ``tol``.
    """
    check_data(data)
    tol = check_real(tol, "tol", nonnegative=True)
    if L_mm is not None:
        L_mm = check_array(L_mm, "L_mm")
        if L_mm.shape != (data.V, data.m):
            raise ValueError(f"L_mm must be V×m = ({data.V}, {data.m}), got shape {L_mm.shape}")
    L_in = logits_in(data)
    L_mm = ntp_svm_logits(check_support(data.S, "the support matrix of data")) if L_mm is None else L_mm
    S = data.S > 0
    hi_in, lo_in = np.where(S, L_mm, -np.inf).max(axis=0), np.where(S, L_mm, np.inf).min(axis=0)
    hi_out = np.where(S, -np.inf, L_mm).max(axis=0)
    if np.any(hi_in - lo_in > tol) or np.any(lo_in - hi_out < 1 - tol):
        raise ValueError("L_mm is not feasible for the NTP-SVM★: in-support entries of a column must be equal "
                         "and exceed every off-support entry of that column by at least 1")
    logP = np.where(S, np.log(np.where(S, data.P, 1.0)), 0.0)
    gm = np.exp(logP.sum(axis=0) / data.support_sizes)  # geometric mean of p̂_j over S_j
    C = float(data.pi @ ((data.V - data.support_sizes) * gm))
    nuc = lambda M: float(np.linalg.svd(M, compute_uv=False).sum())  # noqa: E731
    return GenieBound(C, nuc(L_in), nuc(L_mm), L_in, L_mm)


# ------------------------------------------------------------------------------ NTP-UFM in torch
class UFMReference(NamedTuple):
    """Theory (``L^mm`` and its factors, Z24 Cor. 1), proxy (``S̃``) and ``L^in`` for :func:`train_ufm`'s metrics."""

    L_in: np.ndarray
    L_mm: np.ndarray
    W_mm: np.ndarray
    H_mm: np.ndarray
    S_tilde: np.ndarray


def ufm_reference(data: NTPData, L_mm: np.ndarray | None = None, **svm_options) -> UFMReference:
    """``L^in`` (Lemma 3), ``L^mm`` (Def. 3) with ``W^mm, H^mm`` (Cor. 1), and the proxy ``S̃``.

    ``L_mm``, when given, is used as the NTP-SVM★ solution instead of solving it again.
    """
    check_data(data)
    if L_mm is None:
        L_mm = ntp_svm_logits(check_support(data.S, "the support matrix of data"), **svm_options)
    else:
        L_mm = check_array(L_mm, "L_mm")
        if L_mm.shape != (data.V, data.m):
            raise ValueError(f"L_mm must be V×m = ({data.V}, {data.m}), got shape {L_mm.shape}")
    W_mm, H_mm = mm_embeddings(L_mm)
    return UFMReference(logits_in(data), L_mm, W_mm, H_mm, centered_support(data.S))


class ProxyQuality(NamedTuple):
    """How well the proxy ``S̃`` stands in for the NTP-SVM★ solution ``L^mm`` (Z24 §4.4, Prop. 3)."""

    nuclear_proxy: float  # ‖S̃‖_*
    nuclear_mm: float  # ‖L^mm‖_*
    relative_gap: float  # ‖S̃‖_*/‖L^mm‖_* − 1 ≥ 0 (S̃ is feasible)
    direction_distance: float  # ‖L^mm/‖L^mm‖_F − S̃/‖S̃‖_F‖_F
    cos: float  # cos(L^mm, S̃)
    sim_words: float  # sim(corr(W^mmᵀ), corr(W̃ᵀ)), factors by Cor. 1
    sim_contexts: float  # sim(corr(H^mm), corr(H̃))
    certificate: bool  # Z24 Prop. 3's sign test on S̃
    max_off_support: float  # its statistic, max over off-support (v, j) of (U Vᵀ)[v, j]
    effective_rank_mm: float  # exp(entropy of σ/Σσ) of L^mm (Roy & Vetterli)
    effective_rank_proxy: float
    rank_mm: int  # singular values of L^mm above rank_rtol · σ_1
    rank_proxy: int


def proxy_quality(S: np.ndarray, L_mm: np.ndarray, rank_rtol: float = 1e-3) -> ProxyQuality:
    """Compare ``S̃`` with ``L^mm`` in norm, direction, geometry (Cor. 1 factors), rank, and Prop. 3's certificate."""
    S = check_support(S, "S")
    S_t = centered_support(S)
    L_mm = check_array(L_mm, "L_mm", ndim=2)
    rank_rtol = check_real(rank_rtol, "rank_rtol", positive=True, below=1.0)
    if L_mm.shape != S_t.shape:
        raise ValueError(f"L_mm has shape {L_mm.shape} but S has shape {S_t.shape}")
    top = float(np.max(np.abs(L_mm)))
    if not 1e-150 < top < 1e150:  # ‖L_mm‖_F and the nuclear norm are formed directly: keep their squares in range
        raise ValueError(f"L_mm has largest entry {top:.3g} in magnitude; proxy_quality needs one between 1e-150 "
                         "and 1e150 (L^mm has in-support entries at least 1 above the off-support ones)")
    s_mm, s_p = np.linalg.svd(L_mm, compute_uv=False), np.linalg.svd(S_t, compute_uv=False)

    def erank(s: np.ndarray) -> float:
        q = s[s > 0] / s.sum()
        return float(np.exp(-np.sum(q * np.log(q))))

    (W_mm, H_mm), (W_p, H_p) = mm_embeddings(L_mm), mm_embeddings(S_t)
    cert = certificate(S)
    return ProxyQuality(
        float(s_p.sum()), float(s_mm.sum()), float(s_p.sum() / s_mm.sum() - 1.0),
        float(np.linalg.norm(L_mm / np.linalg.norm(L_mm) - S_t / np.linalg.norm(S_t))), _cos(L_mm, S_t),
        sim_corr(W_mm.T, W_p.T), sim_corr(H_mm, H_p), bool(cert), cert.max_off_support,
        erank(s_mm), erank(s_p), int(np.sum(s_mm > rank_rtol * s_mm[0])), int(np.sum(s_p > rank_rtol * s_p[0])))


class GeometryMetrics(NamedTuple):
    """Z24 Figs 4–7's metrics of one pair ``(W, H)`` (decoder V×d, context embeddings d×m)."""

    excess: float  # CE(W H) − H
    norm_W: float
    norm_H: float
    dist_in: float  # ‖P_𝓕(W H) − L^in‖_F
    cos_mm: float  # cos(W H, L^mm)
    sim_W_theory: float  # sim(corr(Wᵀ), corr(W^mmᵀ))
    sim_H_theory: float  # sim(corr(H), corr(H^mm))
    sim_W_proxy: float  # sim(corr(Wᵀ), corr(S̃ᵀ))
    sim_H_proxy: float  # sim(corr(H), corr(S̃))


def geometry_metrics(W: np.ndarray, H: np.ndarray, data: NTPData, ref: UFMReference) -> GeometryMetrics:
    """Excess loss, norms, ``‖P_𝓕 L − L^in‖``, ``cos(L, L^mm)`` and ``sim`` to theory and proxy (Z24 §5.3)."""
    check_data(data)
    W = check_array(W, "W", ndim=2, finite=True)
    H = check_array(H, "H", ndim=2, finite=True)
    if W.shape[0] != data.V or H.shape[1] != data.m or W.shape[1] != H.shape[0]:
        raise ValueError(f"need W of shape (V={data.V}, d) and H of shape (d, m={data.m}), "
                         f"got {W.shape} and {H.shape}")
    if not isinstance(ref, UFMReference):
        raise TypeError(f"ref must be a UFMReference (from ufm_reference), got {type(ref).__name__}")
    if ref.L_mm.shape != (data.V, data.m):
        raise ValueError(f"ref was made for data of shape {ref.L_mm.shape}, not V×m = ({data.V}, {data.m})")
    with np.errstate(over="ignore", invalid="ignore"):
        L = W @ H
    if not np.all(np.isfinite(L)):
        raise ValueError("the logits W H overflow float64: rescale W or H")
    return GeometryMetrics(
        ce_decomposition(L, data).excess, frobenius_norm(W), frobenius_norm(H),
        frobenius_norm(project_logits_F(L, data) - ref.L_in),
        _cos(L, ref.L_mm),
        sim_corr(W.T, ref.W_mm.T), sim_corr(H, ref.H_mm),
        sim_corr(W.T, ref.S_tilde.T), sim_corr(H, ref.S_tilde))


@dataclass(frozen=True)
class GeometryHistory:
    """Z24 Figs 4–7's metrics at the recorded steps, snapshots for the heatmaps, and the final factors.

    Returned by :func:`train_ufm` (NTP-UFM) and by ``models.train_model`` (a network's ``W`` and ``H``).
    """

    method: str
    steps: np.ndarray
    excess: np.ndarray  # CE(W H) − H
    norm_W: np.ndarray
    norm_H: np.ndarray
    dist_in: np.ndarray  # ‖P_𝓕(W H) − L^in‖_F
    cos_mm: np.ndarray  # cos(W H, L^mm)
    sim_W_theory: np.ndarray  # sim(corr(Wᵀ), corr(W^mmᵀ))
    sim_H_theory: np.ndarray  # sim(corr(H), corr(H^mm))
    sim_W_proxy: np.ndarray  # sim(corr(Wᵀ), corr(S̃ᵀ))
    sim_H_proxy: np.ndarray  # sim(corr(H), corr(S̃))
    W: np.ndarray
    H: np.ndarray
    snapshots: dict[int, tuple[np.ndarray, np.ndarray]] = field(repr=False)  # step → (W, H)
    seconds: float = float("nan")  # wall-clock time of the training loop, metrics included

    @classmethod
    def from_records(cls, method: str, steps: np.ndarray, rows: Sequence[GeometryMetrics], W: np.ndarray,
                     H: np.ndarray, snapshots: dict[int, tuple[np.ndarray, np.ndarray]],
                     seconds: float = float("nan")) -> "GeometryHistory":
        """Stack the metrics recorded at ``steps`` into one history."""
        cols = {k: np.array([getattr(r, k) for r in rows]) for k in GeometryMetrics._fields}
        return cls(method, np.asarray(steps), **cols, W=W, H=H, snapshots=snapshots, seconds=seconds)

    def final(self) -> dict[str, float]:
        """The metrics at the last recorded step."""
        return {k: float(getattr(self, k)[-1]) for k in GeometryMetrics._fields}


UFMHistory = GeometryHistory  # the name under which train_ufm's history was introduced


Optimizer = Callable[[list[torch.Tensor], float], torch.optim.Optimizer]


def train_ufm(data: NTPData, d: int, weight_decay: float = 1e-5, method: str | Optimizer = "gd",
              lr: float = 1.0, steps: int = 10_000, *, rng: np.random.Generator, init_scale: float = 0.1,
              batch_size: int | None = None, betas: tuple[float, float] = (0.9, 0.999), n_records: int = 60,
              snapshots: Sequence[int] = (), ref: UFMReference | None = None, dtype: torch.dtype = torch.float64,
              device: str = "cpu", progress: bool = False) -> GeometryHistory:
    """Train NTP-UFM (Z24 Def. 1): free ``W`` (V×d) and ``H`` (d×m) on ``CE(W H) + (λ/2)(‖W‖² + ‖H‖²)``.

    ``method``: ``"gd"`` (full batch), ``"sgd"`` (``batch_size`` contexts drawn uniformly per step, the loss
    reweighted to stay unbiased), ``"adam"``, or any ``f(params, lr) -> torch.optim.Optimizer``.  Entries of
    ``W, H`` start i.i.d. ``N(0, init_scale²)`` from ``rng`` (zero is a saddle point).  Metrics are recorded on
    a log-spaced schedule, and ``(W, H)`` at the steps listed in ``snapshots``.
    """
    check_data(data)
    V, m = data.V, data.m
    d = check_int(d, "d", minimum=1)
    weight_decay = check_real(weight_decay, "weight_decay", nonnegative=True)
    lr = check_real(lr, "lr", positive=True)
    steps = check_int(steps, "steps", minimum=1, maximum=2**62)
    rng = check_rng(rng)
    init_scale = check_real(init_scale, "init_scale", positive=True)
    n_records = check_int(n_records, "n_records", minimum=1)
    betas = check_betas(betas)
    dtype, device = check_dtype(dtype), check_device(device)
    progress = check_bool(progress, "progress")
    snapshots = check_ints(snapshots, "snapshots", minimum=0)
    if any(s > steps for s in snapshots):
        raise ValueError(f"snapshots must be steps in 0..steps = {steps}, got {max(snapshots)}")
    check_memory(8.0 * 6 * (V * d + d * m), f"the factors W (V×d = {V}×{d}) and H (d×m = {d}×{m})")
    if ref is not None and not isinstance(ref, UFMReference):
        raise TypeError(f"ref must be a UFMReference (from ufm_reference), got {type(ref).__name__}")
    if method == "sgd":
        if batch_size is None:
            raise ValueError(f"method='sgd' needs batch_size in 1..m={m}, got None")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        if batch_size > m:
            raise ValueError(f"method='sgd' needs batch_size in 1..m={m}, got {batch_size}")
    ref = ufm_reference(data) if ref is None else ref
    kw = dict(dtype=dtype, device=device)
    W = torch.tensor(init_scale * rng.standard_normal((V, d)), **kw)
    H = torch.tensor(init_scale * rng.standard_normal((d, m)), **kw)
    P, pi = torch.tensor(data.P, **kw), torch.tensor(data.pi, **kw)
    insupp = torch.tensor(data.S > 0, device=device)
    gen = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
    opt = None
    if callable(method):
        opt, name = method([W, H], lr), getattr(method, "__name__", "custom")
    elif method == "adam":
        opt, name = torch.optim.Adam([W, H], lr=lr, betas=betas), "adam"
    elif isinstance(method, str) and method in ("gd", "sgd"):
        name = method
    else:
        raise ValueError(f"method must be 'gd', 'sgd', 'adam' or an optimizer factory, got {method!r}")

    record, snaps = log_schedule(steps, n_records), set(int(s) for s in snapshots)
    rows, saved, r = [], {}, 0
    t0 = time.perf_counter()
    it = range(steps + 1)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"NTP-UFM {name}", mininterval=1.0)
    with torch.no_grad(), small_problem_threads(device, V * d * m):
        for k in it:
            if k == record[r] or k in snaps:
                if not (bool(torch.isfinite(W).all()) and bool(torch.isfinite(H).all())):
                    raise ValueError(f"the iterates of {name} overflowed before step {k}: lr = {lr:g}, "
                                     f"init_scale = {init_scale:g} or weight_decay = {weight_decay:g} is too large")
                Wn, Hn = W.cpu().numpy().astype(np.float64), H.cpu().numpy().astype(np.float64)
                if k in snaps:
                    saved[k] = (Wn.copy(), Hn.copy())
                if k == record[r]:
                    rows.append(geometry_metrics(Wn, Hn, data, ref))
                    r += 1
            if k == steps:
                break
            if name == "sgd":
                batch = torch.randperm(m, generator=gen, device=device)[:batch_size]
                weight = torch.zeros_like(pi).index_fill_(0, batch, 1.0) * pi * (m / batch_size)
            else:
                weight = pi
            G = _softmax_minus_P(W @ H, P, insupp) * weight  # ∂CE/∂L
            gW, gH = G @ H.T + weight_decay * W, W.T @ G + weight_decay * H
            if name in ("gd", "sgd"):
                W.sub_(lr * gW)
                H.sub_(lr * gH)
            else:
                W.grad, H.grad = gW, gH
                opt.step()
    return GeometryHistory.from_records(name, record, rows, W.cpu().numpy().astype(np.float64),
                                        H.cpu().numpy().astype(np.float64), saved, time.perf_counter() - t0)
