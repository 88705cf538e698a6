"""The NTP-SVM: the max-margin direction that gradient descent follows in ``F^⊥`` (T24 Def. 3).

    W^mm = argmin ‖W‖_F   s.t.   (e_z − e_z')ᵀ W h_j = 0   (z, z' ∈ S_j)            (6a)
                                 (e_z − e_v)ᵀ  W h_j ≥ 1   (z ∈ S_j, v ∉ S_j)        (6b)

A QP with V·d unknowns and Σ_j S_j (V − S_j) inequalities, but its dual lives in logit space.  Writing the
multipliers of context j as one vector ``c_j ∈ R^V`` (free on ``S_j``, ``−λ ≤ 0`` off it, summing to 0 because
every constraint is a difference of two logits), stationarity gives ``W = C Hᵀ`` and the dual is

    min_C  g(C) = ½ tr(C K Cᵀ) + Σ_{j, v∉S_j} C[v, j]   s.t.  1ᵀ c_j = 0,  C[v, j] ≤ 0 for v ∉ S_j,

with ``K = Hᵀ H``: a V×m problem whose constraint set is a product of simple per-column sets.  When K is
invertible and small, a primal-dual active-set method solves it exactly in a few linear solves; otherwise
accelerated projected gradient (FISTA with adaptive restart) runs, whose projection onto a column's set is a
1-D root find.  The iterates certify themselves: ``L = C K`` are the primal logits, and FISTA stops when
(6a), (6b) and complementary slackness hold to ``tol``.

Array arguments may come in any container :func:`~ntpbook_lib.validation.as_float64` accepts (NumPy of any
real dtype or layout, lists, pandas, torch tensors, SciPy sparse); each is read once, into a new float64
array, so arguments are never modified and results never share memory with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .acceleration import anderson_iterates
from .data import NTPData
from .numerics import embedding_scale, project_columns, rescale, spread_and_margin
from .runtime import shared_core_threads, solver_threads
from .separability import is_separable, require_margin_constraints
from .validation import check_bool, check_choice, check_embeddings, check_int, check_real

__all__ = ["ntp_svm", "NTPSVMInfo", "svm_residuals"]


@dataclass(frozen=True)
class NTPSVMInfo:
    """Diagnostics of an NTP-SVM solve."""

    C: np.ndarray  # dual variables, V×m: W^mm = C Hᵀ
    method: str  # "active-set", "admm" or "fista"
    iterations: int  # ADMM or FISTA iterations (0 for the active-set method)
    objective: float  # ‖W^mm‖_F²/2
    dual_objective: float  # −g(C); equals the objective at the optimum
    equality_violation: float  # max_j (max − min) of the in-support logits, relative to ‖L‖_max
    margin_violation: float  # max(0, 1 − NTP margin)
    complementarity: float  # |Σ C[v,j] (margin_vj − 1)| over off-support pairs, relative to the objective
    converged: bool


def svm_residuals(L: np.ndarray, C: np.ndarray, off: np.ndarray) -> tuple[float, float, float]:
    """(equality violation, margin violation, complementarity) of logits ``L = C K`` for the NTP-SVM.

    Parameters
    ----------
    L : numpy.ndarray
        Logits ``C K``, V×m.
    C : numpy.ndarray
        Dual variables, V×m.
    off : numpy.ndarray
        V×m boolean, True off the support.

    Returns
    -------
    tuple of float
        Equality violation, margin violation, complementarity.
    """
    spread, margin, low = spread_and_margin(L, off)
    eq = spread / max(float(np.abs(L).max()), 1.0)
    slack = np.where(off, low[None, :] - L - 1.0, 0.0)  # margin of each off-support pair minus 1
    obj = max(float(np.sum(C * L)) / 2, 1e-300)
    comp = abs(float(np.sum(np.where(off, C, 0.0) * slack))) / (2 * obj)
    return eq, max(0.0, 1.0 - margin), comp


def _active_set(K: np.ndarray, off: np.ndarray, max_iter: int = 50) -> np.ndarray | None:
    """Exact dual solution by a primal-dual active-set method (Hintermüller, Ito & Kunisch 2002); K must be PD.

    ``A`` marks the off-support pairs whose margin constraint is released (``C = 0``, slack ``s ≥ 0``); on
    the others the constraint is tight, ``L[v, j] = t_j − [v ∉ S_j]``.  Given ``A``, the KKT system splits by
    rows of C: ``c_v K_v = (t − o_v)_{J_v}`` on the columns ``J_v`` where row v is not released, and the m
    column-sum equations give ``(Σ_v E_v K_v^{-1} E_vᵀ) t = Σ_v E_v K_v^{-1} o_v``.  Then a pair is released
    when its multiplier ``C`` turned positive and restored when its slack turned negative, until ``A`` is
    stable.  Returns None if it does not settle within ``max_iter`` iterations.
    """
    V, m = off.shape
    o = off.astype(np.float64)
    A = np.zeros_like(off)
    for _ in range(max_iter):
        J = ~A  # J[v] marks the columns J_v
        # all K_v^{-1} at once: invert K restricted to J_v, padded with the identity, then mask the padding
        Kinv = np.linalg.inv(np.where(J[:, :, None] & J[:, None, :], K, 0.0) + (A[:, :, None] * np.eye(m)))
        Kinv *= J[:, :, None] & J[:, None, :]
        t = np.linalg.solve(Kinv.sum(axis=0), np.einsum("vij,vj->i", Kinv, o))
        C = np.einsum("vij,vj->vi", Kinv, t[None, :] - o)
        slack = t[None, :] - 1.0 - C @ K  # ≥ 0 where the margin constraint holds
        A_new = off & np.where(A, slack > 0, C > 0)
        if np.array_equal(A_new, A):
            return C
        A = A_new
    return None


def _jacobi(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Jacobi scaling of K: ``(d, D^{-1/2} K D^{-1/2})`` with ``d = diag(D)^{-1/2}``, ``D = diag K``."""
    dscale = 1.0 / np.sqrt(np.maximum(np.diag(K), 1e-300))
    return dscale, K * np.outer(dscale, dscale)


def _fista(K: np.ndarray, off: np.ndarray, tol: float, max_iter: int, Ks: np.ndarray, dscale: np.ndarray,
           ev_max: float) -> tuple[np.ndarray, int]:
    """Accelerated projected gradient on the dual (Beck & Teboulle 2009), with Jacobi scaling and restarts.

    ``Ks, dscale`` are :func:`_jacobi` of K and ``ev_max`` the largest eigenvalue of ``Ks``.
    """
    n_in = (~off).sum(axis=0).astype(np.float64)
    # Jacobi scaling C = C̃ D^{-1/2}, D = diag K: the column sets are cones invariant under column scaling.
    lin = np.where(off, 1.0, 0.0) * dscale  # ∂/∂C̃ of Σ_off C
    step = 1.0 / ev_max
    X = np.zeros(off.shape)
    Y, t, it = X.copy(), 1.0, 0
    for it in range(1, max_iter + 1):
        X_new = project_columns(Y - step * (Y @ Ks + lin), off, n_in)
        if np.sum((Y - X_new) * (X_new - X)) > 0:  # momentum points uphill: restart (O'Donoghue & Candès)
            X, Y, t = X_new, X_new, 1.0
        else:
            t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
            X, Y, t = X_new, X_new + ((t - 1) / t_new) * (X_new - X), t_new
        if it % 10 == 0:
            C = X * dscale
            if max(svm_residuals(C @ K, C, off)) <= tol:
                break
    return X * dscale, it


def _admm_dual(K: np.ndarray, off: np.ndarray, tol: float, max_iter: int, Ks: np.ndarray, dscale: np.ndarray,
          ev: np.ndarray, memory: int = 8) -> tuple[np.ndarray, int]:
    """ADMM on the dual, split as ``C = D`` between the quadratic and the column cones, Anderson-accelerated.

    In Douglas–Rachford form ``z ↦ z + prox_q(2Π(z) − z) − Π(z)``: Π projects onto the cones (column by column)
    and ``prox_q(Y) = (ρY − O)(K + ρI)^{-1}`` is two triangular solves with one Cholesky factor (O marks the
    off-support pairs).  With the Jacobi scaling of :func:`_fista`, ``ρ = 8 √(λ_min λ_max)`` of the scaled K.
    Steps extrapolated from the last ``memory`` ones are kept when they lower ``‖T(z) − z‖``.  Stops, like
    FISTA, when (6a), (6b) and complementary slackness hold to ``tol`` at ``C = Π(z)``.  ``Ks, dscale`` are
    :func:`_jacobi` of K and ``ev`` the eigenvalues of ``Ks`` in ascending order.
    """
    from scipy.linalg import cho_factor, cho_solve

    n_in = (~off).sum(axis=0).astype(np.float64)
    lin = np.where(off, 1.0, 0.0) * dscale
    rho = 8.0 * np.sqrt(max(ev[0], 1e-12 * ev[-1]) * ev[-1])
    factor = cho_factor(Ks + rho * np.eye(K.shape[0]))

    def step(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        D = project_columns(z, off, n_in)
        X = cho_solve(factor, (rho * (2.0 * D - z) - lin).T, check_finite=False).T
        return z + X - D, D

    it, D = 0, None
    for it, (D,) in zip(range(1, max_iter + 1), anderson_iterates(step, np.zeros(off.shape), memory)):
        if it % 10 == 0:
            C = D * dscale
            if max(svm_residuals(C @ K, C, off)) <= tol:
                break
    return D * dscale, it


def _full_column_rank(H: np.ndarray, K: np.ndarray, ev: np.ndarray) -> bool:
    """``rank H = m``, decided as ``σ_min(H) > 1e-10 σ_max(H)``, from the eigenvalues ``ev`` of the Jacobi-scaled
    ``K = HᵀH`` when they settle it, else from the singular values of H.

    With ``H_s = H D^{-1/2}`` (unit columns, ``D = diag K``), ``cond(H) ≤ cond(H_s) · √(max D / min D)`` and
    ``cond(H_s)² = λ_max/λ_min`` of the scaled K.  When ``λ_min > 1e-8 λ_max`` (so the computed λ_min is
    accurate) and this bound is below 10^9, the test holds with a factor 10 to spare and no SVD is needed.
    Every quantity is a ratio, so the decision does not depend on the scale of H.
    """
    diag = np.diag(K)
    if ev[0] > 1e-8 * ev[-1] and diag.min() > 0 and (ev[-1] / ev[0]) * (diag.max() / diag.min()) < 1e18:
        return True
    sig = np.linalg.svd(H, compute_uv=False)
    return bool(sig.size == H.shape[1] and sig[-1] > 1e-10 * sig[0])


@solver_threads
def ntp_svm(data: NTPData, H: np.ndarray, *, method: str = "auto", tol: float = 1e-9, max_iter: int = 20_000,
            return_info: bool = False, norm: str = "fro") -> np.ndarray | tuple[np.ndarray, NTPSVMInfo]:
    """``W^mm``, the NTP-SVM solution (T24 Def. 3): the min-norm ``W ∈ F^⊥`` with NTP margin 1.

    Solved on the V×m dual (module docstring), by the exact active-set method when ``K = HᵀH`` is
    invertible and small enough (``method="active-set"``), else when K is invertible by Anderson-accelerated
    ADMM (``method="admm"``), else by FISTA (``method="fista"``), the last two to ``tol``.
    Raises ``ValueError`` when the data is not NTP-separable (decided by :func:`is_separable` unless
    ``rank H = m``, which makes it separable by T24 Lemma 1).  ``norm="max"`` or ``"spectral"``: the NTP-SVM
    under that norm, by :func:`ntpbook_lib.margins.ntp_svm_norm` (relative duality gap ``max(tol, 1e-6)``).
    """
    if check_choice(norm, "norm", ("fro", "max", "spectral")) != "fro":
        from .margins import ntp_svm_norm

        return ntp_svm_norm(data, H, norm, tol=max(tol, 1e-6), max_iter=max(max_iter, 50_000), return_info=return_info)
    method = check_choice(method, "method", ("auto", "active-set", "admm", "fista"))
    tol = check_real(tol, "tol", positive=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    return_info = check_bool(return_info, "return_info")
    require_margin_constraints(data)
    H = check_embeddings(data, H)
    scale = embedding_scale(H)
    if scale not in (0.0, 1.0):  # W^mm(cH) = W^mm(H)/c: solve at unit scale, where every tolerance is relative
        W, info = ntp_svm(data, H / scale, method=method, tol=tol, max_iter=max_iter, return_info=True)
        how = "(which scales like 1/‖H‖) "
        W = rescale(W, 1.0 / scale, "W^mm", how)
        if not return_info:
            return W
        c2 = 1.0 / scale**2 if scale**2 > 0 and np.isfinite(scale**2) else None
        if c2 is None:
            raise ValueError(f"the dual variables of the NTP-SVM scale like 1/‖H‖² and are not representable "
                             f"in float64 at ‖H‖_max = {scale:.3g}: rescale H")
        info = NTPSVMInfo(rescale(info.C, c2, "the dual C", "(which scales like 1/‖H‖²) "), info.method,
                          info.iterations, rescale(info.objective, c2, "‖W^mm‖²/2"),
                          rescale(info.dual_objective, c2, "the dual objective"), info.equality_violation,
                          info.margin_violation, info.complementarity, info.converged)
        return W, info
    with shared_core_threads():
        return _solve(data, H, method, tol, max_iter, return_info)


def _solve(data: NTPData, H: np.ndarray, method: str, tol: float, max_iter: int,
           return_info: bool) -> np.ndarray | tuple[np.ndarray, NTPSVMInfo]:
    """:func:`ntp_svm` at unit scale, for checked arguments."""
    V, m = data.V, data.m
    K = H.T @ H
    dscale, Ks = _jacobi(K)
    ev = np.linalg.eigvalsh(Ks)  # ascending; ρ of the ADMM, FISTA's step and (mostly) the rank decision
    full_rank = H.shape[0] >= m and _full_column_rank(H, K, ev)
    if not full_rank:
        sep = is_separable(data, H, explain=False)
        if not sep:
            raise ValueError(f"the data is not NTP-separable, so the NTP-SVM (T24 Def. 3) has no solution: "
                             f"{sep.message}")
        if method == "active-set":
            raise ValueError(f"method='active-set' needs rank H = m = {m} (K = HᵀH invertible)")
    off = data.S == 0
    C, it, used = None, 0, "fista"
    if full_rank and (method == "active-set" or (method == "auto" and V * m**3 <= 1e7)):
        C, used = _active_set(K, off), "active-set"
        if C is None and method == "active-set":
            raise RuntimeError("the active-set method did not settle; use method='fista'")
    if C is None and (method == "admm" or (method == "auto" and full_rank)):
        C, it = _admm_dual(K, off, tol, max_iter, Ks, dscale, ev)
        used = "admm"
    if C is None:
        C, it = _fista(K, off, tol, max_iter, Ks, dscale, ev[-1])
        used = "fista"
    L = C @ K
    eq, mv, comp = svm_residuals(L, C, off)
    obj = 0.5 * float(np.sum(C * L))
    info = NTPSVMInfo(C, used, it, obj, -float(np.sum(np.where(off, C, 0.0))) - obj, eq, mv, comp,
                      max(eq, mv, comp) <= max(tol, 1e-9))
    W = C @ H.T
    return (W, info) if return_info else W
