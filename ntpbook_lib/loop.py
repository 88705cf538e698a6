"""One recorded training loop, and one vocabulary for the optimizer, for every trainer of the library.

:func:`~ntpbook_lib.training.train_linear` (T24 §6), :func:`~ntpbook_lib.ufm.train_ufm` (Z24 Def. 1) and
:func:`~ntpbook_lib.models.train_model` (Z24 §5.2) differ only in the step they take and in the metrics they
record.  Each builds its parameters, checks its arguments once, and hands :func:`recorded_loop` three callables:
``step(k)`` (one optimizer step), ``state(k)`` (the current parameters as float64 NumPy arrays, e.g. ``(W,)`` or
``(W, H)``) and ``metrics(*state)``.  The loop records the metrics on a log-spaced schedule
(:func:`~ntpbook_lib.runtime.log_schedule`), copies the state at the requested snapshot steps, evaluates the
caller's ``extra`` functions on the state, and times itself.

The optimizer argument is one of the names ``"gd"``, ``"ngd"``, ``"adam"``, ``"adamw"`` (each trainer accepts
those that are meaningful for it) or any factory ``f(params, lr) -> torch.optim.Optimizer``: every step sets the
parameters' ``.grad`` and calls ``step()``, so an optimizer written as a ``torch.optim.Optimizer`` subclass plugs
in unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .runtime import MAX_STEPS, check_schedule_size
from .validation import check_betas, check_int, check_ints, check_memory, check_real

__all__ = [
    "Optimizer",
    "OPTIMIZER_NAMES",
    "GradientDescent",
    "NormalizedGradientDescent",
    "check_optimizer",
    "make_optimizer",
    "check_extra",
    "check_schedule",
    "check_record",
    "check_params",
    "training_bytes",
    "Recording",
    "recorded_loop",
]

Optimizer = Callable[[list[torch.Tensor], float], torch.optim.Optimizer]
"""A factory ``f(params, lr)`` returning a ``torch.optim.Optimizer`` over ``params``."""

OPTIMIZER_NAMES = ("gd", "ngd", "adam", "adamw")


def check_params(params: Any, name: str = "params") -> list:
    """An optimizer's parameters: an iterable of torch tensors (or of torch's parameter-group dicts), as a list.

    Parameters
    ----------
    params : iterable
        The argument; a single tensor, a NumPy array or anything holding something else is a ``TypeError``.
    name : str, optional
        Its name in the error message.

    Returns
    -------
    list
        The tensors (or groups).
    """
    if isinstance(params, torch.Tensor) or isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"{name} must be an iterable of torch tensors (e.g. [W] or model.parameters()), got "
                        f"{type(params).__name__}")
    params = list(params)
    for i, p in enumerate(params):
        if isinstance(p, dict):
            continue
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"{name}[{i}] must be a torch tensor, got {type(p).__name__}")
    return params


def _settings(lr: Any, weight_decay: Any) -> dict[str, float]:
    return dict(lr=check_real(lr, "lr", positive=True), weight_decay=check_real(weight_decay, "weight_decay",
                                                                                nonnegative=True))


class GradientDescent(torch.optim.Optimizer):
    """Plain gradient descent ``p ← p − η (∇ + λ p)`` (T24 §6 with ``λ = 0``), written as a torch optimizer.

    Parameters
    ----------
    params : iterable of torch.Tensor
        The parameters, whose ``.grad`` is set before each :meth:`step`.
    lr : float
        The step size ``η``.
    weight_decay : float, optional
        ``λ``, added to the gradient as ``λ p`` (as ``torch.optim.SGD`` does).
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0) -> None:
        super().__init__(check_params(params), _settings(lr, weight_decay))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> None:
        """One step on every parameter that has a gradient."""
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if wd:
                    p.add_(p.grad.add(p, alpha=wd), alpha=-lr)
                else:
                    p.sub_(lr * p.grad)


class NormalizedGradientDescent(torch.optim.Optimizer):
    """Normalised gradient descent ``p ← p − η ∇/‖∇‖`` (T24 §6), ``‖∇‖`` over all parameters together.

    Parameters
    ----------
    params : iterable of torch.Tensor
        The parameters, whose ``.grad`` is set before each :meth:`step`.
    lr : float
        The step size ``η``: every step has length ``η``.
    weight_decay : float, optional
        ``λ``, added to the gradient as ``λ p`` before it is normalised.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0) -> None:
        super().__init__(check_params(params), _settings(lr, weight_decay))

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> None:
        """One step of length ``lr`` along the negative (decayed) gradient."""
        pairs = [(p, p.grad if not g["weight_decay"] else p.grad.add(p, alpha=g["weight_decay"]), g["lr"])
                 for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not pairs:
            return
        if len(pairs) == 1:
            norm = torch.linalg.norm(pairs[0][1])
        else:
            norm = torch.linalg.norm(torch.stack([torch.linalg.norm(G) for _, G, _ in pairs]))
        norm = norm.clamp_min(torch.finfo(pairs[0][1].dtype).tiny)
        for p, G, lr in pairs:
            p.sub_(lr * G / norm)


def check_optimizer(optimizer: Any, names: Sequence[str], name: str = "optimizer",
                    aliases: Mapping[str, str] | None = None) -> str | Optimizer:
    """The optimizer argument of a trainer: one of ``names`` (or an alias of one), or a factory.

    Parameters
    ----------
    optimizer : str or callable
        A name or a factory ``f(params, lr) -> torch.optim.Optimizer``.
    names : sequence of str
        The names this trainer accepts.
    name : str, optional
        The argument's name in the error message.
    aliases : mapping, optional
        Further accepted names and the name each stands for.

    Returns
    -------
    str or callable
        The name (aliases resolved) or the factory.
    """
    if callable(optimizer):
        return optimizer
    aliases = aliases or {}
    if isinstance(optimizer, str) and (optimizer in names or optimizer in aliases):
        return aliases.get(optimizer, optimizer)
    listed = ", ".join(repr(n) for n in [*names, *aliases])
    raise ValueError(f"{name} must be {listed} or an optimizer factory f(params, lr) -> torch.optim.Optimizer, "
                     f"got {optimizer!r}")


def make_optimizer(optimizer: str | Optimizer, params: list[torch.Tensor], lr: float, *,
                   betas: tuple[float, float] = (0.9, 0.999), weight_decay: float = 0.0
                   ) -> tuple[torch.optim.Optimizer, str]:
    """The torch optimizer for a checked name or factory (see :func:`check_optimizer`) and its display name.

    Parameters
    ----------
    optimizer : str or callable
        ``"gd"`` (:class:`GradientDescent`), ``"ngd"`` (:class:`NormalizedGradientDescent`), ``"adam"``,
        ``"adamw"`` (torch's, with ``betas``), or a factory ``f(params, lr)``.
    params : list of torch.Tensor
        The parameters.
    lr : float
        The learning rate.
    betas : tuple of float, optional
        Adam's ``(β₁, β₂)``.
    weight_decay : float, optional
        Passed to the named optimizers (decoupled for ``"adamw"``, added to the gradient otherwise); a factory
        decides for itself.

    Returns
    -------
    opt : torch.optim.Optimizer
        The optimizer over ``params``.
    name : str
        The name, or the factory's ``__name__`` (``"custom"`` without one).
    """
    params = check_params(params)
    if callable(optimizer):
        opt = optimizer(params, lr)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"the optimizer factory must return a torch.optim.Optimizer, got {type(opt).__name__}")
        return opt, getattr(optimizer, "__name__", "custom")
    betas = check_betas(betas)
    if optimizer == "gd":
        return GradientDescent(params, lr, weight_decay), optimizer
    if optimizer == "ngd":
        return NormalizedGradientDescent(params, lr, weight_decay), optimizer
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay), optimizer
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay), optimizer
    raise ValueError(f"unknown optimizer {optimizer!r}")  # pragma: no cover - names are checked at the entry


def check_extra(extra: Any, name: str = "extra") -> dict[str, Callable[..., float]]:
    """Extra metrics for a trainer: a mapping of names (str) to callables of the state (``W``, or ``W, H``).

    Parameters
    ----------
    extra : mapping or None
        ``{name: f}``; ``None`` for none.
    name : str, optional
        The argument's name in the error message.

    Returns
    -------
    dict
        A copy (empty for ``None``).
    """
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise TypeError(f"{name} must be a mapping of names to functions, got {type(extra).__name__}")
    for key, f in extra.items():
        if not isinstance(key, str):
            raise TypeError(f"the names in {name} must be strings, got {type(key).__name__} {key!r}")
        if not callable(f):
            raise TypeError(f"{name}[{key!r}] must be a function of the current parameters, got {type(f).__name__}")
    return dict(extra)


def check_schedule(steps: Any, n_records: Any, snapshots: Any = ()) -> tuple[int, int, list[int]]:
    """A trainer's record arguments: ``steps ≥ 1``, ``n_records ≥ 1`` and snapshot steps in ``0..steps``.

    Parameters
    ----------
    steps : int
        The number of steps.
    n_records : int
        About how many log-spaced steps to record.
    snapshots : sequence of int, optional
        Steps at which the state is kept.

    Returns
    -------
    tuple
        ``(steps, n_records, snapshots)`` as ints.
    """
    steps, n_records = check_schedule_size(steps, n_records)
    snapshots = check_ints(snapshots, "snapshots", minimum=0)
    if any(s > steps for s in snapshots):
        raise ValueError(f"snapshots must be steps in 0..steps = {steps}, got {max(snapshots)}")
    return steps, n_records, snapshots


def check_record(record: Any, steps: int, name: str = "record") -> np.ndarray:
    """The steps at which a loop records: strictly increasing integers in ``0..steps``, the last one ``steps``.

    Parameters
    ----------
    record : array_like of int
        The argument (e.g. :func:`~ntpbook_lib.runtime.log_schedule` ``(steps, n)``).
    steps : int
        The loop's number of steps.
    name : str, optional
        Its name in the error message.

    Returns
    -------
    numpy.ndarray
        int64 steps.
    """
    if isinstance(record, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of integer steps, got {type(record).__name__}")
    if isinstance(record, np.ndarray) and record.dtype.kind in "iu" and record.ndim == 1:
        r = record.astype(np.int64)
    else:
        r = np.array(check_ints(record, name, minimum=None), dtype=np.int64)
    if r.size == 0:
        raise ValueError(f"{name} must hold at least the last step (steps = {steps}), got none")
    if r.min() < 0 or r.max() > steps:
        bad = int(r[(r < 0) | (r > steps)][0])
        raise ValueError(f"{name} must hold steps in 0..steps = {steps}, got {bad}")
    if np.any(np.diff(r) <= 0):
        i = int(np.flatnonzero(np.diff(r) <= 0)[0])
        raise ValueError(f"{name} must be strictly increasing, but entries {i} and {i + 1} are {r[i]} and {r[i + 1]}")
    if r[-1] != steps:
        raise ValueError(f"{name} must end at the last step, steps = {steps}, got {int(r[-1])}")
    return r


def training_bytes(V: int, d: int, m: int, dtype: torch.dtype, *, factors: int, snapshots: int = 0) -> float:
    """Peak bytes of a full-batch trainer of ``W`` (``factors=1``) or ``W, H`` (``factors=2``) on V×m data.

    In ``dtype``: the parameters, their gradients and two Adam moments, and the V×m targets, logits, softmax
    and gradient of the loss; in float64 NumPy: each recorded state and snapshot, and the V×m temporaries of
    the metrics.  Measured against the resident peak of the trainers by the tests.

    Parameters
    ----------
    V, d, m : int
        Vocabulary, embedding dimension, contexts.
    dtype : torch.dtype
        The precision of the iterations.
    factors : int
        1 (``W`` alone) or 2 (``W`` and ``H``).
    snapshots : int, optional
        How many states are kept.

    Returns
    -------
    float
        Bytes.
    """
    item = torch.empty((), dtype=dtype).element_size()
    params = float(V) * d + (float(d) * m if factors == 2 else 0.0)
    Vm = float(V) * m
    return item * (4 * params + 8 * Vm) + Vm + 8.0 * (params * (2 + snapshots) + 10 * Vm)


@dataclass(frozen=True)
class Recording:
    """What :func:`recorded_loop` recorded."""

    steps: np.ndarray  # the recorded steps
    rows: list  # metrics(*state) at each recorded step
    extra: dict[str, np.ndarray]  # each extra function at each recorded step
    snapshots: dict[int, tuple[np.ndarray, ...]] = field(repr=False)  # step → a copy of the state
    seconds: float  # wall-clock time of the loop, metrics included
    state: tuple[np.ndarray, ...] = field(repr=False)  # the state after the last step


def recorded_loop(step: Callable[[int], None], state: Callable[[int], tuple[np.ndarray, ...]],
                  metrics: Callable[..., Any], *, steps: int, record: np.ndarray, snapshots: Iterable[int] = (),
                  extra: Mapping[str, Callable[..., float]] | None = None, progress: bool = False,
                  desc: str = "") -> Recording:
    """Run ``steps`` steps, recording ``metrics(*state)`` at the steps in ``record`` and the state at ``snapshots``.

    Checks what it cannot trust: ``steps``, and a ``record`` of strictly increasing integer steps in
    ``0..steps`` ending at ``steps`` (``ValueError`` naming it otherwise), so the loop provably ends after
    ``steps`` steps with every record taken.  ``state(k)`` returns the parameters as
    float64 NumPy arrays (and raises ``ValueError`` when they overflowed); it is called at every recorded or
    snapshot step, and the state at the last step (always recorded) is returned as the final one.

    Parameters
    ----------
    step : callable
        ``step(k)`` takes optimizer step ``k`` (``0 ≤ k < steps``).
    state : callable
        ``state(k)`` returns the current parameters, e.g. ``(W,)`` or ``(W, H)``.
    metrics : callable
        ``metrics(*state)``: the record of one step (e.g. a ``NamedTuple``).
    steps : int
        The number of steps.
    record : numpy.ndarray
        Increasing step indices in ``0..steps`` whose last entry is ``steps`` (as :func:`~ntpbook_lib.runtime.log_schedule`
        makes them).
    snapshots : iterable of int, optional
        Steps at which a copy of the state is kept.
    extra : mapping, optional
        ``{name: f}``, each ``f(*state)`` recorded as a float at the steps in ``record``.
    progress : bool, optional
        Show a ``tqdm`` progress bar.
    desc : str, optional
        The progress bar's label.

    Returns
    -------
    Recording
        The recorded steps, metrics, extra values, snapshots, the time taken and the final state.
    """
    steps = check_int(steps, "steps", minimum=0, maximum=MAX_STEPS)
    record = check_record(record, steps)
    for label, f in (("step", step), ("state", state), ("metrics", metrics)):
        if not callable(f):
            raise TypeError(f"{label} must be a function, got {type(f).__name__}")
    extra = check_extra(extra)
    snaps = set(check_ints(snapshots, "snapshots", minimum=0))
    if any(s > steps for s in snaps):
        raise ValueError(f"snapshots must be steps in 0..steps = {steps}, got {max(snaps)}")
    rows: list = []
    values: dict[str, list[float]] = {name: [] for name in extra}
    saved: dict[int, tuple[np.ndarray, ...]] = {}
    r = 0
    it: Iterable[int] = range(steps + 1)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=desc, mininterval=1.0)
    t0 = time.perf_counter()
    for k in it:
        if k == record[r] or k in snaps:
            current = state(k)
            if k in snaps:
                saved[k] = tuple(a.copy() for a in current)
            if k == record[r]:
                rows.append(metrics(*current))
                for name, f in extra.items():
                    values[name].append(float(f(*current)))
                r += 1
        if k == steps:
            break
        step(k)
    seconds = time.perf_counter() - t0
    return Recording(np.asarray(record), rows, {n: np.array(v, dtype=np.float64) for n, v in values.items()},
                     saved, seconds, current)
