"""The NTP cross-entropy loss, regrouped over distinct contexts, and its entropy/KL decomposition.

Array arguments may come in any container :func:`~ntpbook_lib.validation.as_float64` accepts (NumPy of any
real dtype or layout, lists, pandas, torch tensors, SciPy sparse); each is read once, into a new float64
array, so arguments are never modified and results never share memory with them (``ce_loss`` and
``ce_decomposition`` keep a float32 or float64 torch tensor as it is, so that gradients flow).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .data import NTPData
from .validation import check_array, check_logits

__all__ = ["ce_loss", "ce_decomposition", "log_softmax", "CEDecomposition", "restricted_ce_loss", "kl_terms"]


def log_softmax(L: np.ndarray) -> np.ndarray:
    """Column-wise ``log softmax`` of a V×m logit matrix, by log-sum-exp.

    Parameters
    ----------
    L : numpy.ndarray
        Logits, one column per context.

    Returns
    -------
    numpy.ndarray
        ``log softmax`` of each column.
    """
    L = check_array(L, "L", nonempty=True)
    if L.ndim not in (1, 2):
        raise ValueError(f"L must be a vector or a V×m matrix of logits, got shape {L.shape}")
    shifted = L - L.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


def ce_loss(L: np.ndarray | torch.Tensor, data: NTPData) -> float | torch.Tensor:
    """NTP loss ``CE = −Σ_j π̂_j Σ_{z∈S_j} p̂_{j,z} log softmax_z(ℓ_j)`` of V×m logits (T24 eq. 2).

    Accepts a NumPy array (returns a float) or a torch tensor (returns a differentiable 0-d tensor; integer
    tensors are computed in float64).  The NumPy value is ``H + Σ_j π̂_j KL_j`` with every KL term a sum of
    non-negative quantities (:func:`ce_decomposition`), so it never falls below the entropy by rounding.

    Parameters
    ----------
    L : numpy.ndarray or torch.Tensor
        V×m logits.
    data : NTPData
        The data.

    Returns
    -------
    float or torch.Tensor
        The loss (a differentiable 0-d tensor for a tensor ``L``).
    """
    L = check_logits(L, data)
    if isinstance(L, torch.Tensor):
        P = torch.as_tensor(data.P, dtype=L.dtype, device=L.device)
        pi = torch.as_tensor(data.pi, dtype=L.dtype, device=L.device)
        logq = L - torch.logsumexp(L, dim=0, keepdim=True)
        return -(pi * (P * logq).sum(dim=0)).sum()
    return data.entropy + float(data.pi @ kl_terms(L, data))


def _in_support_log_softmax(logq: np.ndarray, data: NTPData) -> np.ndarray:
    """``log softmax_z(ℓ_j)`` at the stored (in-support) entries of ``P``, in CSC order."""
    cols = np.repeat(np.arange(data.m), data.support_sizes)
    return logq[data.P_sparse.indices, cols]


def _bregman(r: np.ndarray) -> np.ndarray:
    """``g(r) = r − 1 + e^{−r} ≥ 0``, formed without cancellation: ``r² Σ_k (−r)^k/(k+2)!`` for ``|r| < 1/2``
    (every partial sum is at least ``r²(1/2 − |r|/6) > 0``), the direct formula elsewhere (no cancellation)."""
    small = np.abs(r) < 0.5
    rs = np.where(small, r, 0.0)
    series = np.zeros_like(r)
    for k in range(17, -1, -1):  # Horner on Σ_{k=0}^{17} (−r)^k/(k+2)!; the tail is below 2^-53 of the sum
        series = series * (-rs) + 1.0 / _FACTORIALS[k + 2]
    with np.errstate(over="ignore"):
        direct = r + np.expm1(-np.where(small, 1.0, r))
    return np.where(small, rs * rs * series, direct)


_FACTORIALS = np.cumprod(np.r_[1.0, np.arange(1.0, 21.0)])  # k! for k = 0..20


def kl_terms(L: np.ndarray, data: NTPData) -> np.ndarray:
    """``KL(p̂_j ‖ softmax(ℓ_j))`` per context, each a sum of non-negative terms (so never below 0 by rounding).

    With ``Σ_z p̂_z = Σ_z q_z = 1``, ``KL = Σ_{z∈S_j} p̂_z g(r_z) + Σ_{v∉S_j} q_v`` where ``r_z = log p̂_z − log q_z``
    and ``g(r) = r − 1 + e^{−r} ≥ 0`` (expand ``p̂ g(r) = p̂ log(p̂/q) − p̂ + q``); the off-support mass is one
    log-sum-exp, ``exp(LSE_{v∉S_j} ℓ_v − LSE_z ℓ_z)``.  (Where a column of P sums to 1 only within ``atol``, this is
    the generalised KL ``Σ p̂ log(p̂/q) − Σ p̂ + Σ q``, still ≥ 0.)

    Parameters
    ----------
    L : numpy.ndarray
        Finite float64 V×m logits (not checked).
    data : NTPData
        The data.

    Returns
    -------
    numpy.ndarray
        (m,) the KL divergences, each ≥ 0.
    """
    Psp = data.P_sparse
    logq = log_softmax(L)
    p = Psp.data
    logq_in = _in_support_log_softmax(logq, data)
    r = np.log(p) - logq_in
    # for r < −1 (q > e·p), p·g(r) = p(r − 1) + q with q > 1.36·p|r − 1|: no cancellation, and no e^{−r} overflow
    per_entry = np.where(r < -1.0, p * (r - 1.0) + np.exp(logq_in), p * _bregman(np.maximum(r, -1.0)))
    in_terms = np.add.reduceat(per_entry, Psp.indptr[:-1])
    off = np.where(data.S > 0, -np.inf, logq)
    top = off.max(axis=0)
    finite = np.isfinite(top)  # −inf when S_j = [V]: no off-support mass
    safe_top = np.where(finite, top, 0.0)
    with np.errstate(divide="ignore"):
        out_mass = np.where(finite, np.exp(safe_top) * np.exp(off - safe_top).sum(axis=0), 0.0)
    return in_terms + out_mass


class CEDecomposition(NamedTuple):
    """``CE = H + Σ_j π̂_j KL(p̂_j ‖ softmax(ℓ_j))``."""

    ce: float
    entropy: float
    kl: np.ndarray  # (m,) per-context KL divergences, each ≥ 0
    pi: np.ndarray  # (m,) the context frequencies π̂

    @property
    def excess(self) -> float:
        """``CE − H = Σ_j π̂_j KL_j ≥ 0``, the π̂-weighted sum of non-negative terms (never a difference)."""
        return float(self.pi @ self.kl)


def ce_decomposition(L: np.ndarray, data: NTPData) -> CEDecomposition:
    """Split the NTP loss into the entropy bound and the per-context KL terms (T24 eq. 3).

    The KL terms are sums of non-negative quantities (see :func:`ce_loss`), so ``CE − H ≥ 0`` holds exactly in
    floating point, also where softmax matches ``p̂`` to rounding.

    Parameters
    ----------
    L : numpy.ndarray
        V×m logits.
    data : NTPData
        The data.

    Returns
    -------
    CEDecomposition
        ``ce``, ``entropy``, the per-context ``kl`` and ``pi``; ``.excess`` is ``CE − H``.
    """
    L = check_logits(L, data)
    kl = kl_terms(L, data)
    return CEDecomposition(ce=data.entropy + float(data.pi @ kl), entropy=data.entropy, kl=kl, pi=data.pi)


def restricted_ce_loss(L: np.ndarray, data: NTPData) -> float:
    """Restricted loss ``CE_F = Σ_j π̂_j Σ_{z∈S_j} p̂_{j,z} log(1 + Σ_{z'∈S_j, z'≠z} e^{−(ℓ_{z,j} − ℓ_{z',j})})`` (T24 eq. 12).

    Only in-support logits enter: it is the NTP loss with each softmax restricted to ``S_j``, so
    ``CE_F ≥ H`` with equality iff the in-support log-odds are exact.  For a linear model pass ``L = W H``.

    Parameters
    ----------
    L : numpy.ndarray
        V×m logits.
    data : NTPData
        The data.

    Returns
    -------
    float
        ``CE_F ≥ H``.
    """
    L = check_logits(check_array(L, "L", finite=False), data, "L")  # a torch tensor is read as float64 NumPy
    Psp = data.P_sparse
    starts = Psp.indptr[:-1]
    cols = np.repeat(np.arange(data.m), data.support_sizes)
    vals = L[Psp.indices, cols]  # in-support logits, CSC order
    top = np.maximum.reduceat(vals, starts)
    lse = top + np.log(np.add.reduceat(np.exp(vals - top[cols]), starts))  # log Σ_{z'∈S_j} e^{ℓ_{z',j}}
    per_entry = Psp.data * (lse[cols] - vals)
    return float(data.pi @ np.add.reduceat(per_entry, starts))
