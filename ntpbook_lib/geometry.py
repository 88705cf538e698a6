"""The geometry of learned embeddings (Z24 §5.3): the metrics, and the references they compare with.

:func:`corr` and :func:`sim` are Z24's metrics of a geometry; :func:`ufm_reference` gathers what a trained pair
``(W, H)`` is compared with — the NTP-SVM⋆ solution ``L^mm`` and its factors (Z24 Cor. 1), the proxy ``S̃``
and ``L^in`` — and :func:`geometry_metrics` measures one pair against it.  :class:`GeometryHistory` holds those
metrics along a training run, of NTP-UFM (:func:`ntpbook_lib.ufm.train_ufm`) or of a network
(:func:`ntpbook_lib.models.train_model`).

Array arguments may come in any container :func:`~ntpbook_lib.validation.as_float64` accepts (NumPy of any
real dtype or layout, lists, pandas, torch tensors, SciPy sparse); each is read once, into a new float64
array, so arguments are never modified and results never share memory with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .data import NTPData
from .loss import kl_terms
from .nuclear_svm import centered_support, certificate, log_odds_in, mm_embeddings, ntp_svm_logits, support_of
from .numerics import center_columns, center_on_support, cosine, frobenius_norm
from .runtime import solver_threads
from .validation import check_array, check_data, check_real, check_support

__all__ = [
    "corr",
    "sim",
    "sim_corr",
    "CollapseCosines",
    "collapse_cosines",
    "GeometryReference",
    "ufm_reference",
    "check_reference",
    "ProxyQuality",
    "proxy_quality",
    "GeometryMetrics",
    "geometry_metrics",
    "geometry_record",
    "GeometryHistory",
]


def corr(X: np.ndarray) -> np.ndarray:
    """The cosine matrix of the columns of X (Z24 §5.3); a zero column has cosine 0 with everything.

    Scale-free: each column is divided by its largest entry before its norm is formed, so no product
    overflows or underflows for any finite X.

    Parameters
    ----------
    X : numpy.ndarray
        A matrix.

    Returns
    -------
    numpy.ndarray
        The cosines of its columns.
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

    Parameters
    ----------
    X, Y : numpy.ndarray
        Two matrices of one shape.
    eps : float, optional
        SSIM's ``ε``.
    ddof : int, optional
        0 (the definition) or 1 (Z24's code).

    Returns
    -------
    float
        The structure term.
    """
    X, Y = check_array(X, "X", nonempty=True), check_array(Y, "Y", nonempty=True)
    eps = check_real(eps, "eps", nonnegative=True)
    if X.shape != Y.shape:
        raise ValueError(f"sim compares matrices of one shape, got X of shape {X.shape} and Y of shape {Y.shape}")
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


@solver_threads
def collapse_cosines(H: np.ndarray, data: NTPData) -> CollapseCosines:
    """Subspace collapse (Z24 Prop. 1): how parallel are the embeddings of contexts that share a support?

    Parameters
    ----------
    H : numpy.ndarray
        Context embeddings, d×m.
    data : NTPData
        The data.

    Returns
    -------
    CollapseCosines
        Within- and between-group cosines.
    """
    data = check_data(data)
    H = check_array(H, "H", ndim=2, nonempty=True)
    if H.shape[1] != data.m:
        raise ValueError(f"H must be d×m with one column per context of data (m = {data.m}), got shape {H.shape}")
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

    Parameters
    ----------
    X, Y : numpy.ndarray
        a×m and b×m.
    eps : float, optional
        SSIM's ``ε``.

    Returns
    -------
    float
        ``sim(corr(X), corr(Y))``.
    """
    X, Y = check_array(X, "X", ndim=2, nonempty=True), check_array(Y, "Y", ndim=2, nonempty=True)
    eps = check_real(eps, "eps", nonnegative=True)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"sim_corr compares two matrices with m columns each, got X of shape {X.shape} and Y of "
                         f"shape {Y.shape}")
    return _sim_corr(X, Y, eps)


def _sim_corr(X: np.ndarray, Y: np.ndarray, eps: float) -> float:
    """:func:`sim_corr` for checked arguments."""
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


class GeometryReference(NamedTuple):
    """Theory (``L^mm`` and its factors, Z24 Cor. 1), proxy (``S̃``) and ``L^in`` for :func:`train_ufm`'s metrics."""

    L_in: np.ndarray
    L_mm: np.ndarray
    W_mm: np.ndarray
    H_mm: np.ndarray
    S_tilde: np.ndarray


@solver_threads
def ufm_reference(data: NTPData, L_mm: np.ndarray | None = None, **svm_options) -> GeometryReference:
    """``L^in`` (Lemma 3), ``L^mm`` (Def. 3) with ``W^mm, H^mm`` (Cor. 1), and the proxy ``S̃``.

    ``L_mm``, when given, is used as the NTP-SVM⋆ solution instead of solving it again.

    Parameters
    ----------
    data : NTPData
        The data.
    L_mm : numpy.ndarray, optional
        The NTP-SVM⋆ solution, when already solved.
    **svm_options
        Passed to :func:`~ntpbook_lib.nuclear_svm.ntp_svm_logits`.

    Returns
    -------
    GeometryReference
        ``L_in``, ``L_mm``, ``W_mm``, ``H_mm`` and ``S_tilde``.
    """
    S = support_of(check_data(data))
    if L_mm is None:
        L_mm = ntp_svm_logits(S, **svm_options)
    else:
        L_mm = check_array(L_mm, "L_mm", shape=(data.V, data.m), fits="V×m of data")
    W_mm, H_mm = mm_embeddings(L_mm)
    return GeometryReference(log_odds_in(data), L_mm, W_mm, H_mm, center_columns(S))


class ProxyQuality(NamedTuple):
    """How well the proxy ``S̃`` stands in for the NTP-SVM⋆ solution ``L^mm`` (Z24 §4.4, Prop. 3)."""

    nuclear_proxy: float  # ‖S̃‖_*
    nuclear_mm: float  # ‖L^mm‖_*
    relative_gap: float  # ‖S̃‖_*/‖L^mm‖_* − 1 ≥ 0 (S̃ is feasible)
    direction_distance: float  # ‖L^mm/‖L^mm‖_F − S̃/‖S̃‖_F‖_F
    cos: float  # cos(L^mm, S̃)
    sim_words: float  # sim(corr(W^mmᵀ), corr(W̃ᵀ)), factors by Cor. 1
    sim_contexts: float  # sim(corr(H^mm), corr(H̃))
    certificate: bool  # Z24 Prop. 3's sign test on S̃
    max_off_support: float  # its statistic, max over off-support (v, j) of (U Qᵀ)[v, j]
    effective_rank_mm: float  # exp(entropy of σ/Σσ) of L^mm (Roy & Vetterli)
    effective_rank_proxy: float
    rank_mm: int  # singular values of L^mm above rank_rtol · σ_1
    rank_proxy: int


@solver_threads
def proxy_quality(S: np.ndarray, L_mm: np.ndarray, rank_rtol: float = 1e-3) -> ProxyQuality:
    """Compare ``S̃`` with ``L^mm`` in norm, direction, geometry (Cor. 1 factors), rank, and Prop. 3's certificate.

    Parameters
    ----------
    S : numpy.ndarray
        A V×m 0/1 support matrix.
    L_mm : numpy.ndarray
        The NTP-SVM⋆ solution, V×m.
    rank_rtol : float, optional
        Relative threshold of the ranks.

    Returns
    -------
    ProxyQuality
        The comparison.
    """
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
        float(np.linalg.norm(L_mm / np.linalg.norm(L_mm) - S_t / np.linalg.norm(S_t))), cosine(L_mm, S_t),
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


def geometry_metrics(W: np.ndarray, H: np.ndarray, data: NTPData, ref: GeometryReference) -> GeometryMetrics:
    """Excess loss, norms, ``‖P_𝓕 L − L^in‖``, ``cos(L, L^mm)`` and ``sim`` to theory and proxy (Z24 §5.3).

    Parameters
    ----------
    W : numpy.ndarray
        A decoder, V×d.
    H : numpy.ndarray
        Context embeddings, d×m.
    data : NTPData
        The training data.
    ref : GeometryReference
        From :func:`ufm_reference` ``(data)``.

    Returns
    -------
    GeometryMetrics
        The nine metrics of Z24 Figs 4–7.
    """
    check_data(data)
    W = check_array(W, "W", ndim=2, finite=True)
    H = check_array(H, "H", ndim=2, finite=True)
    if W.shape[0] != data.V or H.shape[1] != data.m or W.shape[1] != H.shape[0]:
        raise ValueError(f"need W of shape (V={data.V}, d) and H of shape (d, m={data.m}), "
                         f"got {W.shape} and {H.shape}")
    check_reference(ref, data)
    return geometry_record(W, H, data, ref)


def check_reference(ref: object, data: NTPData, name: str = "ref") -> GeometryReference:
    """A :class:`GeometryReference` made for data of ``data``'s shape (``TypeError``/``ValueError`` otherwise).

    Parameters
    ----------
    ref : object
        The argument to check.
    data : NTPData
        The data it must have been made for.
    name : str, optional
        Its name in the error message.

    Returns
    -------
    GeometryReference
        ``ref``.
    """
    if not isinstance(ref, GeometryReference):
        raise TypeError(f"{name} must be a GeometryReference (from ufm_reference), got {type(ref).__name__}")
    if ref.L_mm.shape != (data.V, data.m):
        raise ValueError(f"{name} was made for data of shape {ref.L_mm.shape}, not V×m = ({data.V}, {data.m})")
    return ref


def geometry_record(W: np.ndarray, H: np.ndarray, data: NTPData, ref: GeometryReference) -> GeometryMetrics:
    """:func:`geometry_metrics` for checked arguments: the kernel the training loops call at each record.

    Parameters
    ----------
    W, H : numpy.ndarray
        Finite float64 factors, V×d and d×m.
    data : NTPData
        The training data.
    ref : GeometryReference
        A reference made for ``data``.

    Returns
    -------
    GeometryMetrics
        As :func:`geometry_metrics`.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        L = W @ H
    if not np.all(np.isfinite(L)):
        raise ValueError("the logits W H overflow float64: rescale W or H")
    return GeometryMetrics(
        float(data.pi @ kl_terms(L, data)), frobenius_norm(W), frobenius_norm(H),
        frobenius_norm(center_on_support(L, data.S > 0) - ref.L_in),
        cosine(L, ref.L_mm),
        _sim_corr(W.T, ref.W_mm.T, 1e-8), _sim_corr(H, ref.H_mm, 1e-8),
        _sim_corr(W.T, ref.S_tilde.T, 1e-8), _sim_corr(H, ref.S_tilde, 1e-8))


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
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # the trainer's extra functions at the steps

    @classmethod
    def from_records(cls, method: str, steps: np.ndarray, rows: Sequence[GeometryMetrics], W: np.ndarray,
                     H: np.ndarray, snapshots: dict[int, tuple[np.ndarray, np.ndarray]],
                     seconds: float = float("nan"), extra: dict[str, np.ndarray] | None = None
                     ) -> "GeometryHistory":
        """Stack the metrics recorded at ``steps`` into one history."""
        cols = {k: np.array([getattr(r, k) for r in rows]) for k in GeometryMetrics._fields}
        return cls(method, np.asarray(steps), **cols, W=W, H=H, snapshots=snapshots, seconds=seconds,
                   extra={} if extra is None else extra)

    def final(self) -> dict[str, float]:
        """The metrics at the last recorded step."""
        return {k: float(getattr(self, k)[-1]) for k in GeometryMetrics._fields}
