"""The nuclear-norm regularised problem in the logits (Z24 eq. 8), its path as ``λ → 0``, and the genie bound.

By Z24 Lemma 1 (``‖L‖_* = min_{L = W H} (‖W‖² + ‖H‖²)/2``) NTP-UFM is the convex problem

    min_L  CE(L) + λ‖L‖_*   (rank L ≤ d; the constraint is inactive for d ≥ V)          (8)

whose solutions grow as ``L_λ ≈ L^in + R(λ) L^mm`` when ``λ → 0`` (Thms 1–3).  :func:`nuclear_regularized_logits`
solves (8) by accelerated proximal gradient with a duality-gap certificate, :func:`nuclear_regularization_path`
follows it along decreasing ``λ``, and :func:`genie_bound` is the comparison point of the proofs.

Array arguments may come in any container :func:`~ntpbook_lib.validation.as_float64` accepts (NumPy of any
real dtype or layout, lists, pandas, torch tensors, SciPy sparse); each is read once, into a new float64
array, so arguments are never modified and results never share memory with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .data import NTPData
from .loss import kl_terms, log_softmax
from .nuclear_svm import log_odds_in, ntp_svm_logits, support_of
from .numerics import center_on_support, cosine, log_p_on_support, nuclear_norm, softmax_minus_P, svt
from .runtime import solver_threads
from .validation import check_array, check_data, check_int, check_real, check_strictly_monotone

__all__ = [
    "RegularizedLogits",
    "nuclear_regularized_logits",
    "NuclearPath",
    "nuclear_regularization_path",
    "GenieBound",
    "genie_bound",
]


# ------------------------------------------------------------------------------ problem (8) by APG
def _grad(L: np.ndarray, P: torch.Tensor, insupp: torch.Tensor, pi: np.ndarray) -> np.ndarray:
    """``∇CE(L) = (softmax(L) − P) diag(π̂)``, exact when the off-support mass is below rounding."""
    with torch.no_grad():
        return softmax_minus_P(torch.from_numpy(L), P, insupp).numpy() * pi


def _entropy(Q: np.ndarray) -> np.ndarray:
    return -np.sum(np.where(Q > 0, Q * np.log(np.where(Q > 0, Q, 1.0)), 0.0), axis=0)


def _gap(L: np.ndarray, G: np.ndarray, nuc: float, data: NTPData, lam: float) -> tuple[float, float]:
    """``(excess, duality gap)`` of (8): the dual point ``c∇CE(L)``, ``c = min(1, λ/‖∇CE‖_op)``, has value
    ``Σ_j π̂_j H(c softmax(ℓ_j) + (1 − c) p̂_j)`` (the conjugate of CE is a negative entropy)."""
    kl = kl_terms(L, data)
    c = min(1.0, lam / max(float(np.linalg.norm(G, 2)), 1e-300))
    Q = c * np.exp(log_softmax(L)) + (1 - c) * data.P
    dual = float(data.pi @ _entropy(Q))
    excess = float(data.pi @ kl)
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


@solver_threads
def nuclear_regularized_logits(data: NTPData, lam: float, *, L0: np.ndarray | None = None, tol: float = 1e-6,
                               max_iter: int = 200_000, check_every: int = 50) -> RegularizedLogits:
    """``L_λ = argmin_L CE(L) + λ‖L‖_*`` (Z24 eq. 8 with d ≥ V), by FISTA with singular-value thresholding.

    Step ``1/ℒ`` with ``ℒ = max_j π̂_j / 2`` (the softmax Hessian is at most ½), gradient-based adaptive
    restart, and a duality-gap stop relative to the objective minus the entropy:
    ``gap ≤ tol · (CE(L) − H + λ‖L‖_*)``.  ``L0`` warm-starts (a path goes λ downwards).

    Parameters
    ----------
    data : NTPData
        The data.
    lam : float
        ``λ > 0``.
    L0 : numpy.ndarray, optional
        A warm start, V×m.
    tol : float, optional
        Relative duality gap at which to stop.
    max_iter : int, optional
        Iteration limit.
    check_every : int, optional
        Iterations between gap checks.

    Returns
    -------
    RegularizedLogits
        ``L_λ`` with its certificate.
    """
    check_data(data)
    lam = check_real(lam, "lam", positive=True)
    tol = check_real(tol, "tol", positive=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    check_every = check_int(check_every, "check_every", minimum=1, maximum=max_iter)
    V, m = data.V, data.m
    if L0 is not None:  # finite: a non-finite entry would stall LAPACK's SVD
        L0 = check_array(L0, "L0", shape=(V, m), fits="V×m of data")
    return _solve(data, lam, L0, tol, max_iter, check_every)


def _solve(data: NTPData, lam: float, L0: np.ndarray | None, tol: float, max_iter: int, check_every: int
           ) -> RegularizedLogits:
    """:func:`nuclear_regularized_logits` for checked arguments."""
    L = np.zeros((data.V, data.m)) if L0 is None else L0.copy()
    step = 2.0 / float(data.pi.max())
    P, insupp = torch.from_numpy(data.P), torch.from_numpy(data.S > 0)
    Y, t = L.copy(), 1.0
    result = None
    for it in range(1, max_iter + 1):
        G = _grad(Y, P, insupp, data.pi)
        L_new, nuc = svt(Y - step * G, step * lam)
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


@solver_threads
def nuclear_regularization_path(data: NTPData, lams: Sequence[float], *, L_mm: np.ndarray | None = None,
                                tol: float = 1e-5, max_iter: int = 200_000) -> NuclearPath:
    """Solve (8) for decreasing ``λ`` and measure Z24 Thms 1–3 at each point.

    Each solve starts from a linear extrapolation in ``log λ`` of the two previous solutions (exact if
    ``L_λ = L^in + R(λ) L^mm`` with ``R`` affine in ``log λ``, as the theory suggests), which roughly halves
    the iterations at small ``λ``.  ``L = 0`` for ``λ ≥ ‖∇CE(0)‖_op``, where the direction metrics are nan.

    Parameters
    ----------
    data : NTPData
        The data.
    lams : sequence of float
        Positive distinct values of λ (solved in decreasing order).
    L_mm : numpy.ndarray, optional
        The NTP-SVM⋆ solution, when already solved.
    tol : float, optional
        Relative duality gap of each solve.
    max_iter : int, optional
        Iteration limit of each solve.

    Returns
    -------
    NuclearPath
        The solutions and the metrics of Z24 Thms 1–3.
    """
    check_data(data)
    lams = check_array(lams, "lams", ndim=1, nonempty=True)
    if np.any(lams <= 0):
        raise ValueError(f"lams must be positive, found {lams[lams <= 0][0]}")
    lams = check_strictly_monotone(np.sort(lams)[::-1], "lams (sorted)", increasing=False)
    tol = check_real(tol, "tol", positive=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if L_mm is None:
        L_mm = ntp_svm_logits(support_of(data))
    else:
        L_mm = check_array(L_mm, "L_mm", shape=(data.V, data.m), fits="V×m of data")
        if not np.any(L_mm):
            raise ValueError("L_mm must not be zero")
    mm = L_mm / np.linalg.svd(L_mm, compute_uv=False).sum()
    L_in = log_odds_in(data)
    rows, Ls = [], []
    insupp = data.S > 0
    for i, lam in enumerate(lams):
        L0 = Ls[-1] if i else None
        if i >= 2 and np.any(Ls[-2]):
            L0 = Ls[-1] + (Ls[-1] - Ls[-2]) * np.log(lams[i - 1] / lam) / np.log(lams[i - 2] / lams[i - 1])
        r = _solve(data, float(lam), L0, tol, max_iter, 50)
        L, nuc = r.L, r.nuclear_norm
        Ls.append(L)
        rows.append((r.excess, nuc,
                     np.linalg.norm(L / nuc - mm) if nuc > 0 else np.nan,
                     cosine(L, L_mm),
                     np.linalg.norm(center_on_support(L, insupp) - L_in), r.gap))
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


@solver_threads
def genie_bound(data: NTPData, L_mm: np.ndarray | None = None, tol: float = 1e-6) -> GenieBound:
    """The genie comparison behind Z24's regularisation-path theorems (Thms 1–3; cf. T24 Thm 1 and Prop. 4).

    Column j of ``L^in + R L^mm`` has in-support logits ``ℓ^in_{z,j} + R a_j`` and off-support logits
    ``R L^mm[v, j] ≤ R(a_j − 1)``, so with ``Z_j = Σ_{z∈S_j} e^{ℓ^in_{z,j}} = 1/GM_j``,
    ``CE − H = Σ_j π̂_j log(1 + GM_j Σ_{v∉S_j} e^{−R(a_j − L^mm[v,j])}) ≤ e^{−R} Σ_j π̂_j (V − S_j) GM_j``.
    ``L_mm`` (default: the NTP-SVM⋆ solution) must be feasible for eqs. (9)–(10) up to ``tol``.

    Parameters
    ----------
    data : NTPData
        The data.
    L_mm : numpy.ndarray, optional
        The NTP-SVM⋆ solution (solved when not given).
    tol : float, optional
        Feasibility tolerance of ``L_mm``.

    Returns
    -------
    GenieBound
        C, the nuclear norms and the two matrices.
    """
    check_data(data)
    tol = check_real(tol, "tol", nonnegative=True)
    if L_mm is not None:
        L_mm = check_array(L_mm, "L_mm", shape=(data.V, data.m), fits="V×m of data")
    L_in = log_odds_in(data)
    L_mm = ntp_svm_logits(support_of(data)) if L_mm is None else L_mm
    S = data.S > 0
    hi_in, lo_in = np.where(S, L_mm, -np.inf).max(axis=0), np.where(S, L_mm, np.inf).min(axis=0)
    hi_out = np.where(S, -np.inf, L_mm).max(axis=0)
    if np.any(hi_in - lo_in > tol) or np.any(lo_in - hi_out < 1 - tol):
        raise ValueError("L_mm is not feasible for the NTP-SVM⋆: in-support entries of a column must be equal "
                         "and exceed every off-support entry of that column by at least 1")
    logP = log_p_on_support(data.P, S)
    gm = np.exp(logP.sum(axis=0) / data.support_sizes)  # geometric mean of p̂_j over S_j
    C = float(data.pi @ ((data.V - data.support_sizes) * gm))
    return GenieBound(C, nuclear_norm(L_in), nuclear_norm(L_mm), L_in, L_mm)
