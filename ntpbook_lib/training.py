"""Gradient descent on unconstrained logits: the loss approaches H only as the logits diverge (T24 §2)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .data import NTPData
from .loss import ce_loss, log_softmax

__all__ = ["train_logits", "LogitHistory", "log_schedule"]


def log_schedule(steps: int, n_records: int = 60) -> np.ndarray:
    """About ``n_records`` distinct step indices in 0..steps, spaced evenly on a log scale."""
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    return np.unique(np.r_[0, np.geomspace(1, steps, n_records).round().astype(np.int64)])


class LogitHistory(NamedTuple):
    steps: np.ndarray
    excess: np.ndarray  # CE(L_k) − H
    norm: np.ndarray  # ‖L_k‖_F
    L: np.ndarray  # final logits


def train_logits(data: NTPData, steps: int, lr: float = 1.0, n_records: int = 60) -> LogitHistory:
    """GD on the NTP loss over free V×m logits from zero; ``∇_L CE = (softmax(L) − P) diag(π̂)``."""
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    L = np.zeros((data.V, data.m))
    record = set(log_schedule(steps, n_records).tolist())
    rows = []
    for k in range(steps + 1):
        if k in record:
            rows.append((k, ce_loss(L, data) - data.entropy, np.linalg.norm(L)))
        if k < steps:
            L -= lr * (np.exp(log_softmax(L)) - data.P) * data.pi
    s, e, nrm = map(np.array, zip(*rows))
    return LogitHistory(s, e, nrm, L)
