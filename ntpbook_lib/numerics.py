"""Numerical kernels shared by the solvers, the trainers and the metrics.

Each is a few lines that several modules need: scale-safe norms and cosines, ``softmax − P`` for the NTP
gradient, the projection onto the dual cone of the NTP-SVMs, the spread and margin of logits, singular-value
thresholding and polar factors, spectral and nuclear norms, and ``log p̂`` on the support.  They trust their
arguments (shapes, dtypes and finiteness are checked by the public functions that call them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .validation import as_float64

__all__ = [
    "TINY",
    "array_namespace",
    "frobenius_norm",
    "cosine",
    "embedding_scale",
    "rescale",
    "softmax_minus_P",
    "project_columns",
    "spread_and_margin",
    "ntp_margin_of_logits",
    "polar",
    "svt",
    "svt_gram",
    "spectral_norm",
    "nuclear_norm",
    "log_p_on_support",
    "center_on_support",
    "center_columns",
]

TINY = float(np.finfo(np.float64).tiny)


# ------------------------------------------------------------------------- NumPy or torch, one code
class _NumPyOps:
    """The few operations in which NumPy and torch spell the same step differently (NumPy side)."""

    inf = np.inf
    where = staticmethod(np.where)
    minimum = staticmethod(np.minimum)
    sqrt = staticmethod(np.sqrt)
    equal = staticmethod(np.array_equal)

    @staticmethod
    def min0(A):
        return A.min(axis=0)

    @staticmethod
    def clamp_max0(A):
        return np.minimum(A, 0.0)

    @staticmethod
    def clamp_min0(A):
        return np.maximum(A, 0.0)

    @staticmethod
    def count0(A):
        return np.count_nonzero(A, axis=0)

    @staticmethod
    def arange_like(n, X):
        return np.arange(n)

    @staticmethod
    def minus_ones_like(v):
        return np.full(v.shape[0], -1)

    @staticmethod
    def eigh(A):
        return np.linalg.eigh(A)

    @staticmethod
    def eigvalsh(A):
        return np.linalg.eigvalsh(A)

    @staticmethod
    def svd(M):
        return np.linalg.svd(M, full_matrices=False)

    @staticmethod
    def svdvals(M):
        return np.linalg.svd(M, compute_uv=False)

    @staticmethod
    def eps(M):
        return np.finfo(float).eps

    @staticmethod
    def norm(X):
        return float(np.linalg.norm(X))


class _TorchOps:
    """The same operations for torch tensors (any device, any real dtype)."""

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.inf = torch.inf

    def where(self, c, a, b):
        return self.torch.where(c, a, b)

    def minimum(self, a, b):
        return self.torch.minimum(a, b)

    def sqrt(self, A):
        return self.torch.sqrt(A)

    def equal(self, A, B):
        return self.torch.equal(A, B)

    def min0(self, A):
        return A.min(0).values

    def clamp_max0(self, A):
        return self.torch.clamp(A, max=0.0)

    def clamp_min0(self, A):
        return self.torch.clamp(A, min=0.0)

    def count0(self, A):
        return A.sum(0).to(self.torch.float64)

    def arange_like(self, n, X):
        return self.torch.arange(n, device=X.device)

    def minus_ones_like(self, v):
        return self.torch.full_like(v, -1.0)

    def eigh(self, A):
        return self.torch.linalg.eigh(A)

    def eigvalsh(self, A):
        return self.torch.linalg.eigvalsh(A)

    def svd(self, M):
        return self.torch.linalg.svd(M, full_matrices=False)

    def svdvals(self, M):
        return self.torch.linalg.svdvals(M)

    def eps(self, M):
        return self.torch.finfo(M.dtype).eps

    def norm(self, X):
        return float(self.torch.linalg.norm(X))


_NUMPY = _NumPyOps()
_TORCH: list[_TorchOps] = []


def array_namespace(X: Any):
    """The operations for X's array library: NumPy's for a NumPy array, torch's for a tensor.

    The NTP-SVM⋆ kernels below are written once over these operations, so the same lines run in NumPy on
    the CPU and in torch on any device (``ntp_svm_logits(..., device=...)``).

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor
        An array.

    Returns
    -------
    object
        An object with the operations (``where``, ``min0``, ``svd``, ...) for that library.
    """
    if type(X).__module__.startswith("torch"):
        if not _TORCH:
            _TORCH.append(_TorchOps())
        return _TORCH[0]
    return _NUMPY


# ------------------------------------------------------------------------------- norms and scaling
def frobenius_norm(X: Any) -> float:
    """``‖X‖_F`` without overflow or underflow: ``‖X‖_max · ‖X/‖X‖_max‖_F`` (finite whenever it is representable).

    Parameters
    ----------
    X : array_like
        Any real array, in any container :func:`~ntpbook_lib.validation.as_float64` accepts.

    Returns
    -------
    float
        The Frobenius norm (0 for a zero or empty array).
    """
    X = X if type(X) is np.ndarray and X.dtype == np.float64 else as_float64(X, "X")
    top = float(np.max(np.abs(X), initial=0.0))
    return top * float(np.linalg.norm(X / top)) if top > 0 else 0.0


def cosine(A: np.ndarray, B: np.ndarray) -> float:
    """``⟨A, B⟩ / (‖A‖_F ‖B‖_F)``, scale-safe; nan when either is zero.

    Parameters
    ----------
    A, B : numpy.ndarray
        Two real arrays of one shape.

    Returns
    -------
    float
        Their cosine in the Frobenius inner product.
    """
    na, nb = frobenius_norm(A), frobenius_norm(B)
    return float(np.sum((A / na) * (B / nb))) if na > 0 and nb > 0 else float("nan")


def embedding_scale(H: np.ndarray, name: str = "H") -> float:
    """``‖H‖_max``, the scale on which answers that are homogeneous in ``H`` are computed (``H/‖H‖_max``).

    A non-zero ``H`` whose largest entry is below float64's normal range (about 2.2e-308) is refused: its
    entries have already lost precision, so no answer computed from them could be trusted.

    Parameters
    ----------
    H : numpy.ndarray
        A finite real array.
    name : str, optional
        Its name in the error message.

    Returns
    -------
    float
        The largest absolute entry (0 for a zero array).
    """
    s = float(np.max(np.abs(H), initial=0.0))
    if 0 < s < TINY:
        raise ValueError(f"{name} has largest entry {s:.3g} in magnitude, below float64's normal range "
                         f"({TINY:.3g}): its entries are subnormal and have lost precision; rescale {name}")
    return s


def rescale(X: Any, factor: float, name: str, how: str = "") -> Any:
    """``X · factor`` for an answer computed at unit scale, refused when float64 cannot represent the result.

    Refused means a ``ValueError``: an entry overflows, or an entry that is significant at unit scale
    underflows to a subnormal or zero.

    Parameters
    ----------
    X : float or numpy.ndarray
        The answer at unit scale.
    factor : float
        The scale factor.
    name, how : str
        What ``X`` is and how it scales, for the error message.

    Returns
    -------
    float or numpy.ndarray
        ``X · factor`` (a float for a scalar ``X``).
    """
    if factor == 1.0:
        return X
    Xa = np.asarray(X, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        Y = Xa * factor
    top = float(np.max(np.abs(Xa), initial=0.0))
    significant = np.abs(Xa) > np.finfo(np.float64).eps * top
    if not np.all(np.isfinite(Y)) or np.any(np.abs(Y[significant]) < TINY):
        raise ValueError(f"{name} {how}is not representable in float64 at this scale (entries of size "
                         f"{top:.3g} × {factor:.3g}): rescale the input")
    return float(Y) if np.ndim(X) == 0 else Y


# ----------------------------------------------------------------------------------- the NTP gradient
def softmax_minus_P(L, P, insupp):
    """``softmax(L) − P`` column-wise in torch, exact even when the out-of-support mass ``ε_j`` is below rounding of 1.

    In-support ``q_z = r_z (1 − ε_j)`` with ``r`` the softmax restricted to ``S_j``, so
    ``q_z − p_z = (r_z − p_z) − r_z ε_j``; forming ``q_z − p_z`` directly would round ``q_z`` to ``p_z`` and
    lose the push on the in-support logits once ``ε_j < 10^{-16}`` (then ``1ᵀ(q_j − p_j) ≠ 0``).

    Parameters
    ----------
    L, P : torch.Tensor
        V×m logits and next-token distributions.
    insupp : torch.Tensor
        V×m boolean support mask.

    Returns
    -------
    torch.Tensor
        V×m, ``∂CE/∂L`` before the weights ``diag(π̂)``.
    """
    import torch

    lse = torch.logsumexp(L, dim=0)
    L_in = L.masked_fill(~insupp, -torch.inf)
    r = torch.exp(L_in - torch.logsumexp(L_in, dim=0))
    eps = torch.exp(torch.logsumexp(L.masked_fill(insupp, -torch.inf), dim=0) - lse)  # 0 if S_j = [V]
    return (r - P) - r * eps + torch.exp(L - lse).masked_fill(insupp, 0.0)


# ------------------------------------------------------------------------- the margin constraints
def project_columns(Y: np.ndarray, off: np.ndarray, n_in: np.ndarray) -> np.ndarray:
    """Project each column of Y onto the dual cone ``{c : 1ᵀc = 0, c[v] ≤ 0 for off-support v}``.

    The projection is ``c = y − ν`` on the support and ``min(y − ν, 0)`` off it; ``ν`` is the root of the
    concave, decreasing, piecewise-linear ``φ(ν) = Σ_S (y − ν) + Σ_off min(y − ν, 0)``.  Newton's method from
    ``ν₀ = min(mean_S y, min_off y)`` (where φ ≥ 0) solves φ = 0 on the current linear piece; after one
    overshoot it moves monotonically back through the breakpoints and stops when the piece no longer changes.

    Parameters
    ----------
    Y : numpy.ndarray
        V×m points.
    off : numpy.ndarray
        V×m boolean, True off the support.
    n_in : numpy.ndarray
        (m,) support sizes as floats.

    Returns
    -------
    numpy.ndarray
        The V×m projection.
    """
    xp = array_namespace(Y)
    insum = xp.where(off, 0.0, Y).sum(0)
    nu = xp.minimum(insum / n_in, xp.min0(xp.where(off, Y, xp.inf)))
    below = off & False
    for k in range(Y.shape[0] + 2):
        below_new = off & (Y < nu)
        if k and xp.equal(below_new, below):
            break
        below = below_new
        nu = (insum + xp.where(below, Y, 0.0).sum(0)) / (n_in + below.sum(0))  # Newton = exact on a piece
    return xp.where(off, xp.clamp_max0(Y - nu), Y - nu)


def spread_and_margin(L: np.ndarray, off: np.ndarray) -> tuple[float, float, np.ndarray]:
    """The in-support spread and the NTP margin of logits.

    Parameters
    ----------
    L : numpy.ndarray
        V×m logits.
    off : numpy.ndarray
        V×m boolean, True off the support.

    Returns
    -------
    spread : float
        The largest in-support spread ``max − min`` over the columns.
    margin : float
        The smallest in-minus-out margin ``min_j (min_{S_j} ℓ_j − max_{∉S_j} ℓ_j)``.
    low : numpy.ndarray
        (m,) per-column in-support minima.
    """
    inL = np.where(off, np.nan, L)
    top, low = np.nanmax(inL, axis=0), np.nanmin(inL, axis=0)
    out_max = np.where(off, L, -np.inf).max(axis=0)
    return float(np.max(top - low)), float(np.min(low - out_max)), low


def ntp_margin_of_logits(L: np.ndarray, insupp: np.ndarray) -> float:
    """``min_{j, z∈S_j, v∉S_j} (ℓ_{z,j} − ℓ_{v,j})`` (T24 §4), ``inf`` when no column leaves a token out.

    Parameters
    ----------
    L : numpy.ndarray
        V×m finite logits.
    insupp : numpy.ndarray
        V×m boolean support mask.

    Returns
    -------
    float
        The NTP margin (it may overflow to ``±inf`` for huge logits; callers check).
    """
    lowest_in = np.where(insupp, L, np.inf).min(axis=0)
    highest_out = np.where(insupp, -np.inf, L).max(axis=0)
    with np.errstate(over="ignore"):
        return float(np.min(lowest_in - highest_out))


# ------------------------------------------------------------------------------ spectral kernels
def polar(M: np.ndarray) -> tuple[np.ndarray, float]:
    """The polar factor and the nuclear norm of M from its compact SVD.

    Parameters
    ----------
    M : numpy.ndarray
        A finite matrix.

    Returns
    -------
    A : numpy.ndarray
        ``U Qᵀ`` over the singular values above rounding (``M = U Σ Qᵀ``).
    nuclear : float
        ``‖M‖_*``.
    """
    xp = array_namespace(M)
    U, s, Vt = xp.svd(M)
    r = int((s > s[0] * max(M.shape) * xp.eps(M)).sum()) if s.shape[0] and s[0] > 0 else 0
    return U[:, :r] @ Vt[:r], float(s.sum())


def svt(Y: np.ndarray, tau: float) -> tuple[np.ndarray, float]:
    """Singular-value thresholding ``prox_{τ‖·‖_*}(Y)`` and the nuclear norm of the result.

    Parameters
    ----------
    Y : numpy.ndarray
        A finite matrix.
    tau : float
        The threshold ``τ ≥ 0``.

    Returns
    -------
    X : numpy.ndarray
        ``U (Σ − τ)₊ Qᵀ``.
    nuclear : float
        ``‖X‖_*``.
    """
    U, s, Vt = np.linalg.svd(Y, full_matrices=False)
    s = np.maximum(s - tau, 0.0)
    r = int(np.count_nonzero(s))
    return (U[:, :r] * s[:r]) @ Vt[:r], float(s.sum())


def svt_gram(Y: np.ndarray, tau: float) -> np.ndarray:
    """``prox_{τ‖·‖_*}(Y)`` from the eigendecomposition of the smaller Gram matrix.

    With ``Y Yᵀ = U diag(σ²) Uᵀ`` (Y wide; else transpose), ``prox(Y) = U diag((1 − τ/σ)₊) Uᵀ Y``: one
    small eigendecomposition and two products instead of a full SVD of ``Y``.

    Parameters
    ----------
    Y : numpy.ndarray
        A finite matrix.
    tau : float
        The threshold ``τ > 0``.

    Returns
    -------
    numpy.ndarray
        The thresholded matrix, of Y's shape.
    """
    xp = array_namespace(Y)
    tall = Y.shape[0] > Y.shape[1]
    Z = Y.T if tall else Y
    w, U = xp.eigh(Z @ Z.T)
    s = xp.sqrt(xp.clamp_min0(w))
    keep = s > tau
    Uk = U[:, keep]
    X = ((Uk * (1.0 - tau / s[keep])) @ Uk.T) @ Z
    return X.T if tall else X


def spectral_norm(C: np.ndarray) -> float:
    """``‖C‖_op`` from the largest eigenvalue of the smaller Gram matrix (relative error of order eps).

    Parameters
    ----------
    C : numpy.ndarray
        A finite matrix.

    Returns
    -------
    float
        The largest singular value.
    """
    xp = array_namespace(C)
    Z = C if C.shape[0] <= C.shape[1] else C.T
    return float(xp.sqrt(xp.clamp_min0(xp.eigvalsh(Z @ Z.T)[-1])))


def nuclear_norm(M: np.ndarray) -> float:
    """``‖M‖_*``, the sum of the singular values.

    Parameters
    ----------
    M : numpy.ndarray
        A finite matrix.

    Returns
    -------
    float
        The nuclear norm.
    """
    return float(array_namespace(M).svdvals(M).sum())


# ------------------------------------------------------------------------------------- the data
def log_p_on_support(P: np.ndarray, insupp: np.ndarray) -> np.ndarray:
    """``log p̂_{j,z}`` on the support and 0 off it (no ``log 0`` is formed).

    Parameters
    ----------
    P : numpy.ndarray
        V×m next-token distributions.
    insupp : numpy.ndarray
        V×m boolean support mask (``P > 0``).

    Returns
    -------
    numpy.ndarray
        V×m.
    """
    return np.where(insupp, np.log(np.where(insupp, P, 1.0)), 0.0)


def center_on_support(L: np.ndarray, insupp: np.ndarray) -> np.ndarray:
    """``P_𝓕(L)`` (Z24 §4.4): per column, the in-support entries minus their mean; 0 off the support.

    Parameters
    ----------
    L : numpy.ndarray
        V×m logits.
    insupp : numpy.ndarray
        V×m boolean support mask, every column non-empty.

    Returns
    -------
    numpy.ndarray
        V×m.
    """
    mean = np.where(insupp, L, 0.0).sum(axis=0) / insupp.sum(axis=0)
    return np.where(insupp, L - mean, 0.0)


def center_columns(S: np.ndarray) -> np.ndarray:
    """``(I − 11ᵀ/V) S``: each column minus its mean (for a support matrix, Z24's proxy ``S̃``).

    Parameters
    ----------
    S : numpy.ndarray
        V×m.

    Returns
    -------
    numpy.ndarray
        V×m, columns summing to 0.
    """
    return S - S.mean(axis=0, keepdims=True)
