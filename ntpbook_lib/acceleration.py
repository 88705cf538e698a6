"""Anderson acceleration of fixed-point iterations, shared by the NTP-SVM and NTP-SVM★ solvers."""

from __future__ import annotations

import numpy as np

__all__ = ["anderson_step"]


def anderson_step(Tz: np.ndarray, g: np.ndarray, dT: list[np.ndarray], dG: list[np.ndarray]) -> np.ndarray:
    """Type-II Anderson extrapolation (Walker & Ni 2011) of a fixed-point map T from its last steps.

    Returns ``T(z) − Σ γ_i ΔT_i`` with ``γ = argmin ‖g − Σ γ_i Δg_i‖`` (lightly regularised), where
    ``g = T(z) − z`` is the current residual and ``ΔT_i``, ``Δg_i`` are differences of successive values of
    T and of the residual.  The callers keep a step only when it lowers the residual.
    """
    k = len(dG)
    if k == 0 or len(dT) != k:
        raise ValueError(f"need equally many (≥ 1) differences of T and of the residual, got {len(dT)} and {k}")
    M = np.array([[float((dG[i] * dG[j]).sum()) for j in range(k)] for i in range(k)])  # NumPy or torch
    rhs = np.array([float((dG[i] * g).sum()) for i in range(k)])
    gamma = np.linalg.lstsq(M + 1e-10 * np.trace(M) / k * np.eye(k), rhs, rcond=None)[0]
    out = Tz - float(gamma[0]) * dT[0]
    for gi, d in zip(gamma[1:], dT[1:]):
        out -= float(gi) * d
    return out
