"""When can a linear model ``L = W H`` with fixed embeddings approach the entropy bound? (T24 §3)

The conditions live in decoder space ``R^{V×d}``.  The *data subspace* (T24 eq. 5)

    F = span{ (e_z − e_z') h_jᵀ : z ≠ z' ∈ S_j, j ∈ [m] }

collects the directions that change in-support log-odds.  NTP_H-compatibility (Def. 1) asks that some
``W^p`` fit every in-support log-odds exactly; NTP-separability (Def. 2) that some ``W^d ∈ F^⊥`` put every
in-support token at least 1 above every out-of-support token.  Everything is computed through the Gram
matrix of ``H``: the pairing ``⟨W, (e_z − e_a) h_jᵀ⟩ = (e_z − e_a)ᵀ W h_j`` is a logit difference.

Array arguments may come in any container :func:`~ntpbook_lib.validation.as_float64` accepts (NumPy of any
real dtype or layout, lists, pandas, torch tensors, SciPy sparse); each is read once, into a new float64
array, so arguments are never modified and results never share memory with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .data import NTPData
from .numerics import embedding_scale, ntp_margin_of_logits, rescale
from .runtime import solver_threads
from .validation import (
    check_array,
    check_bool,
    check_data,
    check_decoder,
    check_embeddings,
    check_int,
    check_memory,
    check_real,
    check_rng,
)

__all__ = [
    "DataSubspace",
    "data_subspace",
    "logodds_solution",
    "is_compatible",
    "is_separable",
    "ntp_margin",
    "lemma1_witnesses",
    "lifted_points",
    "CompatibilityResult",
    "SeparabilityResult",
    "separability_phase_transition",
    "PhaseTransition",
    "cover_probability",
    "in_support_pairs",
    "margin_pairs",
    "require_margin_constraints",
]


def in_support_pairs(data: NTPData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(j, z, a) for z ∈ S_j other than the anchor a = min S_j: the S_j − 1 independent equations of context j.

    Parameters
    ----------
    data : NTPData
        The data.

    Returns
    -------
    tuple of numpy.ndarray
        ``(j, z, a)``.
    """
    js, zs, anchors = [], [], []
    for j, s in enumerate(data.supports):
        js.append(np.full(s.size - 1, j))
        zs.append(s[1:])
        anchors.append(np.full(s.size - 1, s[0]))
    return tuple(np.concatenate(x).astype(np.int64) for x in (js, zs, anchors))  # type: ignore[return-value]


def margin_pairs(data: NTPData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(j, a, v) for every out-of-support v ∉ S_j, with the anchor a = min S_j (enough under (6a)).

    Parameters
    ----------
    data : NTPData
        The data.

    Returns
    -------
    tuple of numpy.ndarray
        ``(j, a, v)``.
    """
    S = data.S > 0
    j, v = np.nonzero(~S.T)
    anchors = np.array([s[0] for s in data.supports], dtype=np.int64)
    return j.astype(np.int64), anchors[j], v.astype(np.int64)


def require_margin_constraints(data: NTPData) -> None:
    """``ValueError`` unless some context of ``data`` leaves a token out (else there is no margin constraint).

    Parameters
    ----------
    data : NTPData
        The data.
    """
    check_data(data)
    if np.all(data.support_sizes == data.V):
        raise ValueError("every context is supported on the whole vocabulary: there are no out-of-support "
                         "tokens, so NTP-separability and the NTP margin are empty notions")


# Peak bytes, measured with tracemalloc (tests/test_containers.py holds them to a factor 2): the LP of
# is_separable takes about 100 bytes per non-zero of its constraint rows (2r per row: COO, CSR and HiGHS's copies),
# the Gram matrix of DataSubspace about 80 bytes per entry (its index comparisons and products).
_LP_BYTES_PER_NONZERO = 100.0
_GRAM_BYTES_PER_ENTRY = 80.0


def _separability_lp_bytes(n_rows: int, V: int, r: int) -> float:
    return _LP_BYTES_PER_NONZERO * 2.0 * r * n_rows + 8.0 * V * r


def _gram_bytes(n_eq: int) -> float:
    return _GRAM_BYTES_PER_ENTRY * float(n_eq) ** 2


class DataSubspace:
    """The data subspace ``F ⊂ R^{V×d}`` of T24 eq. (5), with projections ``P_F`` and ``P_⊥``.

    ``A(W)`` lists the anchored in-support logit differences ``(e_z − e_a)ᵀ W h_j``; ``F = range(A*)`` and
    ``P_F = A* (A A*)^+ A``, where ``A A*`` is the small Gram matrix of the generators.  F depends on H only up
    to scale, so everything is computed on ``H/‖H‖_max`` (the operator ``A`` for ``H`` is ``‖H‖_max`` times the
    one for the scaled H), and the rank is decided relative to the largest eigenvalue of the Gram matrix.
    """

    def __init__(self, data: NTPData, H: np.ndarray, rtol: float = 1e-10) -> None:
        self.H = check_embeddings(data, H)
        rtol = check_real(rtol, "rtol", positive=True, below=1.0)
        self.scale = embedding_scale(self.H)
        self._Hn = self.H / self.scale if self.scale > 0 else self.H
        self.V, self.d = data.V, self.H.shape[0]
        n_eq = int(np.sum(data.support_sizes - 1))
        check_memory(_gram_bytes(n_eq), f"the {n_eq}×{n_eq} Gram matrix of the data subspace")
        self.j, self.z, self.a = in_support_pairs(data)
        K = self._Hn.T @ self._Hn
        z, a = self.z, self.a
        # ⟨(e_z − e_a)h_jᵀ, (e_z' − e_a')h_kᵀ⟩ = ([z=z'] − [z=a'] − [a=z'] + [a=a']) · h_jᵀh_k
        E = ((z[:, None] == z) * 1.0 - (z[:, None] == a) - (a[:, None] == z) + (a[:, None] == a))
        G = E * K[np.ix_(self.j, self.j)]
        lam, Q = np.linalg.eigh(G) if G.size else (np.zeros(0), np.zeros((0, 0)))
        keep = lam > rtol * lam.max(initial=0.0)
        self._lam, self._Q = lam[keep], Q[:, keep]
        self._gram = G  # the Gram matrix of the scaled H

    @property
    def gram(self) -> np.ndarray:
        """``A A*``, the Gram matrix of the generators ``(e_z − e_a) h_jᵀ`` of F."""
        return rescale(self._gram, self.scale**2, "the Gram matrix A A*") if self.scale > 0 else self._gram

    @property
    def dim(self) -> int:
        """``dim F``."""
        return int(self._lam.size)

    @property
    def n_equations(self) -> int:
        """``Σ_j (S_j − 1)``, the number of anchored in-support equations."""
        return int(self.j.size)

    def _decoder(self, W: Any, name: str = "W") -> np.ndarray:
        return check_array(W, name, shape=(self.V, self.d), fits="V×d of the data and H of this subspace")

    def _coefficients(self, c: Any, name: str) -> np.ndarray:
        return check_array(c, name, shape=(self.n_equations,), fits="number of equations of this subspace")

    def apply(self, W: np.ndarray) -> np.ndarray:
        """``A(W)``: the anchored in-support logit differences ``(e_z − e_a)ᵀ W h_j`` (``W``: any container
        :func:`~ntpbook_lib.validation.as_float64` accepts, read as a new float64 array)."""
        L = self._decoder(W) @ self.H
        return L[self.z, self.j] - L[self.a, self.j]

    def _apply_n(self, W: np.ndarray) -> np.ndarray:
        L = W @ self._Hn
        return L[self.z, self.j] - L[self.a, self.j]

    def _adjoint_n(self, c: np.ndarray) -> np.ndarray:
        M = np.zeros((self.V, self.H.shape[1]))
        np.add.at(M, (self.z, self.j), c)
        np.add.at(M, (self.a, self.j), -c)
        return M @ self._Hn.T

    def _pinv_n(self, b: np.ndarray) -> np.ndarray:
        return self._Q @ ((self._Q.T @ b) / self._lam)

    def adjoint(self, c: np.ndarray) -> np.ndarray:
        """``A*(c) = Σ_i c_i (e_{z_i} − e_{a_i}) h_{j_i}ᵀ``."""
        c = self._coefficients(c, "c")
        M = np.zeros((self.V, self.H.shape[1]))
        np.add.at(M, (self.z, self.j), c)
        np.add.at(M, (self.a, self.j), -c)
        return M @ self.H.T

    def gram_pinv_apply(self, b: np.ndarray) -> np.ndarray:
        """``(A A*)^+ b``."""
        x = self._pinv_n(self._coefficients(b, "b"))
        return rescale(x, 1.0 / self.scale**2 if self.scale > 0 else 1.0, "(A A*)^+ b", "(which scales like 1/‖H‖²) ")

    def min_norm_solution(self, b: np.ndarray) -> np.ndarray:
        """``A^+ b = A*(A A*)^+ b``: the minimum-norm (least-squares) W with ``A(W) = b``; it lies in F and scales
        like ``1/‖H‖``."""
        Wn = self._adjoint_n(self._pinv_n(self._coefficients(b, "b")))
        return rescale(Wn, 1.0 / self.scale if self.scale > 0 else 1.0, "the minimum-norm solution",
                       "(which scales like 1/‖H‖) ")

    def project(self, W: np.ndarray) -> np.ndarray:
        """``P_F(W)``, the orthogonal projection onto F (a new array; ``W`` as in :meth:`apply`)."""
        return self._adjoint_n(self._pinv_n(self._apply_n(self._decoder(W))))

    def project_perp(self, W: np.ndarray) -> np.ndarray:
        """``P_⊥(W) = W − P_F(W)``, the orthogonal projection onto ``F^⊥``."""
        W = self._decoder(W)
        return W - self.project(W)

    @property
    def basis(self) -> np.ndarray:
        """An orthonormal basis of F, as a (dim F)×V×d array."""
        coeffs = self._Q / np.sqrt(self._lam)
        return np.stack([self._adjoint_n(c) for c in coeffs.T]) if self.dim else np.zeros((0, self.V, self.d))


@solver_threads
def data_subspace(data: NTPData, H: np.ndarray) -> DataSubspace:
    """The data subspace F of T24 eq. (5) with its projections ``P_F``, ``P_⊥`` and an orthonormal basis.

    Parameters
    ----------
    data : NTPData
        The data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.

    Returns
    -------
    DataSubspace
        F, with its projections.
    """
    return DataSubspace(data, H)


def _log_odds(data: NTPData, j: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    P = data.P_sparse
    return np.log(P[z, j]) - np.log(P[a, j]) if j.size else np.zeros(0)


@solver_threads
def logodds_solution(data: NTPData, H: np.ndarray, F: DataSubspace | None = None) -> np.ndarray:
    """``W^⋆``: the minimum-norm solution of the log-odds equations (4), the unique one inside F (T24 §3).

    When the equations are inconsistent (no NTP_H-compatibility) this is their least-squares solution in F.

    Parameters
    ----------
    data : NTPData
        The data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.
    F : DataSubspace, optional
        :func:`data_subspace` ``(data, H)`` when already built.

    Returns
    -------
    numpy.ndarray
        ``W^⋆``, V×d.
    """
    F = _subspace(data, H, F)
    return F.min_norm_solution(_log_odds(data, F.j, F.z, F.a))


def _subspace(data: NTPData, H: np.ndarray, F: DataSubspace | None) -> DataSubspace:
    """``F`` when given (checked against ``data``), else the data subspace of ``(data, H)``, built once."""
    if F is None:
        return DataSubspace(data, H)
    if not isinstance(F, DataSubspace):
        raise TypeError(f"F must be a DataSubspace (from data_subspace(data, H)), got {type(F).__name__}")
    check_data(data)
    if F.j.size != int(np.sum(data.support_sizes - 1)) or F.V != data.V or F.H.shape[1] != data.m:
        raise ValueError("F was built for other data (its equations do not match data's supports)")
    return F


@dataclass(frozen=True)
class CompatibilityResult:
    """Outcome of the NTP_H-compatibility check (T24 Def. 1); truthy iff the condition holds."""

    holds: bool
    W: np.ndarray  # W^p = W^⋆, exact when holds, least-squares otherwise
    residual: float  # ‖A(W^p) − log-odds‖₂
    message: str

    def __bool__(self) -> bool:
        return self.holds


@solver_threads
def is_compatible(data: NTPData, H: np.ndarray, tol: float = 1e-8, *, F: DataSubspace | None = None
                  ) -> CompatibilityResult:
    """NTP_H-compatibility (T24 Def. 1, eq. 4): do some logits ``W h_j`` match every in-support log-odds?

    Parameters
    ----------
    data : NTPData
        The training data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.
    tol : float, optional
        Relative tolerance on the least-squares residual.
    F : DataSubspace, optional
        :func:`data_subspace` ``(data, H)`` when already built.

    Returns
    -------
    CompatibilityResult
        Truthy iff compatible; with ``W^⋆``, the residual and a message.
    """
    tol = check_real(tol, "tol", positive=True)
    F = _subspace(data, H, F)
    b = _log_odds(data, F.j, F.z, F.a)
    r = F._apply_n(F._adjoint_n(F._pinv_n(b))) - b  # the residual is scale-free: computed on H/‖H‖_max
    W = F.min_norm_solution(b)
    residual = float(np.linalg.norm(r))
    holds = residual <= tol * (1.0 + float(np.linalg.norm(b)))
    if F.n_equations == 0:
        msg = "NTP_H-compatible: every context has a single next token, so there is no log-odds equation"
    elif holds:
        msg = (f"NTP_H-compatible: all {F.n_equations} log-odds equations hold (residual {residual:.1e}); "
               f"dim F = {F.dim}")
    else:
        per_ctx = np.bincount(F.j, weights=r**2, minlength=data.m)
        worst = np.argsort(per_ctx)[::-1][:5]
        msg = (f"not NTP_H-compatible: the {F.n_equations} log-odds equations have rank {F.dim} and cannot all "
               f"hold (least-squares residual {residual:.3g}); contexts with the largest misfit: "
               f"{worst.tolist()}")
    return CompatibilityResult(holds, W, residual, msg)


def ntp_margin(W: np.ndarray, data: NTPData, H: np.ndarray) -> float:
    """The NTP margin ``min_{j, z∈S_j, v∉S_j} (e_z − e_v)ᵀ W h_j`` (T24 §4; positive iff (6b) holds up to scale).

    Parameters
    ----------
    W : numpy.ndarray
        A decoder, V×d.
    data : NTPData
        The data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.

    Returns
    -------
    float
        The margin (positive iff W separates).
    """
    require_margin_constraints(data)
    H = check_embeddings(data, H)
    W = check_decoder(W, data, H)
    with np.errstate(over="ignore", invalid="ignore"):
        L = W @ H
    if not np.all(np.isfinite(L)):
        raise ValueError("the logits W H overflow float64: rescale W or H")
    margin = ntp_margin_of_logits(L, data.S > 0)
    if not np.isfinite(margin):
        raise ValueError("the NTP margin of W overflows float64: rescale W or H")
    return margin


@dataclass(frozen=True)
class SeparabilityResult:
    """Outcome of the NTP-separability check (T24 Def. 2); truthy iff the condition holds."""

    holds: bool
    W: np.ndarray | None  # W^d ∈ F^⊥ with NTP margin exactly 1, when it holds
    margin: float  # normalised margin ntp_margin(W^d)/‖W^d‖_F of the witness (≤ the max margin); 0 if not
    message: str
    certificate: list[tuple[int, int, int, float]]  # (j, z, v, λ): Σ λ (e_z − e_v) h_jᵀ ∈ F, when it fails

    def __bool__(self) -> bool:
        return self.holds


def _logit_constraint_rows(j: np.ndarray, z: np.ndarray, v: np.ndarray, B: np.ndarray, V: int) -> sp.csr_array:
    """Rows of ``L[z,j] − L[v,j]`` as linear maps of Y (V×r, row-major), where ``L = Y Bᵀ``."""
    r = B.shape[1]
    rows = np.repeat(np.arange(j.size), 2 * r)
    cols = np.concatenate([z[:, None] * r + np.arange(r), v[:, None] * r + np.arange(r)], axis=1).ravel()
    vals = np.concatenate([B[j], -B[j]], axis=1).ravel()
    return sp.csr_array((vals, (rows, cols)), shape=(j.size, V * r))


@solver_threads
def is_separable(data: NTPData, H: np.ndarray, explain: bool = True, *, F: DataSubspace | None = None
                 ) -> SeparabilityResult:
    """NTP-separability (T24 Def. 2, eqs. 6a–6b), decided by a linear program.

    Only ``L = W H`` matters, and ``L = Y V_rᵀ`` for the thin SVD ``H = U_r Σ_r V_rᵀ``; so the LP runs over
    ``Y ∈ R^{V×r}``: equal in-support logits (6a) and ``L[a,j] − L[v,j] ≥ 1`` for every out-of-support ``v``
    (6b, with the anchor ``a = min S_j``).  The witness is mapped back to the minimum-norm ``W``, projected
    onto ``F^⊥`` and rescaled to margin exactly 1.  When the LP is infeasible and ``explain`` is set, a second
    LP (maximise ``t`` with margins ``≥ t`` and ``|Y| ≤ 1``) yields a Farkas certificate: weights ``λ ≥ 0`` on
    the lifted points ``(e_a − e_v) h_jᵀ`` whose combination lies in F.

    Parameters
    ----------
    data : NTPData
        The training data (some context must leave a token out).
    H : numpy.ndarray
        Fixed context embeddings, d×m.
    explain : bool, optional
        When not separable, solve a second LP for a Farkas certificate.
    F : DataSubspace, optional
        :func:`data_subspace` ``(data, H)`` when already built (it projects the witness onto ``F^⊥``).

    Returns
    -------
    SeparabilityResult
        Truthy iff separable; with a witness ``W^d``, its margin, a message and, if not, the certificate.
    """
    require_margin_constraints(data)
    H_in = check_embeddings(data, H)
    explain = check_bool(explain, "explain")
    if F is not None:
        F = _subspace(data, H_in, F)
    scale = embedding_scale(H_in)
    if scale == 0:
        return SeparabilityResult(False, None, 0.0, "not NTP-separable: H = 0, all logits are equal", [])
    n_rows = int(np.sum(data.support_sizes - 1) + np.sum(data.V - data.support_sizes))
    check_memory(_separability_lp_bytes(n_rows, data.V, min(H_in.shape)),
                 f"the separability LP ({n_rows} constraints over up to V×m = {data.V}×{data.m} unknowns)")
    H = H_in / scale  # the answer is invariant to the scale of H (W^d scales like 1/‖H‖): solve at unit scale
    U, sig, Vt = np.linalg.svd(H, full_matrices=False)
    r = int(np.sum(sig > 1e-12 * sig.max(initial=0.0)))
    U, sig, B = U[:, :r], sig[:r], Vt[:r].T  # B = V_r (m×r)
    V = data.V
    je, ze, ae = in_support_pairs(data)
    jm, am, vm = margin_pairs(data)
    A_eq = _logit_constraint_rows(je, ze, ae, B, V)
    D = _logit_constraint_rows(jm, am, vm, B, V)
    n_y = V * r
    eq = dict(A_eq=A_eq, b_eq=np.zeros(A_eq.shape[0])) if A_eq.shape[0] else {}
    res = linprog(np.zeros(n_y), A_ub=-D, b_ub=-np.ones(D.shape[0]), bounds=(None, None), method="highs", **eq)
    box = None
    if res.status not in (0, 2):  # HiGHS could not decide: fall back on the always-feasible box LP
        box = _box_margin_lp(A_eq, D)
        if -box.fun > 1e-9:
            res = box
    if res.status == 0:
        Y = res.x[:n_y].reshape(V, r)
        W = Y @ np.diag(1.0 / sig) @ U.T  # the minimum-norm W with W H = Y V_rᵀ
        W = (DataSubspace(data, H) if F is None else F).project_perp(W)  # (6a) to machine precision
        W = W / ntp_margin(W, data, H)  # (6b) with margin exactly 1
        margin = scale / float(np.linalg.norm(W))
        W = rescale(W, 1.0 / scale, "the separating W^d", "(which scales like 1/‖H‖) ")
        msg = (f"NTP-separable: W^d ∈ F^⊥ puts every in-support token at least 1 above every out-of-support "
               f"token ({jm.size} constraints); normalised margin of this witness {margin:.4g}")
        return SeparabilityResult(True, W, margin, msg, [])
    msg = f"not NTP-separable (rank of H: {r}, d = {H.shape[0]}, m = {data.m})"
    if not explain:
        return SeparabilityResult(False, None, 0.0, msg, [])
    box = _box_margin_lp(A_eq, D) if box is None else box
    lam = -box.ineqlin.marginals
    active = np.flatnonzero(lam > 1e-9 * max(lam.max(initial=0.0), 1e-300))
    certificate = [(int(jm[i]), int(am[i]), int(vm[i]), float(lam[i])) for i in active]
    contexts = sorted({c[0] for c in certificate})
    msg += (f": a non-negative combination of {len(certificate)} lifted points (e_z − e_v) h_jᵀ from contexts "
            f"{contexts[:10]}{'…' if len(contexts) > 10 else ''} lies in the data subspace F, so no W^d ∈ F^⊥ "
            f"can be positive on all of them")
    return SeparabilityResult(False, None, 0.0, msg, certificate)


def _box_margin_lp(A_eq: sp.csr_array, D: sp.csr_array):
    """max t s.t. t ≤ D y, E y = 0, |y| ≤ 1, 0 ≤ t ≤ 1: always feasible; t* > 0 iff separable, and at t* = 0
    the duals of the margin rows are a Farkas certificate (Dᵀλ ∈ range Eᵀ, λ ≥ 0, Σλ = 1)."""
    n_y = D.shape[1]
    A_ub = sp.hstack([-D, sp.csr_array(np.ones((D.shape[0], 1)))], format="csr")
    eq = {}
    if A_eq.shape[0]:
        eq = dict(A_eq=sp.hstack([A_eq, sp.csr_array((A_eq.shape[0], 1))], format="csr"), b_eq=np.zeros(A_eq.shape[0]))
    res = linprog(np.r_[np.zeros(n_y), -1.0], A_ub=A_ub, b_ub=np.zeros(D.shape[0]),
                  bounds=[(-1.0, 1.0)] * n_y + [(0.0, 1.0)], method="highs", **eq)
    if res.status != 0:  # pragma: no cover - feasible (y = 0, t = 0) and bounded
        raise RuntimeError(f"the separability LP failed: {res.message}")
    return res


@solver_threads
def lemma1_witnesses(data: NTPData, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """T24 Lemma 1: with ``rank H = m`` (so ``d ≥ m``), ``W^p = L^p H^+`` and ``W^d = S H^+`` satisfy (4) and (6).

    ``L^p`` holds ``log p̂_{j,z}`` on the supports (0 elsewhere) and ``S`` is the support matrix: ``H^+ H = I``
    makes ``W^p H = L^p`` and ``W^d H = S``, whose in-support differences are the log-odds and 0, and whose
    in-minus-out differences are 1.

    Parameters
    ----------
    data : NTPData
        The data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.

    Returns
    -------
    tuple of numpy.ndarray
        The two witnesses ``(W^p, W^d)``.
    """
    H = check_embeddings(data, H)
    scale = embedding_scale(H)
    if scale == 0 or np.linalg.matrix_rank(H / scale) < data.m:
        raise ValueError(f"Lemma 1 needs H (d×m = {H.shape}) to have full column rank m = {data.m}")
    Hp = rescale(np.linalg.pinv(H / scale), 1.0 / scale, "H^+", "(which scales like 1/‖H‖) ")
    Lp = np.zeros((data.V, data.m))
    Lp[data.S > 0] = np.log(data.P[data.S > 0])
    with np.errstate(over="ignore", invalid="ignore"):
        Wp, Wd = Lp @ Hp, data.S @ Hp
    if not (np.all(np.isfinite(Wp)) and np.all(np.isfinite(Wd))):
        raise ValueError("the witnesses W^p = L^p H^+, W^d = S H^+ overflow float64 at this scale of H: rescale H")
    return Wp, Wd


@solver_threads
def lifted_points(data: NTPData, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kesler's construction: the in-minus-out points ``(e_z − e_v) h_jᵀ`` (N×V×d) and the in-support
    differences ``(e_z − e_a) h_jᵀ`` spanning F; NTP-separability asks for a ``W ∈ F^⊥`` with
    ``⟨W, point⟩ ≥ 1`` on every point of the first set.

    Parameters
    ----------
    data : NTPData
        The data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.

    Returns
    -------
    tuple of numpy.ndarray
        The lifted points and their labels.
    """
    H = check_embeddings(data, H)
    S = data.S > 0
    n_points = int(np.sum(data.support_sizes * (data.V - data.support_sizes)) + np.sum(data.support_sizes - 1))
    check_memory(8.0 * n_points * data.V * H.shape[0], f"{n_points} lifted points of size V×d = {data.V}×{H.shape[0]}")
    j, z, v = [], [], []
    for jj, s in enumerate(data.supports):
        out = np.flatnonzero(~S[:, jj])
        zz, vv = np.meshgrid(s, out, indexing="ij")
        j.append(np.full(zz.size, jj)), z.append(zz.ravel()), v.append(vv.ravel())
    j, z, v = (np.concatenate(x).astype(np.int64) for x in (j, z, v))
    eye = np.eye(data.V)
    points = (eye[z] - eye[v])[:, :, None] * H.T[j][:, None, :]
    je, ze, ae = in_support_pairs(data)
    spans = (eye[ze] - eye[ae])[:, :, None] * H.T[je][:, None, :]
    return points, spans


@dataclass(frozen=True)
class PhaseTransition:
    """Empirical probabilities that random data satisfy the two conditions, for each d/m."""

    ratios: np.ndarray  # d/m
    d: np.ndarray
    separable: np.ndarray  # fraction of trials that are NTP-separable
    compatible: np.ndarray  # fraction of trials that are NTP_H-compatible
    trials: int

    def stderr(self, p: np.ndarray) -> np.ndarray:
        """Binomial standard error of a measured fraction."""
        return np.sqrt(p * (1 - p) / self.trials)

    def threshold(self, p: np.ndarray) -> float:
        """The d/m at which the fraction crosses 1/2 (linear interpolation; nan if it never does)."""
        above = np.flatnonzero(p >= 0.5)
        if above.size == 0 or above[0] == 0:
            return float("nan") if above.size == 0 else float(self.ratios[0])
        k = above[0]
        x0, x1, y0, y1 = self.ratios[k - 1], self.ratios[k], p[k - 1], p[k]
        return float(x0 + (0.5 - y0) * (x1 - x0) / (y1 - y0))


@solver_threads
def separability_phase_transition(V: int, m: int, s: int, ratios: np.ndarray, trials: int,
                                  rng: np.random.Generator, max_count: int = 4) -> PhaseTransition:
    """Measure P(NTP-separable) and P(NTP_H-compatible) for Gaussian ``H`` (d×m) and random supports of size s.

    Not a theorem: T24 Remark 1 leaves exact thresholds open; this is a Monte-Carlo estimate.

    Parameters
    ----------
    V, m, s : int
        Vocabulary size, contexts and support size.
    ratios : numpy.ndarray
        Values of ``d/m``.
    trials : int
        Random draws per ratio.
    rng : numpy.random.Generator
        The source of randomness.
    max_count : int, optional
        Counts uniform on ``1..max_count``.

    Returns
    -------
    PhaseTransition
        The separable fraction at each ratio.
    """
    from .generators import gaussian_embeddings, random_ntp_data
    V, m = check_int(V, "V", minimum=2), check_int(m, "m", minimum=1)
    s = check_int(s, "s")
    if not 1 <= s < V:
        raise ValueError(f"support size s must lie in 1..V−1 = {V - 1} (s = V has no out-of-support tokens)")
    ratios = check_array(ratios, "ratios", ndim=1, nonempty=True)
    if np.any(ratios <= 0):
        raise ValueError(f"ratios d/m must be positive, found {ratios[ratios <= 0][0]}")
    trials = check_int(trials, "trials", minimum=1, maximum=10**6)  # each trial solves an LP
    rng = check_rng(rng)
    max_count = check_int(max_count, "max_count", minimum=1)
    d_max = float(ratios.max()) * m + 1
    check_memory(8.0 * d_max * m, f"H with d = {d_max - 1:.3g} rows")
    check_memory(8.0 * d_max * m + 8.0 * V * m + _separability_lp_bytes(m * (V - 1), V, min(int(d_max), m))
                 + _gram_bytes(m * (s - 1)), f"one trial at d = {d_max - 1:.3g} (H, the data and the LP)")
    d = np.maximum(1, np.round(ratios * m).astype(np.int64))
    sep = np.zeros(d.size)
    comp = np.zeros(d.size)
    for i, dd in enumerate(d):
        for _ in range(trials):
            data = random_ntp_data(V, m, s, rng, max_count=max_count)
            H = gaussian_embeddings(int(dd), m, rng)
            sep[i] += bool(is_separable(data, H, explain=False))
            comp[i] += bool(is_compatible(data, H))
    return PhaseTransition(ratios, d, sep / trials, comp / trials, trials)


def cover_probability(m: int, d: int) -> float:
    """Cover (1965): the probability that m points in general position in R^d, with random ±1 labels, are
    linearly separable through the origin, ``2^{1−m} Σ_{k<d} C(m−1, k)`` (= 1/2 at ``d = m/2``).

    Parameters
    ----------
    m : int
        Number of points.
    d : int
        Dimension.

    Returns
    -------
    float
        The probability.
    """
    from math import comb

    from scipy.special import betainc

    m, d = check_int(m, "m", minimum=1), check_int(d, "d", minimum=0)
    if d >= m:
        return 1.0
    if m > 10_000:  # the binomial CDF P(Bin(m − 1, 1/2) ≤ d − 1) = I_{1/2}(m − d, d), without 10^4-digit integers
        return float(betainc(float(m - d), float(d), 0.5)) if d > 0 else 0.0
    return float(sum(comb(m - 1, k) for k in range(d)) / 2 ** (m - 1))
