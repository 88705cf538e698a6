"""NTP-UFM, the unconstrained-features model of Z24 Def. 1, trained in torch.

NTP-UFM trains the decoder and the context embeddings together,

    min_{W, H}  CE(W H) + (λ/2)‖W‖_F² + (λ/2)‖H‖_F²,

whose convex twin in the logits is Z24's problem (8) (:mod:`ntpbook_lib.nuclear_path`).  :func:`train_ufm`
runs it through the library's one training loop and records the metrics of
:func:`ntpbook_lib.geometry.geometry_metrics`.  The names of the two other modules are re-exported here, where
they were first defined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from .data import NTPData
from .geometry import (
    CollapseCosines,
    GeometryHistory,
    GeometryMetrics,
    GeometryReference,
    ProxyQuality,
    collapse_cosines,
    corr,
    geometry_metrics,
    proxy_quality,
    sim,
    sim_corr,
    ufm_reference,
)
from .geometry import check_reference, geometry_record
from .loop import Optimizer, check_extra, check_optimizer, check_schedule, make_optimizer, recorded_loop, training_bytes
from .nuclear_path import (
    GenieBound,
    NuclearPath,
    RegularizedLogits,
    genie_bound,
    nuclear_regularization_path,
    nuclear_regularized_logits,
)
from .numerics import softmax_minus_P
from .runtime import MAX_STEPS, schedule, small_problem_threads
from .validation import (
    check_betas,
    check_bool,
    check_data,
    check_device,
    check_dtype,
    check_int,
    check_memory,
    check_real,
    check_rng,
)

__all__ = [
    "corr",
    "sim",
    "sim_corr",
    "CollapseCosines",
    "collapse_cosines",
    "RegularizedLogits",
    "nuclear_regularized_logits",
    "NuclearPath",
    "nuclear_regularization_path",
    "GenieBound",
    "genie_bound",
    "GeometryReference",
    "ufm_reference",
    "ProxyQuality",
    "proxy_quality",
    "GeometryMetrics",
    "geometry_metrics",
    "GeometryHistory",
    "train_ufm",
]


def train_ufm(data: NTPData, d: int, weight_decay: float = 1e-5, optimizer: str | Optimizer = "gd",
              lr: float = 1.0, steps: int = 10_000, *, rng: np.random.Generator, init_scale: float = 0.1,
              batch_size: int | None = None, betas: tuple[float, float] = (0.9, 0.999), n_records: int = 60,
              snapshots: Sequence[int] = (), ref: GeometryReference | None = None,
              extra: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
              dtype: torch.dtype = torch.float64, device: str = "cpu", progress: bool = False,
              method: str | Optimizer | None = None) -> GeometryHistory:
    """Train NTP-UFM (Z24 Def. 1): free ``W`` (V×d) and ``H`` (d×m) on ``CE(W H) + (λ/2)(‖W‖² + ‖H‖²)``.

    Entries of ``W, H`` start i.i.d. ``N(0, init_scale²)`` from ``rng`` (zero is a saddle point).  The
    gradients are formed in closed form, ``G = (softmax(W H) − P) diag(π̂)``, ``∇_W = G Hᵀ + λW``,
    ``∇_H = WᵀG + λH``, and the library's one training loop (:func:`ntpbook_lib.loop.recorded_loop`) records
    :func:`~ntpbook_lib.geometry.geometry_metrics` on a log-spaced schedule and ``(W, H)`` at ``snapshots``.

    Parameters
    ----------
    data : NTPData
        The training data.
    d : int
        The embedding dimension.
    weight_decay : float, optional
        ``λ`` of the objective.
    optimizer : str or callable, optional
        ``"gd"``, ``"ngd"``, ``"adam"`` (with ``betas``), ``"sgd"`` (``"gd"`` on minibatches: needs
        ``batch_size``), or any factory ``f(params, lr) -> torch.optim.Optimizer`` over ``[W, H]``.
    lr : float, optional
        The learning rate.
    steps : int, optional
        The number of steps.
    rng : numpy.random.Generator
        Draws the initialisation (and seeds the minibatches).
    init_scale : float, optional
        The standard deviation of the initial entries.
    batch_size : int, optional
        With it, each step uses ``batch_size`` contexts drawn uniformly, the loss reweighted to stay unbiased.
    betas : tuple of float, optional
        Adam's ``(β₁, β₂)``.
    n_records : int, optional
        About this many log-spaced steps are recorded.
    snapshots : sequence of int, optional
        Steps at which ``(W, H)`` is kept.
    ref : GeometryReference, optional
        :func:`~ntpbook_lib.geometry.ufm_reference` ``(data)``, computed when not given.
    extra : mapping of str to callable, optional
        Further metrics ``f(W, H) -> float`` of the current factors (float64 NumPy, V×d and d×m), recorded at
        the same steps into ``history.extra[name]``.
    dtype : torch.dtype, optional
        The precision of the iterations: ``torch.float64`` or ``torch.float32``; half precision is refused
        (:func:`~ntpbook_lib.validation.check_dtype` says why).
    device : str or torch.device, optional
        The torch device; one that is unknown or not available here (``"cuda"`` without CUDA, ``"cuda:7"`` on a
        machine with fewer GPUs, ``"meta"``) is a ``ValueError`` before any work.
    progress : bool, optional
        Show a progress bar.
    method : str or callable, optional
        The former name of ``optimizer``, still accepted.

    Returns
    -------
    GeometryHistory
        The recorded metrics, snapshots, extra values, final factors and the loop's time.
    """
    optimizer, argname = (optimizer, "optimizer") if method is None else (method, "method")
    check_data(data)
    V, m = data.V, data.m
    d = check_int(d, "d", minimum=1, maximum=MAX_STEPS)
    weight_decay = check_real(weight_decay, "weight_decay", nonnegative=True)
    lr = check_real(lr, "lr", positive=True)
    steps, n_records, snapshots = check_schedule(steps, n_records, snapshots)
    rng = check_rng(rng)
    init_scale = check_real(init_scale, "init_scale", positive=True)
    betas = check_betas(betas)
    dtype, device = check_dtype(dtype), check_device(device)
    progress = check_bool(progress, "progress")
    check_memory(training_bytes(V, d, m, dtype, factors=2, snapshots=len(snapshots)),
                 f"training the factors W (V×d = {V}×{d}) and H (d×m = {d}×{m}) in {dtype}")
    if ref is not None:
        check_reference(ref, data)
    minibatch = optimizer == "sgd"
    optimizer = check_optimizer(optimizer, ("gd", "ngd", "adam"), argname, aliases={"sgd": "gd"})
    extra = check_extra(extra)
    if minibatch and batch_size is None:
        raise ValueError(f"{argname}='sgd' needs batch_size in 1..m={m}, got None")
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        if batch_size > m:
            raise ValueError(f"batch_size must lie in 1..m={m}, got {batch_size}")
    ref = ufm_reference(data) if ref is None else ref
    kw = dict(dtype=dtype, device=device)
    W = torch.tensor(init_scale * rng.standard_normal((V, d)), **kw)
    H = torch.tensor(init_scale * rng.standard_normal((d, m)), **kw)
    P, pi = torch.tensor(data.P, **kw), torch.tensor(data.pi, **kw)
    insupp = torch.tensor(data.S > 0, device=device)
    gen = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
    opt, name = make_optimizer(optimizer, [W, H], lr, betas=betas)
    if minibatch:
        name = "sgd"

    def step(k: int) -> None:
        if batch_size is not None:
            batch = torch.randperm(m, generator=gen, device=device)[:batch_size]
            weight = torch.zeros_like(pi).index_fill_(0, batch, 1.0) * pi * (m / batch_size)
        else:
            weight = pi
        G = softmax_minus_P(W @ H, P, insupp) * weight  # ∂CE/∂L
        W.grad, H.grad = G @ H.T + weight_decay * W, W.T @ G + weight_decay * H
        opt.step()

    def state(k: int) -> tuple[np.ndarray, np.ndarray]:
        if not (bool(torch.isfinite(W).all()) and bool(torch.isfinite(H).all())):
            raise ValueError(f"the iterates of {name} overflowed before step {k}: lr = {lr:g}, "
                             f"init_scale = {init_scale:g} or weight_decay = {weight_decay:g} is too large")
        return W.cpu().numpy().astype(np.float64), H.cpu().numpy().astype(np.float64)

    with torch.no_grad(), small_problem_threads(device, V * d * m):
        run = recorded_loop(step, state, lambda Wn, Hn: geometry_record(Wn, Hn, data, ref), steps=steps,
                            record=schedule(steps, n_records), snapshots=snapshots, extra=extra,
                            progress=progress, desc=f"NTP-UFM {name}")
    return GeometryHistory.from_records(name, run.steps, run.rows, *run.state, run.snapshots, run.seconds,
                                        run.extra)
