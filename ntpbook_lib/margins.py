"""The NTP-SVM under other norms: which margin an optimizer's geometry picks (T24 Def. 3 with ‖·‖ ≠ ‖·‖_F).

    W^mm_‖·‖ = argmin ‖W‖   s.t.   (e_z − e_z')ᵀ W h_j = 0   (z, z' ∈ S_j)            (6a)
                                   (e_z − e_v)ᵀ  W h_j ≥ 1   (z ∈ S_j, v ∉ S_j)        (6b)

for ``‖·‖`` the Frobenius norm (``"fro"``, :func:`ntpbook_lib.svm.ntp_svm`), the entrywise max-norm
``‖W‖_max = max |W_vi|`` (``"max"``, a linear program solved by HiGHS) or the spectral norm ``‖W‖_2 = σ_max(W)``
(``"spectral"``, a primal-dual first-order method with an adaptive primal weight).  The constraints do not depend on the norm: (6a) says
``W ∈ F^⊥``, (6b) is NTP-separability with margin 1.

Every solve is certified by weak duality.  A multiplier matrix ``C ∈ R^{V×m}`` whose columns sum to zero and
whose off-support entries are ``≤ 0`` satisfies, for every feasible W (in-support logits ``t_j``,
off-support logits ``≤ t_j − 1``),

    ⟨C Hᵀ, W⟩ = Σ_j c_jᵀ L_j = Σ_{j, v∉S_j} (−C_vj)(t_j − L_vj) ≥ −Σ_off C,

so ``‖W‖ ≥ (−Σ_off C) / ‖C Hᵀ‖_*`` with ``‖·‖_*`` the dual norm (Frobenius, entrywise ℓ1, nuclear).  The
returned W is exactly in ``F^⊥`` (projected) and scaled to margin exactly 1, so ``‖W‖`` is an upper bound and
the relative gap between the two bounds certifies how far from optimal it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .data import NTPData
from .numerics import embedding_scale, rescale
from .runtime import MAX_STEPS, solver_threads
from .separability import DataSubspace, in_support_pairs, is_separable, margin_pairs, require_margin_constraints
from .validation import check_array, check_bool, check_choice, check_decoder, check_embeddings, check_int, check_real

__all__ = ["NORMS", "matrix_norm", "dual_norm", "MarginCertificate", "margin_certificate", "ntp_svm_norm",
           "margin_references", "margin_metrics"]

NORMS = ("fro", "max", "spectral")


def matrix_norm(W: np.ndarray, norm: str) -> float:
    """``‖W‖`` for ``norm`` in ``NORMS``: Frobenius, entrywise max ``max |W_vi|``, or spectral ``σ_max(W)``."""
    norm = check_choice(norm, "norm", NORMS)
    W = check_array(W, "W", finite=False)
    if norm == "fro":
        return float(np.linalg.norm(W))
    if norm == "max":
        return float(np.abs(W).max(initial=0.0))
    return float(np.linalg.norm(W, 2))


def dual_norm(W: np.ndarray, norm: str) -> float:
    """The dual of :func:`matrix_norm`: Frobenius, entrywise ℓ1 ``Σ |W_vi|`` (of max), nuclear (of spectral)."""
    norm = check_choice(norm, "norm", NORMS)
    W = check_array(W, "W", finite=False)
    if norm == "fro":
        return float(np.linalg.norm(W))
    if norm == "max":
        return float(np.abs(W).sum())
    return float(np.linalg.svd(W, compute_uv=False).sum())


@dataclass(frozen=True)
class MarginCertificate:
    """Certificate of an NTP-SVM solve under ``norm``: primal feasibility, both bounds and their gap."""

    norm: str
    method: str  # "highs", "pdhg" or the Frobenius solver's method
    iterations: int
    objective: float  # ‖W‖ of the returned W (an upper bound on the optimum)
    dual_objective: float  # (−Σ_off C)/‖C Hᵀ‖_* (a lower bound)
    gap: float  # (objective − dual_objective)/objective
    equality_violation: float  # max_j spread of the in-support logits of W, relative to ‖W H‖_max
    margin: float  # NTP margin of W (1 up to rounding)
    C: np.ndarray  # the multipliers of the lower bound, V×m
    converged: bool


def _dual_point(C: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Make C a valid multiplier: off-support entries clipped to ``≤ 0``, column sums removed on the support."""
    C = np.where(off, np.minimum(C, 0.0), C)
    n_in = (~off).sum(axis=0)
    return C - np.where(off, 0.0, C.sum(axis=0) / n_in)


def margin_certificate(W: np.ndarray, C: np.ndarray, data: NTPData, H: np.ndarray, norm: str, *,
                       method: str = "", iterations: int = 0, tol: float = 1e-6) -> MarginCertificate:
    """Weak-duality certificate of a candidate ``W`` (assumed in ``F^⊥``, margin 1) and multipliers ``C``."""
    norm = check_choice(norm, "norm", NORMS)
    H = check_embeddings(data, H)
    W = check_decoder(W, data, H)
    C = check_array(C, "C", shape=(data.V, data.m))
    off = data.S == 0
    C = _dual_point(C, off)
    L = W @ H
    in_L = np.where(off, np.nan, L)
    spread = float(np.max(np.nanmax(in_L, axis=0) - np.nanmin(in_L, axis=0)))
    eq = spread / max(float(np.abs(L).max()), 1e-300)
    margin = float(np.min(np.nanmin(in_L, axis=0) - np.where(off, L, -np.inf).max(axis=0)))
    obj = matrix_norm(W, norm)
    dn = dual_norm(C @ H.T, norm)
    dual = float(-np.sum(np.where(off, C, 0.0))) / dn if dn > 0 else 0.0
    gap = (obj - dual) / obj
    return MarginCertificate(norm, method, iterations, obj, dual, gap, eq, margin, C,
                             bool(gap <= tol and eq <= 1e-9 and margin >= 1 - 1e-9))


def _lp_rows(data: NTPData, H: np.ndarray):
    """Sparse rows of (6a) (anchored, one per z ∈ S_j other than the anchor) and of (6b) (anchor minus v),
    as linear maps of ``vec(W)`` (row-major V×d)."""
    import scipy.sparse as sp

    V, d = data.V, H.shape[0]

    def rows(j, z, a):
        n = j.size
        cols = np.concatenate([z[:, None] * d + np.arange(d), a[:, None] * d + np.arange(d)], axis=1)
        vals = np.concatenate([H[:, j].T, -H[:, j].T], axis=1)
        return sp.csr_array((vals.ravel(), (np.repeat(np.arange(n), 2 * d), cols.ravel())), shape=(n, V * d))

    return rows(*in_support_pairs(data)), rows(*margin_pairs(data))


def _max_norm_lp(data: NTPData, H: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``min t`` s.t. (6a), (6b), ``−t ≤ W_vi ≤ t``: HiGHS (interior point with crossover, about 2× faster than simplex here); returns (W, C from the LP's duals, iterations)."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    V, d, m = data.V, H.shape[0], data.m
    n = V * d
    A_eq, A_m = _lp_rows(data, H)
    ones = np.ones((n, 1))
    A_ub = sp.vstack([sp.hstack([-A_m, sp.csr_array((A_m.shape[0], 1))]),
                      sp.hstack([sp.eye_array(n), -ones]), sp.hstack([-sp.eye_array(n), -ones])], format="csr")
    b_ub = np.r_[-np.ones(A_m.shape[0]), np.zeros(2 * n)]
    A_eq1 = sp.hstack([A_eq, sp.csr_array((A_eq.shape[0], 1))], format="csr")
    c = np.r_[np.zeros(n), 1.0]
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq1, b_eq=np.zeros(A_eq.shape[0]),
                  bounds=[(None, None)] * n + [(0, None)], method="highs-ipm")
    if res.status != 0:
        raise RuntimeError(f"HiGHS did not solve the max-norm NTP-SVM: {res.message}")
    W = res.x[:n].reshape(V, d)
    # C_j = Σ_z μ_jz (e_z − e_a) + Σ_v λ_jv (e_a − e_v) with μ the equality duals and λ = −(margin duals) ≥ 0
    C = np.zeros((V, m))
    j, z, a = in_support_pairs(data)
    mu = res.eqlin.marginals
    np.add.at(C, (z, j), mu)
    np.add.at(C, (a, j), -mu)
    jm, am, vm = margin_pairs(data)
    lam = -res.ineqlin.marginals[: jm.size]
    np.add.at(C, (am, jm), lam)
    np.add.at(C, (vm, jm), -lam)
    # the LP's W-stationarity reads C Hᵀ = (box multipliers); the sign of C is fixed by −Σ_off C ≥ 0
    return W, C, int(getattr(res, "nit", 0))


def _project_logit_columns(Y: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Project each column of Y onto ``{ℓ : ℓ_z = t on S_j, ℓ_v ≤ t − 1 off S_j}`` (Frobenius).

    ``t`` is the root of the decreasing convex ``φ(t) = Σ_S (y_z − t) + Σ_off (y_v + 1 − t)_+``; Newton's
    method from ``t₀ = mean_S y`` (where ``φ ≥ 0``) increases monotonically to it in finitely many steps.
    """
    n_in = (~off).sum(axis=0)
    insum = np.where(off, 0.0, Y).sum(axis=0)
    t = insum / n_in
    up = np.where(off, Y + 1.0, -np.inf)
    active = np.zeros_like(off)
    for it in range(Y.shape[0] + 2):
        new = up > t
        if it and np.array_equal(new, active):
            break
        active = new
        t = (insum + np.where(active, up, 0.0).sum(axis=0)) / (n_in + active.sum(axis=0))
    return np.where(off, np.minimum(Y, t - 1.0), t)


def _prox_spectral(X: np.ndarray, tau: float) -> np.ndarray:
    """``prox_{τ‖·‖_2}(X)``: the singular values clipped at the level θ with ``Σ (σ_i − θ)_+ = τ``."""
    U, s, Qt = np.linalg.svd(X, full_matrices=False)
    if s.sum() <= tau:
        return np.zeros_like(X)
    cs = np.cumsum(s)
    k = np.arange(1, s.size + 1)
    theta = (cs - tau) / k  # level if the top k are clipped
    kk = np.flatnonzero(theta <= s)[-1]  # s sorted decreasingly: largest k whose level lies below σ_k
    return (U * np.minimum(s, theta[kk])) @ Qt


def _spectral_pdhg(data: NTPData, H: np.ndarray, F: DataSubspace, tol: float, max_iter: int,
                   check_every: int = 50) -> tuple[np.ndarray, np.ndarray, int]:
    """``min ‖W‖_2 + ι_S(W H)`` by the primal-dual hybrid gradient method (Chambolle & Pock 2011).

    Every ``check_every`` iterations the iterate is certified (:func:`_certify_spectral`) and the best
    certificate kept; the primal weight ``ω`` (the ratio τ/σ of the step sizes) moves halfway, on a log scale,
    toward the ratio of the primal to the dual movement since the last check, as PDLP does (Applegate et al.
    2021): on the problems of chapter 6 this cuts the iterations 2–7× against a fixed ω.  Stops at relative
    gap ``tol``.
    """
    off = data.S == 0
    nH = float(np.linalg.norm(H, 2))
    W = np.zeros((data.V, H.shape[0]))
    Y = np.zeros(off.shape)
    W_last, Y_last = W.copy(), Y.copy()
    best: tuple[float, np.ndarray | None, np.ndarray | None] = (np.inf, None, None)
    omega, it = 1.0, 0
    for it in range(1, max_iter + 1):
        tau, sigma = 0.95 * omega / nH, 0.95 / (omega * nH)  # τσ‖H‖² < 1
        W_new = _prox_spectral(W - tau * (Y @ H.T), tau)
        Z = Y + sigma * ((2 * W_new - W) @ H)
        Y = Z - sigma * _project_logit_columns(Z / sigma, off)  # prox of σ ι_S* by Moreau's identity
        W = W_new
        if it % check_every:
            continue
        cert = _certify_spectral(W, -Y, data, H, F)
        if cert is not None and cert[0] < best[0]:
            best = cert
        if best[0] <= tol:
            break
        dw, dy = float(np.linalg.norm(W - W_last)), float(np.linalg.norm(Y - Y_last))
        if dw > 0 and dy > 0:
            omega = float(np.sqrt(omega * dw / dy))
        W_last, Y_last = W.copy(), Y.copy()
    if best[1] is None:
        raise RuntimeError("the spectral NTP-SVM solver found no feasible point: raise max_iter")
    return best[1], best[2], it


def _certify_spectral(W: np.ndarray, C: np.ndarray, data: NTPData, H: np.ndarray,
                      F: DataSubspace) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(relative gap, feasible W, multipliers) of a PDHG iterate, or None when its projection has no margin."""
    off = data.S == 0
    Wp = F.project_perp(W)
    L = Wp @ H
    margin = float(np.min(np.where(off, np.inf, L).min(axis=0) - np.where(off, L, -np.inf).max(axis=0)))
    if not margin > 0:
        return None
    Wp = Wp / margin
    C = _dual_point(C, off)
    dn = dual_norm(C @ H.T, "spectral")
    dual = float(-np.sum(np.where(off, C, 0.0))) / dn if dn > 0 else 0.0
    obj = matrix_norm(Wp, "spectral")
    return (obj - dual) / obj, Wp, C


@solver_threads
def ntp_svm_norm(data: NTPData, H: np.ndarray, norm: str = "max", *, tol: float = 1e-6, max_iter: int = 50_000,
                 return_info: bool = False) -> np.ndarray | tuple[np.ndarray, MarginCertificate]:
    """``W^mm_‖·‖``, the NTP-SVM (T24 Def. 3) with ‖·‖ the Frobenius, max or spectral norm, and its certificate.

    ``"max"``: the linear program by HiGHS (exact to HiGHS's tolerances); ``"spectral"``: PDHG until the
    certified relative duality gap is below ``tol`` (or ``max_iter`` iterations); ``"fro"``:
    :func:`ntpbook_lib.svm.ntp_svm`.  Raises ``ValueError`` when the data is not NTP-separable.
    """
    norm = check_choice(norm, "norm", NORMS)
    tol = check_real(tol, "tol", positive=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1, maximum=MAX_STEPS)
    return_info = check_bool(return_info, "return_info")
    require_margin_constraints(data)
    H = check_embeddings(data, H)
    if norm == "fro":
        from .svm import ntp_svm

        W, info = ntp_svm(data, H, tol=min(tol, 1e-9), return_info=True)
        cert = margin_certificate(W, info.C, data, H, "fro", method=info.method, iterations=info.iterations,
                                  tol=tol)
        return (W, cert) if return_info else W
    scale = embedding_scale(H)
    if scale not in (0.0, 1.0):  # W^mm(cH) = W^mm(H)/c for every norm: solve at unit scale
        W, cert = ntp_svm_norm(data, H / scale, norm, tol=tol, max_iter=max_iter, return_info=True)
        W = rescale(W, 1.0 / scale, "W^mm", "(which scales like 1/‖H‖) ")
        if not return_info:
            return W
        cert = margin_certificate(W, cert.C, data, H, norm, method=cert.method, iterations=cert.iterations,
                                  tol=tol)
        return W, cert
    sep = is_separable(data, H, explain=False)
    if not sep:
        raise ValueError(f"the data is not NTP-separable, so the NTP-SVM (T24 Def. 3) has no solution under any "
                         f"norm: {sep.message}")
    F = DataSubspace(data, H)
    if norm == "max":
        W, C, it = _max_norm_lp(data, H)
        W = F.project_perp(W)  # remove HiGHS's rounding from (6a), then restore margin 1 exactly
        W = W / ntp_margin_of(W, data, H)
        method = "highs"
    else:
        W, C, it = _spectral_pdhg(data, H, F, tol, max_iter)
        method = "pdhg"
    cert = margin_certificate(W, C, data, H, norm, method=method, iterations=it, tol=max(tol, 1e-7))
    return (W, cert) if return_info else W


def ntp_margin_of(W: np.ndarray, data: NTPData, H: np.ndarray) -> float:
    """The NTP margin of ``W`` without input checks (for the solvers' own iterates)."""
    off = data.S == 0
    L = W @ H
    return float(np.min(np.where(off, np.inf, L).min(axis=0) - np.where(off, L, -np.inf).max(axis=0)))


@solver_threads
def margin_references(data: NTPData, H: np.ndarray, norms: tuple[str, ...] = NORMS,
                      tol: float = 1e-6) -> dict[str, np.ndarray]:
    """The NTP-SVM solution under each norm of ``norms``, for :func:`margin_metrics`."""
    return {n: ntp_svm_norm(data, H, n, tol=tol) for n in norms}


def margin_metrics(data: NTPData, H: np.ndarray, refs: Mapping[str, np.ndarray],
                   F: DataSubspace | None = None) -> dict[str, Callable[[np.ndarray], float]]:
    """Per-norm metrics of a decoder W, as functions of W: ``margin_<norm>`` (``ntp_margin(W)/‖W‖``),
    ``perp_margin_<norm>`` (the same for ``P_⊥ W``, which has the same limit without the bounded F-part) and
    ``cos_<norm>`` (cosine of ``P_⊥ W`` to that norm's NTP-SVM direction), for each norm of ``refs``.

    The cosine is taken on ``P_⊥ W = W − P_F W``, the part of W that diverges (T24 Thm 2); the ``F``-part stays
    bounded and is measured by ``‖P_F W − W^⋆‖`` (``dist_F`` in :func:`ntpbook_lib.training.train_linear`'s history).
    """
    H = check_embeddings(data, H)
    F = DataSubspace(data, H) if F is None else F
    out: dict[str, Callable[[np.ndarray], float]] = {}
    for n, Wn in refs.items():
        check_choice(n, "norm", NORMS)
        unit = Wn / np.linalg.norm(Wn)

        def margin(W, n=n):
            nw = matrix_norm(W, n)
            return ntp_margin_of(W, data, H) / nw if nw > 0 else float("nan")

        def cos(W, unit=unit):
            Wp = F.project_perp(W)
            nw = float(np.linalg.norm(Wp))
            return float(np.sum(Wp * unit)) / nw if nw > 0 else float("nan")

        def perp_margin(W, n=n):
            Wp = F.project_perp(W)
            nw = matrix_norm(Wp, n)
            return ntp_margin_of(Wp, data, H) / nw if nw > 0 else float("nan")

        out[f"margin_{n}"] = margin
        out[f"perp_margin_{n}"] = perp_margin
        out[f"cos_{n}"] = cos
    return out
