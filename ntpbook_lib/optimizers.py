"""Optimizers whose geometry picks the margin (Fan, Schmidt & Thrampoulidis 2025; Zhang, Zou & Cao 2024).

Normalised steepest descent (NSD) in a norm ``‖·‖`` steps along the unit-norm direction of steepest descent,

    W_{k+1} = W_k − η_k Δ_k,     Δ_k = argmax_{‖Δ‖ ≤ 1} ⟨∇_k, Δ⟩,

which is ``∇/‖∇‖_F`` for the Frobenius norm (NGD), ``sign(∇)`` for the entrywise max-norm (sign descent) and the
polar factor ``U Qᵀ`` of ``∇ = U Σ Qᵀ`` for the spectral norm (spectral descent).  Scaling ``Δ_k`` by the dual
norm ``‖∇_k‖_*`` (``normalized=False``) gives unnormalised steepest descent (GD for the Frobenius norm).
Muon replaces the polar factor of the gradient by a quintic Newton–Schulz approximation of that of a momentum
buffer.  Every class here is a ``torch.optim.Optimizer``, so ``functools.partial(Class, ...)`` is an optimizer
factory ``f(params, lr)`` for :func:`ntpbook_lib.training.train_linear` and :func:`ntpbook_lib.ufm.train_ufm`.

Step sizes: ``η_k = lr · (k + 1)^{−decay}``.  Fan et al. prove their margin results for decaying steps
``η_k ∝ k^{−a}``, ``a ∈ (0, 1]``; Zhang et al. for Adam with ``η_k = (k + 2)^{−a}``, ``a ∈ (0, 1]``.  With
``decay = 0`` (a constant step) the iterates still diverge in norm, but the theory says nothing about them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from .data import NTPData
from .loop import check_params, check_schedule
from .runtime import MAX_STEPS
from .validation import check_choice, check_embeddings, check_int, check_real, check_rng, check_tensor

__all__ = ["polar_factor", "newton_schulz", "MUON_COEFFICIENTS", "SteepestDescent", "SignDescent", "Muon",
           "ScheduledAdam", "optimizer", "MinibatchHistory", "train_minibatch"]

MUON_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # the quintic of Jordan et al.'s Muon (2024), 5 iterations
CONVERGENT_COEFFICIENTS = (15 / 8, -10 / 8, 3 / 8)  # the classical quintic: σ → 1 for every σ ∈ (0, 1]


def polar_factor(G: torch.Tensor) -> torch.Tensor:
    """The polar factor ``U Qᵀ`` of ``G = U Σ Qᵀ`` (thin SVD; zero singular values contribute nothing).

    ``G``: a float32/float64 matrix (tensor, array or list; see :func:`~ntpbook_lib.validation.check_tensor`),
    never modified; the result is a new tensor outside the caller's autograd graph."""
    G = check_tensor(G, "G", ndim=2)
    U, s, Qh = torch.linalg.svd(G, full_matrices=False)
    keep = s > s.max() * max(G.shape) * torch.finfo(G.dtype).eps if s.numel() else s > 0
    return (U[:, keep]) @ Qh[keep]


def newton_schulz(G: torch.Tensor, steps: int = 5, coefficients: tuple[float, float, float] = MUON_COEFFICIENTS,
                  eps: float = 1e-7) -> torch.Tensor:
    """Quintic Newton–Schulz iteration ``X ← aX + (b A + c A²) X``, ``A = X Xᵀ``, from ``X₀ = G/(‖G‖_F + ε)``.

    With Muon's coefficients (the default) five steps map every singular value of ``X₀`` to about 0.7–1.2
    (not to 1: a fast, rough orthogonalisation); with ``CONVERGENT_COEFFICIENTS`` it converges to ``U Qᵀ``.
    """
    G = check_tensor(G, "G", ndim=2)
    steps = check_int(steps, "steps", minimum=0, maximum=MAX_STEPS)
    if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 3:
        raise TypeError(f"coefficients must be three numbers (a, b, c), got {coefficients!r}")
    a, b, c = (check_real(v, f"coefficients[{i}]") for i, v in enumerate(coefficients))
    eps = check_real(eps, "eps", nonnegative=True)
    X = G / (torch.linalg.norm(G) + eps)
    wide = X.shape[0] <= X.shape[1]
    if not wide:
        X = X.T
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X if wide else X.T


def _direction(G: torch.Tensor, norm: str, normalized: bool) -> torch.Tensor:
    """``argmax_{‖Δ‖≤1} ⟨G, Δ⟩`` for ``norm``, times ``‖G‖_*`` unless ``normalized``."""
    if norm == "fro":
        n = torch.linalg.norm(G)
        return G / n.clamp_min(torch.finfo(G.dtype).tiny) if normalized else G
    if norm == "max":
        D = torch.sign(G)
        return D if normalized else D * G.abs().sum()
    D = polar_factor(G)
    return D if normalized else D * torch.linalg.svdvals(G).sum()


class _Scheduled(torch.optim.Optimizer):
    """Common step-size schedule ``η_k = lr (k + 1)^{−decay}`` (k counts the steps taken)."""

    def _eta(self, group: dict) -> float:
        k = group.setdefault("k", 0)
        group["k"] = k + 1
        return group["lr"] * (k + 1) ** (-group["decay"])


class SteepestDescent(_Scheduled):
    """Normalised steepest descent in the ``"fro"``, ``"max"`` or ``"spectral"`` norm (Fan et al. 2025, NSD),
    with optional momentum ``M ← β M + (1 − β) ∇`` taken before the steepest direction (their NMD)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, norm: str = "max", *, normalized: bool = True,
                 momentum: float = 0.0, decay: float = 0.0) -> None:
        norm = check_choice(norm, "norm", ("fro", "max", "spectral"))
        lr = check_real(lr, "lr", positive=True)
        momentum = check_real(momentum, "momentum", nonnegative=True)
        if momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        decay = check_real(decay, "decay", nonnegative=True)
        super().__init__(check_params(params), dict(lr=lr, norm=norm, normalized=bool(normalized), momentum=momentum,
                                      decay=decay))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None):
        for group in self.param_groups:
            eta = self._eta(group)
            for p in group["params"]:
                if p.grad is None:
                    continue
                G = p.grad
                if group["momentum"] > 0:
                    buf = self.state[p].setdefault("momentum", torch.zeros_like(p))
                    buf.mul_(group["momentum"]).add_(G, alpha=1 - group["momentum"])
                    G = buf
                if p.ndim != 2 and group["norm"] == "spectral":
                    raise ValueError("the spectral norm needs matrix parameters")
                p.sub_(eta * _direction(G, group["norm"], group["normalized"]))
        return None


class SignDescent(SteepestDescent):
    """Sign descent ``W ← W − η sign(∇)`` (NSD in the max-norm); with ``momentum`` it is Signum (Bernstein et al.)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, *, momentum: float = 0.0,
                 decay: float = 0.0) -> None:
        super().__init__(params, lr, "max", normalized=True, momentum=momentum, decay=decay)


class Muon(_Scheduled):
    """Muon (Jordan et al. 2024): ``M ← μM + ∇``, ``W ← W − η NS₅(∇ + μM)`` (Nesterov) or ``NS₅(M)``.

    ``NS₅`` is :func:`newton_schulz` with Muon's coefficients; ``exact=True`` uses the polar factor instead
    (momentum spectral descent, Fan et al.'s NMD in the spectral norm).
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, *, momentum: float = 0.95, nesterov: bool = True,
                 ns_steps: int = 5, exact: bool = False, decay: float = 0.0) -> None:
        lr = check_real(lr, "lr", positive=True)
        momentum = check_real(momentum, "momentum", nonnegative=True)
        if momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        ns_steps = check_int(ns_steps, "ns_steps", minimum=1, maximum=1000)
        decay = check_real(decay, "decay", nonnegative=True)
        super().__init__(check_params(params), dict(lr=lr, momentum=momentum, nesterov=bool(nesterov), ns_steps=ns_steps,
                                      exact=bool(exact), decay=decay))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None):
        for group in self.param_groups:
            eta = self._eta(group)
            mu = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.ndim != 2:
                    raise ValueError("Muon orthogonalises matrix parameters only")
                buf = self.state[p].setdefault("momentum", torch.zeros_like(p))
                buf.mul_(mu).add_(p.grad)
                G = p.grad.add(buf, alpha=mu) if group["nesterov"] else buf
                O = polar_factor(G) if group["exact"] else newton_schulz(G, group["ns_steps"])
                p.sub_(eta * O)
        return None


class ScheduledAdam(torch.optim.Adam):
    """``torch.optim.Adam`` with the step ``η_k = lr (k + 1)^{−decay}`` (Zhang et al. 2024 assume ``(k+2)^{−a}``)."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, *, betas: tuple[float, float] = (0.9, 0.99),
                 eps: float = 1e-8, decay: float = 0.0) -> None:
        decay = check_real(decay, "decay", nonnegative=True)
        lr = check_real(lr, "lr", positive=True)
        super().__init__(check_params(params), lr=lr, betas=betas, eps=eps)
        for g in self.param_groups:
            g["base_lr"], g["decay"], g["k"] = lr, decay, 0

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None):
        for g in self.param_groups:
            g["lr"] = g["base_lr"] * (g["k"] + 1) ** (-g["decay"])
            g["k"] += 1
        return super().step(closure)


_NAMES = {
    "gd": partial(SteepestDescent, norm="fro", normalized=False),
    "ngd": partial(SteepestDescent, norm="fro"),
    "sign": SignDescent,
    "signum": partial(SignDescent, momentum=0.9),
    "spectral": partial(SteepestDescent, norm="spectral"),
    "muon": Muon,
    "adam": ScheduledAdam,
}


def optimizer(name: str, **kw) -> Callable[[list[torch.Tensor], float], torch.optim.Optimizer]:
    """An optimizer factory ``f(params, lr)`` by name: ``"gd"``, ``"ngd"``, ``"sign"``, ``"signum"``,
    ``"spectral"``, ``"muon"``, ``"adam"``; keyword arguments (``decay``, ``momentum``, ...) go to the class."""
    name = check_choice(name, "name", tuple(_NAMES))
    f = partial(_NAMES[name], **kw)
    f.__name__ = name  # type: ignore[attr-defined]
    return f


@dataclass(frozen=True)
class MinibatchHistory:
    """Metrics of :func:`train_minibatch` at the recorded steps (``extra`` by name), and the final decoder."""

    steps: np.ndarray
    excess: np.ndarray  # CE(W_k H) − H on the full data
    extra: dict[str, np.ndarray]
    W: np.ndarray


def train_minibatch(data: NTPData, H: np.ndarray, factory: Callable, lr: float, steps: int, *,
                    batch_size: int | None = None, rng: np.random.Generator | None = None,
                    extra: Mapping[str, Callable[[np.ndarray], float]] | None = None,
                    n_records: int = 40) -> MinibatchHistory:
    """Train the decoder W (from zero) on ``CE(W H)`` with mini-batches of ``batch_size`` samples ``(j, z)``
    drawn i.i.d. from ``π̂_j p̂_{j,z}`` (``None``: the full batch, as :func:`ntpbook_lib.training.train_linear`),
    recording ``extra`` through the library's training loop (:func:`ntpbook_lib.loop.recorded_loop`).

    The batch gradient is ``(softmax(W H) diag(n) − N) Hᵀ / B`` with ``N`` the V×m counts of the batch and
    ``n`` its context counts: per-sample (``batch_size=1``) Adam is Baek, Song & Yun's incremental regime.
    """
    from .loop import check_extra, recorded_loop
    from .loss import ce_decomposition
    from .numerics import softmax_minus_P
    from .runtime import schedule, small_problem_threads

    H = check_embeddings(data, H)
    lr = check_real(lr, "lr", positive=True)
    steps, n_records, _ = check_schedule(steps, n_records)
    if not callable(factory):
        raise TypeError(f"factory must be an optimizer factory f(params, lr), got {type(factory).__name__}")
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        rng = check_rng(rng)
    extra = check_extra(extra)
    V, d, m = data.V, H.shape[0], data.m
    joint = (data.P * data.pi).ravel()
    joint = joint / joint.sum()
    kw = dict(dtype=torch.float64)
    W = torch.zeros((V, d), **kw)
    Ht, P, pi = torch.tensor(H, **kw), torch.tensor(data.P, **kw), torch.tensor(data.pi, **kw)
    insupp = torch.tensor(data.S > 0)
    opt = factory([W], lr)

    def step(k: int) -> None:
        if batch_size is None:
            W.grad = (softmax_minus_P(W @ Ht, P, insupp) * pi) @ Ht.T
        else:
            N = torch.tensor(rng.multinomial(batch_size, joint).reshape(V, m).astype(np.float64))
            W.grad = (torch.softmax(W @ Ht, dim=0) * N.sum(dim=0) - N) @ Ht.T / batch_size
        opt.step()

    with torch.no_grad(), small_problem_threads("cpu", V * d * m):
        run = recorded_loop(step, lambda k: (W.numpy().copy(),), lambda Wn: ce_decomposition(Wn @ H, data).excess,
                            steps=steps, record=schedule(steps, n_records), extra=extra)
    return MinibatchHistory(run.steps, np.array(run.rows), run.extra, run.state[0])
