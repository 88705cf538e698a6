"""Logit-space geometry of NTP with learned embeddings: ``L^in``, the NTP-SVM⋆ ``L^mm`` and its closed forms (Z24).

With free context embeddings the logits ``L = W H`` (V×m) are the unknowns.  Z24 splits logit space into

    𝓕   = span{(e_z − e_z') e_jᵀ : z, z' ∈ S_j}        (in-support differences: the frequencies live here)
    𝓕^⊥ = {L : L[z, j] = L[z', j] for z, z' ∈ S_j}     (equal in-support logits: the support pattern lives here)

and shows that the regularised solutions grow as ``L_λ ≈ L^in + R(λ) L^mm``, with ``L^in ∈ 𝓕`` the log-odds
(Lemma 3) and ``L^mm`` the nuclear-norm max-margin logits (Def. 3, eqs. 9–10)

    L^mm ∈ argmin ‖L‖_*   s.t.   L[z, j] = L[z', j]  (z, z' ∈ S_j),    L[z, j] − L[v, j] ≥ 1  (z ∈ S_j, v ∉ S_j).

The NTP-SVM⋆ depends only on the support matrix ``S``.  Its dual is

    max ⟨S, C⟩   s.t.   ‖C‖_op ≤ 1,   1ᵀ c_j = 0,   C[v, j] ≤ 0  (v ∉ S_j),

and :func:`ntp_svm_logits` solves the pair by ADMM with singular-value thresholding, certifying every answer
by a feasible primal point and a feasible dual point whose objectives differ by the reported gap.

Array arguments may come in any container :func:`~ntpbook_lib.validation.as_float64` accepts (NumPy of any
real dtype or layout, lists, pandas, torch tensors, SciPy sparse); each is read once, into a new float64
array, so arguments are never modified and results never share memory with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb, sqrt

import numpy as np

from .acceleration import anderson_iterates
from .data import NTPData
from .numerics import (
    array_namespace,
    center_columns,
    center_on_support,
    log_p_on_support,
    embedding_scale,
    nuclear_norm,
    polar,
    project_columns,
    spectral_norm,
    spread_and_margin,
    svt_gram,
)
from .runtime import shared_core_threads, solver_threads
from .validation import (
    check_array,
    check_bool,
    check_data,
    check_device,
    check_int,
    check_memory,
    check_real,
    check_support,
)

__all__ = [
    "support_of",
    "project_feasible",
    "dual_point",
    "log_odds_in",
    "centered_support",
    "logits_in",
    "project_logits_F",
    "project_logits_F_perp",
    "ntp_svm_logits",
    "NTPSVMStarInfo",
    "Certificate",
    "certificate",
    "mm_embeddings",
    "SymmetricGeometry",
    "symmetric_geometry",
    "measure_symmetric_geometry",
]


def support_of(data_or_S: NTPData | np.ndarray, *, need_off_support: bool = True) -> np.ndarray:
    """The V×m 0/1 support matrix of an :class:`~ntpbook_lib.data.NTPData`, or a checked support matrix.

    An ``NTPData``'s ``S`` is binary with non-empty columns by construction, so only the margin constraints
    are checked (some context must leave a token out), from the support sizes: the dense ``S`` is neither
    copied nor scanned.

    Parameters
    ----------
    data_or_S : NTPData or numpy.ndarray
        The data, or a support matrix (checked by :func:`~ntpbook_lib.validation.check_support`).
    need_off_support : bool, optional
        Refuse data in which every context is supported on the whole vocabulary.

    Returns
    -------
    numpy.ndarray
        The support matrix (float64 0/1).
    """
    if isinstance(data_or_S, NTPData):
        if need_off_support and np.all(data_or_S.support_sizes == data_or_S.V):
            raise ValueError("every column of the support matrix of data is the whole vocabulary: there are no "
                             "out-of-support tokens, so the NTP-SVM⋆ has no margin constraints")
        return data_or_S.S
    return check_support(data_or_S, "data_or_S", need_off_support=need_off_support)


def centered_support(S: np.ndarray) -> np.ndarray:
    """The centred support matrix ``S̃ = (I − 11ᵀ/V) S`` (Z24 §4.3, the proxy of Prop. 3).

    Parameters
    ----------
    S : numpy.ndarray
        A V×m 0/1 support matrix.

    Returns
    -------
    numpy.ndarray
        ``S̃``, V×m, columns summing to 0.
    """
    return center_columns(check_support(S))


def logits_in(data: NTPData) -> np.ndarray:
    """``L^in`` (Z24 Lemma 3): the unique ``L ∈ 𝓕`` whose in-support differences are the log-odds.

    Column j is ``log p̂_{j,z} − (1/S_j) Σ_{z'∈S_j} log p̂_{j,z'}`` on the support and 0 off it.

    Parameters
    ----------
    data : NTPData
        The data.

    Returns
    -------
    numpy.ndarray
        ``L^in``, V×m.
    """
    return log_odds_in(check_data(data))


def log_odds_in(data: NTPData) -> np.ndarray:
    """:func:`logits_in` for checked data (the kernel the references call).

    Parameters
    ----------
    data : NTPData
        The data.

    Returns
    -------
    numpy.ndarray
        ``L^in``, V×m.
    """
    S = data.S > 0
    logP = log_p_on_support(data.P, S)
    return np.where(S, logP - logP.sum(axis=0) / data.support_sizes, 0.0)


def project_logits_F(L: np.ndarray, data_or_S: NTPData | np.ndarray) -> np.ndarray:
    """``P_𝓕(L)`` (Z24 §4.4): per column, the in-support entries minus their mean; 0 off the support.

    Parameters
    ----------
    L : numpy.ndarray
        V×m logits.
    data_or_S : NTPData or numpy.ndarray
        The data, or its support matrix.

    Returns
    -------
    numpy.ndarray
        ``P_𝓕(L)``, V×m.
    """
    S = support_of(data_or_S) > 0
    return center_on_support(check_array(L, "L", shape=S.shape, fits="V×m of data_or_S"), S)


def project_logits_F_perp(L: np.ndarray, data_or_S: NTPData | np.ndarray) -> np.ndarray:
    """``P_𝓕^⊥(L) = L − P_𝓕(L)``: in-support entries replaced by their mean, off-support entries kept.

    Parameters
    ----------
    L : numpy.ndarray
        V×m logits.
    data_or_S : NTPData or numpy.ndarray
        The data, or its support matrix.

    Returns
    -------
    numpy.ndarray
        ``P_𝓕^⊥(L)``, V×m.
    """
    L = check_array(L, "L", shape=support_of(data_or_S).shape, fits="V×m of data_or_S")
    return L - project_logits_F(L, data_or_S)


# --------------------------------------------------------------------------------------------- NTP-SVM⋆
@dataclass(frozen=True)
class NTPSVMStarInfo:
    """Certificate of an NTP-SVM⋆ solve: a feasible ``L`` and a dual-feasible ``C`` with their objectives."""

    C: np.ndarray  # dual, V×m: ‖C‖_op ≤ 1, columns sum to 0, ≤ 0 off the support
    objective: float  # ‖L‖_* of the returned (feasible) L
    dual_objective: float  # ⟨S, C⟩ ≤ optimum ≤ objective
    relative_gap: float  # (objective − dual_objective) / objective
    equality_violation: float  # max_j (max − min) of the in-support entries of L
    margin_violation: float  # max(0, 1 − min margin)
    iterations: int
    distinct_supports: int  # the problem is solved on the distinct columns of S
    certified_by_proxy: bool  # S̃ passed Z24 Prop. 3's test, so L = S̃ with no iterations
    converged: bool


def project_feasible(X, S, n_in, b):
    """Project each column onto ``{x : x_S = a·1, x_v ≤ a − b_j off S}`` (a free): an exact 1-D root find.

    With ``t_v = x_v + b_j`` off the support, the optimal ``a`` is the root of the increasing, concave,
    piecewise-linear ``φ(a) = S_j a − Σ_S x − Σ_v max(t_v − a, 0)``.  Newton's method from ``a₀ = mean_S x``
    (where φ ≤ 0) stays below the root and is exact on each linear piece: ``a ← (Σ_S x + Σ_{t_v > a} t_v) /
    (S_j + #{t_v > a})``, until the set ``{t_v > a}`` (which only shrinks) stops changing.  X, S (boolean), n_in
    and b are NumPy arrays or torch tensors alike (:func:`~ntpbook_lib.numerics.array_namespace`).

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor
        V×m points.
    S : numpy.ndarray or torch.Tensor
        V×m boolean support mask.
    n_in : numpy.ndarray or torch.Tensor
        (m,) support sizes.
    b : numpy.ndarray or torch.Tensor
        (m,) margins.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The projection, V×m.
    """
    xp = array_namespace(X)
    insum = xp.where(S, X, 0.0).sum(0)
    t = xp.where(S, -xp.inf, X + b)
    a = insum / n_in
    cols, tc, last = xp.arange_like(X.shape[1], X), t, xp.minus_ones_like(insum)
    for _ in range(X.shape[0] + 1):  # each pass only over the columns whose set still changed
        above = tc > a[cols]
        count = xp.count0(above)
        moved = count != last
        if not bool(moved.any()):
            break
        cols, tc, above, count = cols[moved], tc[:, moved], above[:, moved], count[moved]
        a[cols] = (insum[cols] + xp.where(above, tc, 0.0).sum(0)) / (n_in[cols] + count)
        last = count
    return xp.where(S, a, xp.minimum(X, a - b))


def dual_point(G, off, n_in):
    """A dual-feasible point from a candidate G: project onto the cone, then scale into the unit spectral ball.

    NumPy arrays or torch tensors alike (:func:`~ntpbook_lib.numerics.array_namespace`).

    Parameters
    ----------
    G : numpy.ndarray or torch.Tensor
        A V×m candidate.
    off : numpy.ndarray or torch.Tensor
        V×m boolean, True off the support.
    n_in : numpy.ndarray or torch.Tensor
        (m,) support sizes.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        A point of the NTP-SVM⋆ dual's feasible set.
    """
    C = project_columns(G, off, n_in)
    return C / max(1.0, spectral_norm(C) * (1.0 + 1e-12))  # the margin covers rounding in the eigenvalue


class _Ops:
    """The array operations of :func:`_admm_nuclear`: one implementation each, over NumPy or torch
    (:func:`~ntpbook_lib.numerics.array_namespace`); ``tensor`` moves the inputs to the device."""

    project_feasible = staticmethod(project_feasible)
    svt = staticmethod(svt_gram)
    polar = staticmethod(polar)
    dual_point = staticmethod(dual_point)
    nuclear_norm = staticmethod(nuclear_norm)

    def __init__(self, device: str | None = None) -> None:
        self.device = device

    @staticmethod
    def norm(X) -> float:
        return array_namespace(X).norm(X)

    def tensor(self, a: np.ndarray):
        """``a`` as a float64 tensor on the device (NumPy unchanged without one)."""
        if self.device is None:
            return a
        import torch

        return torch.as_tensor(a, dtype=torch.float64, device=self.device)


def _admm_nuclear(S, b, tol: float, max_iter: int, check_every: int, memory: int = 8, ops: _Ops = _Ops()):
    """ADMM on ``min ‖X‖_* + ι(L ∈ feasible)`` s.t. ``X = L``, margins ``b_j`` per column, with Anderson acceleration.

    ADMM is the Douglas–Rachford fixed-point iteration ``z ↦ T(z) = z + prox(2Π(z) − z) − Π(z)`` (Π the
    projection onto the feasible set, prox the singular-value thresholding at ``1/ρ``); each step is
    extrapolated from the last ``memory`` steps and kept only when it lowers the fixed-point residual
    ``‖T(z) − z‖``, which plain steps never raise.  Every iterate ``L = Π(z)`` is feasible and every
    ``G = ρ(Y − prox Y)`` is a subgradient of ‖·‖_*, whose projection onto the dual cone scaled into the unit
    spectral ball is dual feasible; the smallest ``‖L‖_*`` and the largest dual objective seen bound the
    optimum from both sides.  Returns ``(L, C, primal, dual, iterations, certified_by_proxy)``.  The start is
    ``S̃ diag(b)`` (feasible with equality) and its polar ``U Qᵀ`` as dual guess.  ``ops`` holds the array
    operations (:class:`_Ops`, the same for NumPy and for torch); S and b are NumPy arrays or tensors.
    """
    Sb = S > 0
    off, n_in = ~Sb, S.sum(0)  # S is 0/1: its column sums are the support sizes
    B = S * b
    L = (S - S.mean(0)) * b
    A, primal = ops.polar(L)
    C = ops.dual_point(A, off, n_in)
    dual = float((B * C).sum())
    if primal - dual <= tol * primal:
        return L, C, primal, dual, 0, True
    rho = 0.3 * sqrt(A.shape[0] * A.shape[1]) / primal  # chosen on Z24's sizes and on language supports alike

    def step(z):
        """``(T(z), Π(z), G)`` for the current ρ."""
        Lz = ops.project_feasible(z, Sb, n_in, b)
        Y = 2.0 * Lz - z
        X = ops.svt(Y, 1.0 / rho)
        return z + X - Lz, Lz, rho * (Y - X)

    best_L, best_C = L, C
    z = L - C / rho  # Π(z) = L and scaled multiplier −C/ρ when C is in the normal cone at L
    it = 0
    for it, (L, G) in zip(range(1, max_iter + 1), anderson_iterates(step, z, memory, ops.norm)):
        if it % check_every == 0 or it == max_iter:
            C = ops.dual_point(G, off, n_in)
            d = float((B * C).sum())
            if d > dual:
                dual, best_C = d, C
            if primal - dual <= 1e3 * tol * primal or it % (4 * check_every) == 0 or it == max_iter:  # ‖L‖_* by SVD
                p = ops.nuclear_norm(L)
                if p < primal:
                    primal, best_L = p, L
                if primal - dual <= tol * primal:
                    break
    return best_L, best_C, primal, dual, it, False


def _merge_equal_columns(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(distinct columns, index of each column among them, multiplicities)`` of a 0/1 matrix.

    Each column is packed into bits and compared as one byte string, so the sort is over m short keys.
    """
    bits = np.packbits(S.T > 0, axis=1)
    keys = np.ascontiguousarray(bits).view(np.dtype((np.void, bits.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return S[:, first], inverse.ravel(), counts


@solver_threads
def ntp_svm_logits(S: np.ndarray, *, tol: float = 1e-6, max_iter: int = 20_000, check_every: int = 5,
                   device: str | None = None,
                   return_info: bool = False) -> np.ndarray | tuple[np.ndarray, NTPSVMStarInfo]:
    """``L^mm``, the NTP-SVM⋆ of Z24 Def. 3 (eqs. 9–10), by ADMM with singular-value thresholding.

    Columns with equal supports are merged first: an optimum exists with equal columns there (the problem is
    convex and symmetric in them), and ``c`` equal columns ``ℓ`` have the nuclear norm of one column ``√c ℓ``.
    Stops when the relative duality gap is at most ``tol``; ``return_info`` adds the certificate.  With
    ``device`` (a torch device such as ``"cuda"``) the iterations run in torch in float64 there; the
    default runs them in NumPy, which is faster on a CPU.

    Parameters
    ----------
    S : numpy.ndarray
        A V×m 0/1 support matrix.
    tol : float, optional
        Relative duality gap at which to stop.
    max_iter : int, optional
        Iteration limit.
    check_every : int, optional
        Iterations between duality-gap checks.
    device : str, optional
        A torch device to iterate on (NumPy without).
    return_info : bool, optional
        Also return the certificate.

    Returns
    -------
    numpy.ndarray or tuple
        ``L^mm`` (V×m), with an :class:`NTPSVMStarInfo` on request.
    """
    S = check_support(S)
    tol = check_real(tol, "tol", positive=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    check_every = check_int(check_every, "check_every", minimum=1, maximum=max_iter)
    return_info = check_bool(return_info, "return_info")
    device = None if device is None else check_device(device)
    uniq, inverse, counts = _merge_equal_columns(S)
    b = np.sqrt(counts.astype(np.float64))
    if device is None:
        with shared_core_threads():  # on shared cores only the idle ones: large problems keep the default threads
            M, Cu, primal, dual, iters, proxy = _admm_nuclear(uniq, b, tol, max_iter, check_every)
    else:  # the same iteration in torch on the device; the certificate's numbers come back as floats
        ops = _Ops(device)
        M, Cu, primal, dual, iters, proxy = _admm_nuclear(ops.tensor(uniq), ops.tensor(b), tol, max_iter,
                                                          check_every, ops=ops)
        M, Cu = M.cpu().numpy(), Cu.cpu().numpy()
    L = np.take(M / b, inverse, axis=1)  # a C-ordered V×m copy (twice as fast as gathering rows of the transpose)
    if not return_info:
        return L
    C = np.take(Cu / b, inverse, axis=1)
    eq, margin, _ = spread_and_margin(M / b, uniq == 0)  # equal columns: the same spread and margin
    gap = (primal - dual) / primal
    info = NTPSVMStarInfo(C, primal, dual, gap, eq, max(0.0, 1.0 - margin), iters, int(uniq.shape[1]), proxy,
                          gap <= tol)
    return L, info


# ----------------------------------------------------------------------------------- closed forms
@dataclass(frozen=True)
class Certificate:
    """Z24 Prop. 3: ``S̃`` solves the NTP-SVM⋆ if ``A = U Qᵀ`` (polar of ``S̃``) is negative off the support."""

    holds: bool
    A: np.ndarray  # U Qᵀ from the compact SVD S̃ = U Σ Qᵀ
    max_off_support: float  # max_{v ∉ S_j} A[v, j]; the test is that this is < 0

    def __bool__(self) -> bool:
        return self.holds


@solver_threads
def certificate(S: np.ndarray) -> Certificate:
    """The sign test of Z24 Prop. 3 (sufficient for ``L^mm = S̃``).

    Parameters
    ----------
    S : numpy.ndarray
        A V×m 0/1 support matrix.

    Returns
    -------
    Certificate
        Truthy iff the test holds, with ``A`` and its statistic.
    """
    S = check_support(S)
    A, _ = polar(centered_support(S))
    worst = float(np.max(A[S == 0]))
    return Certificate(worst < 0, A, worst)


@solver_threads
def mm_embeddings(L: np.ndarray, rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Balanced factors ``W = U Σ^{1/2}`` (V×r), ``H = Σ^{1/2} Qᵀ`` (r×m) of ``L = U Σ Qᵀ`` (Z24 Cor. 1, Lemma 1).

    They attain ``(‖W‖² + ‖H‖²)/2 = ‖L‖_*``; applied to ``L^mm`` they are ``W^mm``, ``H^mm`` up to a rotation.

    Parameters
    ----------
    L : numpy.ndarray
        A finite matrix.
    rtol : float, optional
        Singular values below ``rtol · σ_1`` are dropped.

    Returns
    -------
    tuple of numpy.ndarray
        ``W`` (V×r) and ``H`` (r×m).
    """
    L = check_array(L, "L", ndim=2)  # finite: a non-finite entry would stall LAPACK's SVD
    rtol = check_real(rtol, "rtol", nonnegative=True, below=1.0)
    scale = embedding_scale(L, "L")
    U, s, Vt = np.linalg.svd(L / scale if scale > 0 else L, full_matrices=False)  # L/‖L‖_max: no overflow
    r = int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0
    root = np.sqrt(s[:r]) * np.sqrt(scale)
    return U[:, :r] * root, root[:, None] * Vt[:r]


def _n_subsets(V: int, k: int) -> int:
    """``C(V, k)``, after checking that a V×C(V,k) design could be stored at all (``C(V, k) ≥ V`` for 1 ≤ k < V)."""
    check_memory(8.0 * V * V, f"a design with V = {V} tokens (at least V×V = {V}×{V} entries)")
    return comb(V, k)


@dataclass(frozen=True)
class SymmetricGeometry:
    """Z24 Prop. 5: the geometry of ``L^mm = S̃`` when S holds all k-subsets of [V]."""

    cos_words: float  # cos(w_v, w_v'), v ≠ v': −1/(V−1), a simplex ETF
    cos_contexts: np.ndarray  # cos(h_j, h_j') for overlaps |S_j ∩ S_j'| = 0..k
    cos_in: float  # cos(w_v, h_j), v ∈ S_j
    cos_out: float  # cos(w_v, h_j), v ∉ S_j
    norm_ratio: float  # ‖w_v‖² / ‖h_j‖²


def symmetric_geometry(V: int, k: int) -> SymmetricGeometry:
    """The closed forms of Z24 Prop. 5 for the symmetric design with ``C(V, k)`` contexts, ``1 ≤ k < V``.

    By symmetry ``S̃ S̃ᵀ = σ² (I − 11ᵀ/V)`` with ``σ² = C(V,k) k(V−k) / (V(V−1))``, so ``W = √σ U`` and
    ``H = √σ Qᵀ`` give ``‖w_v‖² = σ(V−1)/V``, ``‖h_j‖² = k(V−k)/(Vσ)`` and ``w_vᵀh_j = S̃[v, j]``, whence
    ``cos(w_v, h_j) = √((V−k)/(k(V−1)))`` on the support and ``−√(k/((V−k)(V−1)))`` off it.

    Parameters
    ----------
    V : int
        Vocabulary size.
    k : int
        Support size, ``1 ≤ k < V``.

    Returns
    -------
    SymmetricGeometry
        The closed forms.
    """
    V, k = check_int(V, "V", minimum=2, maximum=2**62), check_int(k, "k")
    if not 1 <= k < V:
        raise ValueError(f"need 1 ≤ k < V (k = V leaves no out-of-support token), got V={V}, k={k}")
    check_memory(8.0 * (k + 1), f"cos_contexts for k = {k}")
    overlap = np.arange(k + 1)
    return SymmetricGeometry(
        cos_words=-1.0 / (V - 1),
        cos_contexts=(overlap - k * k / V) / (k - k * k / V),
        cos_in=sqrt((V - k) / (k * (V - 1))),
        cos_out=-sqrt(k / ((V - k) * (V - 1))),
        norm_ratio=_norm_ratio(V, k),
    )


def _norm_ratio(V: int, k: int) -> float:
    """``(V−1) C(V−2, k−1) / (k(V−k))``, exactly for moderate V and through ``log B`` beyond; refused past float64."""
    from math import exp, log

    from scipy.special import betaln

    if V <= 100_000:
        try:
            return (V - 1) * comb(V - 2, k - 1) / (k * (V - k))
        except OverflowError:
            pass
    # C(V−2, k−1) = 1 / ((V−1) B(V−k, k)), so the ratio is 1 / (k (V−k) B(V−k, k))
    log_ratio = -float(betaln(V - k, k)) - log(k) - log(V - k)
    if log_ratio > 709.0:
        raise ValueError(f"the norm ratio of Prop. 5 for V={V}, k={k} is about e^{log_ratio:.0f}, beyond float64")
    return exp(log_ratio)


@solver_threads
def measure_symmetric_geometry(V: int, k: int) -> tuple[SymmetricGeometry, np.ndarray]:
    """Prop. 5's quantities measured on the solver's ``L^mm`` for all k-subsets of [V], factored by Cor. 1.

    Each field is the mean over the pairs it describes (``cos_contexts[o]`` over context pairs with overlap
    ``o``; nan where no pair has it); returns the geometry and ``L^mm``.

    Parameters
    ----------
    V : int
        Vocabulary size.
    k : int
        Support size, ``1 ≤ k < V``.

    Returns
    -------
    tuple
        The measured :class:`SymmetricGeometry` and ``L^mm``.
    """
    from .generators import symmetric_supports

    V, k = check_int(V, "V", minimum=2, maximum=2**62), check_int(k, "k")
    if not 1 <= k < V:
        raise ValueError(f"need 1 ≤ k < V (k = V leaves no out-of-support token), got V={V}, k={k}")
    m = _n_subsets(V, k)
    # dense objects: S, L, the ADMM iterates and SVD factors (about 12 V×m arrays), and the m×m context
    # cosines, overlaps and their masks (about 4 m×m arrays of 8 bytes)
    need = 8.0 * (12 * V * m + 4 * float(m) ** 2)
    check_memory(need, f"measuring the symmetric design V={V}, k={k} (m = C(V,k) = {m} contexts)")
    S = symmetric_supports(V, k)
    L = ntp_svm_logits(S)
    W, H = mm_embeddings(L)
    w, h = np.linalg.norm(W, axis=1), np.linalg.norm(H, axis=0)
    cw, ch, cwh = (W / w[:, None]) @ (W / w[:, None]).T, (H / h).T @ (H / h), (W / w[:, None]) @ (H / h)
    overlap = S.T @ S
    offdiag = ~np.eye(S.shape[1], dtype=bool)
    ctx = [ch[(overlap == o) & offdiag].mean() if np.any((overlap == o) & offdiag) else np.nan for o in range(k + 1)]
    geometry = SymmetricGeometry(
        cos_words=float(cw[~np.eye(V, dtype=bool)].mean()),
        cos_contexts=np.array(ctx),
        cos_in=float(cwh[S > 0].mean()),
        cos_out=float(cwh[S == 0].mean()),
        norm_ratio=float(np.mean(w**2) / np.mean(h**2)),
    )
    return geometry, L
