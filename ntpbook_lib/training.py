"""Gradient descent on unconstrained logits: the loss approaches H only as the logits diverge (T24 §2)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .data import NTPData
from .loss import ce_loss, log_softmax

__all__ = ["gd_linear", "LinearHistory", "train_logits", "LogitHistory", "log_schedule"]


def log_schedule(steps: int, n_records: int = 60) -> np.ndarray:
    """About ``n_records`` distinct step indices in 0..steps, spaced evenly on a log scale."""
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    return np.unique(np.r_[0, np.geomspace(1, steps, n_records).round().astype(np.int64)])


class LinearHistory(NamedTuple):
    steps: np.ndarray
    excess: np.ndarray  # CE(W_k H) − H
    norm: np.ndarray  # ‖W_k‖_F
    W: np.ndarray  # final decoder


def gd_linear(data: NTPData, H: np.ndarray, steps: int, lr: float = 1.0, n_records: int = 60,
              W0: np.ndarray | None = None) -> LinearHistory:
    """Plain GD on ``CE(W H)`` over the decoder W (V×d), fixed embeddings H (T24 §5, eq. 2).

    ``∇_W CE = (softmax(W H) − P) diag(π̂) Hᵀ``.  Starts from zero unless ``W0`` is given.
    """
    H = np.asarray(H, dtype=np.float64)
    if H.ndim != 2 or H.shape[1] != data.m:
        raise ValueError(f"H must be d×m with m = {data.m}, got shape {H.shape}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    W = np.zeros((data.V, H.shape[0])) if W0 is None else np.array(W0, dtype=np.float64)
    if W.shape != (data.V, H.shape[0]):
        raise ValueError(f"W0 must be V×d = ({data.V}, {H.shape[0]}), got {W.shape}")
    record = set(log_schedule(steps, n_records).tolist())
    rows = []
    for k in range(steps + 1):
        L = W @ H
        if k in record:
            rows.append((k, ce_loss(L, data) - data.entropy, np.linalg.norm(W)))
        if k < steps:
            W -= lr * ((np.exp(log_softmax(L)) - data.P) * data.pi) @ H.T
    s, e, nrm = map(np.array, zip(*rows))
    return LinearHistory(s, e, nrm, W)


class LogitHistory(NamedTuple):
    steps: np.ndarray
    excess: np.ndarray  # CE(L_k) − H
    norm: np.ndarray  # ‖L_k‖_F
    L: np.ndarray  # final logits


def train_logits(data: NTPData, steps: int, lr: float = 1.0, n_records: int = 60) -> LogitHistory:
    """GD on the NTP loss over free V×m logits from zero: ``gd_linear`` with ``H = I_m`` (so ``W = L``)."""
    h = gd_linear(data, np.eye(data.m), steps, lr, n_records)
    return LogitHistory(h.steps, h.excess, h.norm, h.W)
