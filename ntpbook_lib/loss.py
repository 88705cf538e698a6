"""The NTP cross-entropy loss, regrouped over distinct contexts, and its entropy/KL decomposition."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .data import NTPData

__all__ = ["ce_loss", "ce_decomposition", "log_softmax", "CEDecomposition", "restricted_ce_loss"]


def log_softmax(L: np.ndarray) -> np.ndarray:
    """Column-wise ``log softmax`` of a V×m logit matrix, by log-sum-exp."""
    L = np.asarray(L, dtype=np.float64)
    shifted = L - L.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


def _check_logits(L, data: NTPData) -> None:
    if tuple(L.shape) != (data.V, data.m):
        raise ValueError(f"logits have shape {tuple(L.shape)}, expected V×m = ({data.V}, {data.m})")


def ce_loss(L: np.ndarray | torch.Tensor, data: NTPData) -> float | torch.Tensor:
    """NTP loss ``CE = −Σ_j π̂_j Σ_{z∈S_j} p̂_{j,z} log softmax_z(ℓ_j)`` of V×m logits (T24 eq. 2).

    Accepts a NumPy array (returns a float) or a torch tensor (returns a differentiable 0-d tensor).
    """
    _check_logits(L, data)
    if isinstance(L, torch.Tensor):
        P = torch.as_tensor(data.P, dtype=L.dtype, device=L.device)
        pi = torch.as_tensor(data.pi, dtype=L.dtype, device=L.device)
        logq = L - torch.logsumexp(L, dim=0, keepdim=True)
        return -(pi * (P * logq).sum(dim=0)).sum()
    Psp = data.P_sparse
    per_entry = Psp.data * _in_support_log_softmax(L, data)  # 0·log q is never formed
    return float(-(data.pi @ np.add.reduceat(per_entry, Psp.indptr[:-1])))


def _in_support_log_softmax(L: np.ndarray, data: NTPData) -> np.ndarray:
    """``log softmax_z(ℓ_j)`` at the stored (in-support) entries of ``P``, in CSC order."""
    cols = np.repeat(np.arange(data.m), data.support_sizes)
    return log_softmax(L)[data.P_sparse.indices, cols]


class CEDecomposition(NamedTuple):
    """``CE = H + Σ_j π̂_j KL(p̂_j ‖ softmax(ℓ_j))``."""

    ce: float
    entropy: float
    kl: np.ndarray  # (m,) per-context KL divergences

    @property
    def excess(self) -> float:
        """``CE − H = Σ_j π̂_j KL_j ≥ 0``."""
        return self.ce - self.entropy


def ce_decomposition(L: np.ndarray, data: NTPData) -> CEDecomposition:
    """Split the NTP loss into the entropy bound and the per-context KL terms (T24 eq. 3)."""
    _check_logits(L, data)
    Psp = data.P_sparse
    p, logq = Psp.data, _in_support_log_softmax(L, data)
    kl = np.add.reduceat(p * (np.log(p) - logq), Psp.indptr[:-1])
    ce = float(-(data.pi @ np.add.reduceat(p * logq, Psp.indptr[:-1])))
    return CEDecomposition(ce=ce, entropy=data.entropy, kl=kl)


def restricted_ce_loss(L: np.ndarray, data: NTPData) -> float:
    """Restricted loss ``CE_F = Σ_j π̂_j Σ_{z∈S_j} p̂_{j,z} log(1 + Σ_{z'∈S_j, z'≠z} e^{−(ℓ_{z,j} − ℓ_{z',j})})`` (T24 eq. 12).

    Only in-support logits enter: it is the NTP loss with each softmax restricted to ``S_j``, so
    ``CE_F ≥ H`` with equality iff the in-support log-odds are exact.  For a linear model pass ``L = W H``.
    """
    L = np.asarray(L, dtype=np.float64)
    _check_logits(L, data)
    Psp = data.P_sparse
    starts = Psp.indptr[:-1]
    cols = np.repeat(np.arange(data.m), data.support_sizes)
    vals = L[Psp.indices, cols]  # in-support logits, CSC order
    top = np.maximum.reduceat(vals, starts)
    lse = top + np.log(np.add.reduceat(np.exp(vals - top[cols]), starts))  # log Σ_{z'∈S_j} e^{ℓ_{z',j}}
    per_entry = Psp.data * (lse[cols] - vals)
    return float(data.pi @ np.add.reduceat(per_entry, starts))
