"""Anderson acceleration of fixed-point iterations, shared by the NTP-SVM and NTP-SVM⋆ solvers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import sys

import numpy as np

__all__ = ["anderson_step", "anderson_iterates"]


def _inner(a: Any, b: Any) -> float:
    """``⟨a, b⟩`` of two arrays of one shape, NumPy (a BLAS dot, no temporary) or torch."""
    if isinstance(a, np.ndarray):
        return float(np.dot(a.ravel(), b.ravel()))
    return float((a * b).sum())


def _check_anderson(Tz: Any, g: Any, dT: Any, dG: Any) -> tuple:
    """The arguments of :func:`anderson_step`, all NumPy float64 arrays or all real floating torch tensors of
    one shape (``TypeError``/``ValueError`` naming the argument otherwise); tensors detached, never modified."""
    from .validation import check_array, check_tensor

    for label, seq in (("dT", dT), ("dG", dG)):
        if not isinstance(seq, (list, tuple)):
            raise TypeError(f"{label} must be a list of arrays (differences of successive steps), got "
                            f"{type(seq).__name__}")
    if len(dG) == 0 or len(dT) != len(dG):
        raise ValueError(f"need equally many (≥ 1) differences of T and of the residual, got {len(dT)} and "
                         f"{len(dG)}")
    torch = sys.modules.get("torch")
    tensor = torch is not None and isinstance(Tz, torch.Tensor)
    named = [("Tz", Tz), ("g", g), *((f"dT[{i}]", a) for i, a in enumerate(dT)),
             *((f"dG[{i}]", a) for i, a in enumerate(dG))]
    out = []
    for label, a in named:
        if tensor and not isinstance(a, torch.Tensor):
            raise TypeError(f"{label} must be a torch tensor like Tz, got {type(a).__name__}")
        if not tensor and torch is not None and isinstance(a, torch.Tensor):
            raise TypeError(f"{label} is a torch tensor but Tz is not: give all NumPy arrays or all tensors")
        a = check_tensor(a, label) if tensor else check_array(a, label, finite=False)
        if tuple(a.shape) != tuple(Tz.shape if tensor else out[0].shape if out else a.shape):
            raise ValueError(f"{label} has shape {tuple(a.shape)}, not the shape {tuple(out[0].shape)} of Tz")
        out.append(a)
    if tensor and len({(a.dtype, a.device) for a in out}) > 1:
        raise ValueError("Tz, g, dT and dG must share one dtype and one device")
    k = len(dG)
    return out[0], out[1], out[2:2 + k], out[2 + k:]


def anderson_step(Tz: np.ndarray, g: np.ndarray, dT: list[np.ndarray], dG: list[np.ndarray]) -> np.ndarray:
    """Type-II Anderson extrapolation (Walker & Ni 2011) of a fixed-point map T from its last steps.

    Returns ``T(z) − Σ γ_i ΔT_i`` with ``γ = argmin ‖g − Σ γ_i Δg_i‖`` (lightly regularised), where
    ``g = T(z) − z`` is the current residual and ``ΔT_i``, ``Δg_i`` are differences of successive values of
    T and of the residual.  The callers keep a step only when it lowers the residual.

    Parameters
    ----------
    Tz, g : numpy.ndarray
        ``T(z)`` and the residual ``T(z) − z``.
    dT, dG : list of numpy.ndarray
        Differences of successive values of T and of the residual.

    Returns
    -------
    numpy.ndarray
        The extrapolated point.
    """
    return _anderson_step(*_check_anderson(Tz, g, dT, dG))


def _anderson_step(Tz: Any, g: Any, dT: list, dG: list) -> Any:
    """:func:`anderson_step` for checked arguments (the solvers' kernel)."""
    k = len(dG)
    M = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            M[i, j] = M[j, i] = _inner(dG[i], dG[j])
    rhs = np.array([_inner(dG[i], g) for i in range(k)])
    gamma = np.linalg.lstsq(M + 1e-10 * np.trace(M) / k * np.eye(k), rhs, rcond=None)[0]
    out = Tz - float(gamma[0]) * dT[0]
    for gi, d in zip(gamma[1:], dT[1:]):
        out -= float(gi) * d
    return out


def anderson_iterates(step: Callable[[Any], tuple], z: Any, memory: int = 8,
                      norm: Callable[[Any], float] = np.linalg.norm) -> Iterator[tuple]:
    """The iterates of a fixed-point map with safeguarded Anderson acceleration, without end.

    ``step(z)`` returns ``(T(z), *extra)``.  Each iteration extrapolates from the last ``memory`` steps
    (:func:`anderson_step`) and keeps the extrapolated point only when it lowers the residual ``‖T(z) − z‖``,
    which a plain step ``z ← T(z)`` never raises; otherwise it takes the plain step and forgets the history.
    Yields the ``extra`` values of each accepted point; works on NumPy arrays and torch tensors alike.

    Parameters
    ----------
    step : callable
        ``step(z) -> (T(z), *extra)``.
    z : numpy.ndarray or torch.Tensor
        The start.
    memory : int, optional
        How many steps to extrapolate from.
    norm : callable, optional
        The norm of residuals.

    Returns
    -------
    iterator of tuple
        The ``extra`` values of each accepted point.
    """
    Tz, *_ = step(z)
    g = Tz - z
    dT: list = []
    dG: list = []
    while True:
        z_new = _anderson_step(Tz, g, dT, dG) if dG else Tz
        T_new, *extra = step(z_new)
        g_new = T_new - z_new
        if dG and norm(g_new) > norm(g):  # the extrapolation did not help: plain step
            z_new, dT, dG = Tz, [], []
            T_new, *extra = step(z_new)
            g_new = T_new - z_new
        dT.append(T_new - Tz)
        dG.append(g_new - g)
        if len(dG) > memory:
            dT.pop(0)
            dG.pop(0)
        z, Tz, g = z_new, T_new, g_new
        yield tuple(extra)
