"""The regularisation path of the linear NTP model and the genie point of its proof (T24 Thm 1).

    Ŵ_B = argmin_{‖W‖_F ≤ B} CE(W H).

Since CE has no finite minimiser under NTP-separability, the ball constraint is active for every ``B``, and
``Ŵ_B`` is also the ridge solution ``W_μ = argmin CE(W H) + (μ/2)‖W‖²`` for the ``μ > 0`` at which
``‖W_μ‖ = B``.  Each ``W_μ`` is computed by Newton's method (the objective is smooth and μ-strongly convex),
and ``μ`` is matched to ``B`` by Newton's method on ``log ‖W_μ‖ = log B``, using
``dW_μ/dμ = −(∇²)^{-1} W_μ``.  Dense Hessians limit this to ``V·d`` of a few thousand.

Array arguments may come in any container :func:`~ntpbook_lib.validation.as_float64` accepts (NumPy of any
real dtype or layout, lists, pandas, torch tensors, SciPy sparse); each is read once, into a new float64
array, so arguments are never modified and results never share memory with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from .data import NTPData
from .loss import ce_decomposition, ce_loss, log_softmax
from .runtime import solver_threads
from .training import ImplicitBiasReference, alignment, implicit_bias_reference
from .validation import check_array, check_bool, check_decoder, check_embeddings, check_real, check_strictly_monotone

__all__ = ["ridge_solution", "regularization_path", "RegularizationPath", "genie_excess"]

_MAX_VD = 4000


def _grad_hess(W: np.ndarray, data: NTPData, H: np.ndarray, mu: float):
    L = W @ H
    Q = np.exp(log_softmax(L))
    G = ((Q - data.P) * data.pi) @ H.T + mu * W
    A = -np.einsum("vj,uj->vuj", Q, Q)  # π_j (diag q_j − q_j q_jᵀ)
    A[np.arange(W.shape[0]), np.arange(W.shape[0])] += Q
    A *= data.pi
    V, d = W.shape
    Hess = np.einsum("vuj,ij,kj->viuk", A, H, H, optimize=True).reshape(V * d, V * d)
    Hess[np.diag_indices_from(Hess)] += mu
    return G, Hess


def _objective(W: np.ndarray, data: NTPData, H: np.ndarray, mu: float) -> float:
    return ce_loss(W @ H, data) + 0.5 * mu * float(np.sum(W * W))


@solver_threads
def ridge_solution(data: NTPData, H: np.ndarray, mu: float, W0: np.ndarray | None = None,
                   tol: float = 1e-11, return_factor: bool = False):
    """``W_μ = argmin CE(W H) + (μ/2)‖W‖_F²``, by damped Newton (a point of T24 Thm 1's path).

    Parameters
    ----------
    data : NTPData
        The data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.
    mu : float
        The ridge parameter ``μ > 0``.
    W0 : numpy.ndarray, optional
        A warm start, V×d.
    tol : float, optional
        Relative step tolerance of Newton's method.
    return_factor : bool, optional
        Also return the Cholesky factor of the Hessian.

    Returns
    -------
    numpy.ndarray or tuple
        ``W_μ`` (V×d), with the factor on request.
    """
    H = check_embeddings(data, H)
    V, d = data.V, H.shape[0]
    mu = check_real(mu, "mu", positive=True)
    tol = check_real(tol, "tol", positive=True)
    return_factor = check_bool(return_factor, "return_factor")
    if V * d > _MAX_VD:
        raise ValueError(f"V·d = {V * d} is too large for the dense Newton solver (at most {_MAX_VD})")
    W = np.zeros((V, d)) if W0 is None else check_decoder(W0, data, H, "W0").copy()
    f = _objective(W, data, H, mu)
    for _ in range(200):
        G, Hess = _grad_hess(W, data, H, mu)
        fac = cho_factor(Hess)
        step = -cho_solve(fac, G.ravel()).reshape(V, d)
        decrement = -float(np.sum(G * step))  # the squared Newton decrement: f − f* ≈ decrement/2
        if np.linalg.norm(step) <= tol * (1.0 + np.linalg.norm(W)):
            break
        if decrement <= 1e-16 * max(1.0, abs(f)):  # quadratic convergence: one last full step is exact
            W = W + step
            break
        t = 1.0
        while decrement > 1e-10 * max(1.0, abs(f)):  # Armijo backtracking, until f's rounding hides progress
            W_new = W + t * step
            f_new = _objective(W_new, data, H, mu)
            if f_new <= f - 0.25 * t * decrement or t < 1e-12:
                break
            t /= 2
        else:
            W_new = W + step
            f_new = _objective(W_new, data, H, mu)
        W, f = W_new, f_new
    else:  # pragma: no cover - Newton on a strongly convex smooth function converges
        raise RuntimeError("Newton's method did not converge")
    return (W, fac) if return_factor else W


@dataclass(frozen=True)
class RegularizationPath:
    """``Ŵ_B`` for each radius B, with the metrics of :func:`alignment`."""

    radii: np.ndarray
    mu: np.ndarray  # ridge parameter with ‖W_μ‖ = B
    W: np.ndarray  # (len(radii), V, d)
    excess: np.ndarray
    cos_mm: np.ndarray
    cos_shift_mm: np.ndarray
    dist_F: np.ndarray
    margin: np.ndarray


@solver_threads
def regularization_path(data: NTPData, H: np.ndarray, radii: np.ndarray, ref: ImplicitBiasReference | None = None,
                        rtol: float = 1e-9) -> RegularizationPath:
    """``Ŵ_B = argmin_{‖W‖≤B} CE(W H)`` for increasing B (T24 Thm 1): its direction tends to ``W^mm`` and
    its projection on F to ``W^⋆``.  Each ``‖Ŵ_B‖`` matches B to ``rtol``.

    Parameters
    ----------
    data : NTPData
        The data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.
    radii : numpy.ndarray
        Increasing positive radii B.
    ref : ImplicitBiasReference, optional
        :func:`~ntpbook_lib.training.implicit_bias_reference` ``(data, H)``.
    rtol : float, optional
        Tolerance on ``‖Ŵ_B‖ = B``.

    Returns
    -------
    RegularizationPath
        The solutions and their metrics.
    """
    H = check_embeddings(data, H)
    radii = check_strictly_monotone(radii, "radii")
    rtol = check_real(rtol, "rtol", positive=True)
    ref = implicit_bias_reference(data, H) if ref is None else ref
    V, d = data.V, H.shape[0]
    G0 = ((np.full((V, data.m), 1.0 / V) - data.P) * data.pi) @ H.T
    log_mu = float(np.log(np.linalg.norm(G0) / radii[0]))  # small B: W ≈ −∇CE(0)/μ
    W = np.zeros((V, d))
    Ws, mus = [], []
    scale = float(np.linalg.norm((H * data.pi) @ H.T, 2))  # bounds the Hessian of CE(W H), up to 1/2
    for B in radii:
        for _ in range(100):
            if np.exp(log_mu) < 1e-10 * scale:
                raise ValueError(f"B = {B:g} is beyond float64 resolution: it needs μ = {np.exp(log_mu):.1e}, where "
                                 f"CE − H is at rounding level; use smaller radii")
            W, fac = ridge_solution(data, H, float(np.exp(log_mu)), W0=W, return_factor=True)
            nrm = float(np.linalg.norm(W))
            err = np.log(nrm) - np.log(B)
            if abs(err) <= rtol:
                break
            dW = -cho_solve(fac, W.ravel()).reshape(V, d)  # dW/dμ
            slope = np.exp(log_mu) * float(np.sum(W * dW)) / nrm**2  # d log‖W‖ / d log μ  (< 0)
            log_mu -= float(np.clip(err / slope, -2.0, 2.0))
        else:
            raise RuntimeError(f"could not match ‖W_μ‖ to B = {B:g} (reached {nrm:g})")
        Ws.append(W)
        mus.append(float(np.exp(log_mu)))
    metrics = [alignment(w, data, H, ref) for w in Ws]
    cols = {f: np.array([getattr(a, f) for a in metrics]) for f in ("excess", "cos_mm", "cos_shift_mm",
                                                                     "dist_F", "margin")}
    return RegularizationPath(radii, np.array(mus), np.array(Ws), **cols)


@solver_threads
def genie_excess(data: NTPData, H: np.ndarray, R: np.ndarray, ref: ImplicitBiasReference | None = None
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """The genie point ``W^⋆ + R·W^mm`` of T24 Thm 1's proof: its excess loss, the bound ``C e^{−R}``, and C.

    In-support logits of ``W^⋆`` reproduce ``p̂_j`` and ``W^mm`` lifts them by at least 1 above every
    out-of-support logit, so ``CE − H = Σ_j π̂_j log(1 + Σ_{v∉S_j} e^{ℓ*_v − LSE_{S_j} ℓ* + R(ℓ^mm_v − t_j)})
    ≤ C e^{−R}`` with ``C = Σ_j π̂_j Σ_{v∉S_j} exp(ℓ*_{v,j} − LSE_{z∈S_j} ℓ*_{z,j})``.

    Parameters
    ----------
    data : NTPData
        The data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.
    R : numpy.ndarray
        Values of R.
    ref : ImplicitBiasReference, optional
        :func:`~ntpbook_lib.training.implicit_bias_reference` ``(data, H)``.

    Returns
    -------
    tuple
        The excess loss at each R, the bound ``C e^{−R}``, and C.
    """
    H = check_embeddings(data, H)
    ref = implicit_bias_reference(data, H) if ref is None else ref
    R = check_array(R, "R")
    if ref.W_mm is None or not ref.compatible:
        raise ValueError("the genie point needs data that are NTP_H-compatible and NTP-separable with these "
                         "embeddings H (T24 Thm 1)")
    Ls = ref.W_star @ H
    off = data.S == 0
    lse = np.log(np.where(off, 0.0, np.exp(Ls - Ls.max(axis=0))).sum(axis=0)) + Ls.max(axis=0)
    C = float(data.pi @ np.where(off, np.exp(Ls - lse), 0.0).sum(axis=0))
    excess = np.array([data.pi @ ce_decomposition((ref.W_star + r * ref.W_mm) @ H, data).kl for r in R.ravel()])
    return excess.reshape(R.shape), C * np.exp(-R), C

