"""Training linear NTP models with fixed embeddings and measuring their implicit bias (T24 §5–6).

T24 Thm 2: gradient descent on ``CE(W H)`` drives ``CE → H`` and ``‖W_k‖ → ∞`` with

    W_k ≈ W* + ‖P_⊥ W_k‖ · W^mm / ‖W^mm‖,

``W*`` the log-odds solution in F and ``W^mm`` the NTP-SVM in ``F^⊥``.  :func:`train_linear` runs GD,
normalised GD or Adam in torch and records the quantities of T24 Figs 3–5 on a log-spaced schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from .data import NTPData
from .loss import ce_decomposition
from .separability import DataSubspace, is_compatible, is_separable, ntp_margin
from .svm import ntp_svm
from .validation import (
    check_array,
    check_betas,
    check_bool,
    check_data,
    check_decoder,
    check_device,
    check_dtype,
    check_embeddings,
    check_int,
    check_memory,
    check_real,
    check_rng,
    frobenius_norm,
)

__all__ = [
    "cpu_threads",
    "small_problem_threads",
    "log_schedule",
    "Reference",
    "implicit_bias_reference",
    "Alignment",
    "alignment",
    "TrainHistory",
    "train_linear",
    "LogitHistory",
    "train_logits",
]


SMALL_PROBLEM = 1 << 22  # multiply-adds per matrix product below which one torch thread is faster
MAX_THREADS = 1024  # more threads than any CPU offers would only cost memory and start-up time


def cpu_threads(n: int | None) -> AbstractContextManager[None]:
    """Run torch and the BLAS library on ``n`` CPU threads inside the block (``None``: as they are), then restore."""
    if n is not None:
        n = check_int(n, "n (the number of threads, a positive integer)", minimum=1, maximum=MAX_THREADS)
    return _threads(n)


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        with threadpool_limits(int(n), user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def small_problem_threads(device: str | torch.device, work: int):
    """:func:`cpu_threads` ``(1)`` for a CPU problem of at most ``SMALL_PROBLEM`` multiply-adds per product.

    Many small steps (T24's and Z24's problems are ``V·d·m`` ≲ 10^6) are dominated by thread synchronisation,
    which stalls badly when the cores are shared with other work: 3000 GD steps of T24's synthetic problem
    take about 0.5 s on one thread and 10–15 s on two threads of a busy 2-core machine.
    """
    device = check_device(device)
    work = check_real(work, "work", nonnegative=True)
    return cpu_threads(1 if torch.device(device).type == "cpu" and work <= SMALL_PROBLEM else None)


def log_schedule(steps: int, n_records: int = 60) -> np.ndarray:
    """About ``n_records`` distinct step indices in 0..steps, spaced evenly on a log scale."""
    steps = check_int(steps, "steps", minimum=1, maximum=2**62)
    n_records = check_int(n_records, "n_records", minimum=1)
    check_memory(8.0 * n_records, f"a schedule of {n_records} records")
    return np.unique(np.r_[0, np.geomspace(1, steps, n_records).round().astype(np.int64)])


class Reference(NamedTuple):
    """The two limits of T24 Thm 2: ``W*`` (in F) and ``W^mm`` (in ``F^⊥``; None if not NTP-separable)."""

    W_star: np.ndarray
    W_mm: np.ndarray | None
    F: DataSubspace
    compatible: bool


def implicit_bias_reference(data: NTPData, H: np.ndarray) -> Reference:
    """``W*`` (T24 eq. 4), ``W^mm`` (T24 Def. 3) and the data subspace F, for :func:`alignment`."""
    H = check_embeddings(data, H)
    F = DataSubspace(data, H)
    comp = is_compatible(data, H)
    sep = bool(is_separable(data, H, explain=False)) if np.any(data.support_sizes < data.V) else False
    return Reference(comp.W, ntp_svm(data, H) if sep else None, F, bool(comp))


class Alignment(NamedTuple):
    """The quantities of T24 Figs 3–5 at one decoder ``W`` (nan where the limit does not exist)."""

    excess: float  # CE(W H) − H = Σ_j π̂_j KL(p̂_j ‖ softmax(W h_j))
    norm: float  # ‖W‖_F
    cos_mm: float  # cos(W, W^mm)
    cos_shift_mm: float  # cos(W − W*, W^mm)
    dist_F: float  # ‖P_F W − W*‖_F
    margin: float  # normalised NTP margin ntp_margin(W)/‖W‖_F


def _cos(A: np.ndarray, B: np.ndarray) -> float:
    na, nb = frobenius_norm(A), frobenius_norm(B)
    return float(np.sum((A / na) * (B / nb))) if na > 0 and nb > 0 else float("nan")


def alignment(W: np.ndarray, data: NTPData, H: np.ndarray, ref: Reference) -> Alignment:
    """Excess loss, norm, correlations with ``W^mm`` and distance of ``P_F W`` to ``W*`` (T24 Thm 2, Figs 3–5)."""
    H = check_embeddings(data, H)
    W = check_decoder(W, data, H)
    if not isinstance(ref, Reference):
        raise TypeError(f"ref must be a Reference (from implicit_bias_reference), got {type(ref).__name__}")
    with np.errstate(over="ignore", invalid="ignore"):
        L = W @ H
    if not np.all(np.isfinite(L)):
        raise ValueError("the logits W H overflow float64: rescale W or H")
    dec = ce_decomposition(L, data)
    norm = frobenius_norm(W)
    has_mm = ref.W_mm is not None
    return Alignment(
        excess=dec.excess,
        norm=norm,
        cos_mm=_cos(W, ref.W_mm) if has_mm else float("nan"),
        cos_shift_mm=_cos(W - ref.W_star, ref.W_mm) if has_mm else float("nan"),
        dist_F=frobenius_norm(ref.F.project(W) - ref.W_star) if ref.compatible else float("nan"),
        margin=ntp_margin(W, data, H) / norm if norm > 0 and np.any(data.support_sizes < data.V) else float("nan"),
    )


@dataclass(frozen=True)
class TrainHistory:
    """Metrics of :func:`train_linear` at the recorded steps, and the final decoder."""

    method: str
    lr: float
    steps: np.ndarray
    excess: np.ndarray
    norm: np.ndarray
    cos_mm: np.ndarray
    cos_shift_mm: np.ndarray
    dist_F: np.ndarray
    margin: np.ndarray
    W: np.ndarray  # final W (NumPy, float64)

    def final(self) -> Alignment:
        """The metrics at the last recorded step."""
        return Alignment(*(float(getattr(self, f)[-1]) for f in Alignment._fields))


Optimizer = Callable[[list[torch.Tensor], float], torch.optim.Optimizer]


def _softmax_minus_P(L: torch.Tensor, P: torch.Tensor, insupp: torch.Tensor) -> torch.Tensor:
    """``softmax(L) − P``, exact even when the out-of-support mass ``ε_j`` is below rounding of 1.

    In-support ``q_z = r_z (1 − ε_j)`` with ``r`` the softmax restricted to ``S_j``, so
    ``q_z − p_z = (r_z − p_z) − r_z ε_j``; forming ``q_z − p_z`` directly would round ``q_z`` to ``p_z`` and
    lose the push on the in-support logits once ``ε_j < 10^{-16}`` (then ``1ᵀ(q_j − p_j) ≠ 0``).
    """
    lse = torch.logsumexp(L, dim=0)
    L_in = L.masked_fill(~insupp, -torch.inf)
    r = torch.exp(L_in - torch.logsumexp(L_in, dim=0))
    eps = torch.exp(torch.logsumexp(L.masked_fill(insupp, -torch.inf), dim=0) - lse)  # 0 if S_j = [V]
    return (r - P) - r * eps + torch.exp(L - lse).masked_fill(insupp, 0.0)


def train_linear(data: NTPData, H: np.ndarray, method: str | Optimizer = "gd", lr: float = 0.5,
                 steps: int = 10_000, *, init: str | np.ndarray = "zero", rng: np.random.Generator | None = None,
                 betas: tuple[float, float] = (0.9, 0.99), n_records: int = 60,
                 ref: Reference | None = None, dtype: torch.dtype = torch.float64, device: str = "cpu",
                 progress: bool = False) -> TrainHistory:
    """Full-batch training of the decoder W (V×d) on ``CE(W H)`` with fixed embeddings H (T24 §6, Figs 3–5).

    ``method``: ``"gd"`` (``W ← W − η∇``), ``"ngd"`` (``W ← W − η∇/‖∇‖``), ``"adam"`` (``betas``), or any
    ``f(params, lr) -> torch.optim.Optimizer``.  ``init``: ``"zero"``, ``"lecun"`` (i.i.d. ``N(0, 1/d)``,
    drawn from ``rng``) or an array.  The gradient ``(softmax(W H) − P) diag(π̂) Hᵀ`` is formed in closed form
    with a stable softmax, so runs of 10^6 steps stay finite while ``‖W‖`` diverges.
    """
    H = check_embeddings(data, H)
    lr = check_real(lr, "lr", positive=True)
    steps = check_int(steps, "steps", minimum=1, maximum=2**62)
    n_records = check_int(n_records, "n_records", minimum=1)
    progress = check_bool(progress, "progress")
    betas = check_betas(betas)
    dtype = check_dtype(dtype)
    device = check_device(device)
    if rng is not None:
        rng = check_rng(rng)
    if ref is not None and not isinstance(ref, Reference):
        raise TypeError(f"ref must be a Reference (from implicit_bias_reference), got {type(ref).__name__}")
    V, d = data.V, H.shape[0]
    if isinstance(init, str):
        if init == "zero":
            W0 = np.zeros((V, d))
        elif init == "lecun":
            if rng is None:
                raise ValueError("init='lecun' draws from rng: pass rng=np.random.default_rng(seed)")
            W0 = rng.standard_normal((V, d)) / np.sqrt(d)
        else:
            raise ValueError(f"init must be 'zero', 'lecun' or an array, got {init!r}")
    else:
        W0 = check_array(init, "init", finite=False).copy()
        if W0.shape != (V, d):
            raise ValueError(f"init must be V×d = ({V}, {d}), got shape {W0.shape}")
        W0 = check_decoder(W0, data, H, "init")
    ref = implicit_bias_reference(data, H) if ref is None else ref

    kw = dict(dtype=dtype, device=device)
    W = torch.tensor(W0, **kw)
    Ht = torch.tensor(H, **kw)
    P = torch.tensor(data.P, **kw)
    pi = torch.tensor(data.pi, **kw)
    insupp = torch.tensor(data.S > 0, device=device)
    opt = None
    if callable(method):
        W.requires_grad_(False)
        opt, name = method([W], lr), getattr(method, "__name__", "custom")
    elif method == "adam":
        opt, name = torch.optim.Adam([W], lr=lr, betas=betas), "adam"
    elif isinstance(method, str) and method in ("gd", "ngd"):
        name = method
    else:
        raise ValueError(f"method must be 'gd', 'ngd', 'adam' or an optimizer factory, got {method!r}")

    record = log_schedule(steps, n_records)
    rows, r = [], 0
    it = range(steps + 1)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"{name} (lr={lr:g})", mininterval=1.0)
    with torch.no_grad(), small_problem_threads(device, V * d * data.m):
        for k in it:
            if k == record[r]:
                if not bool(torch.isfinite(W).all()):
                    raise ValueError(f"the iterates of {name} overflowed before step {k}: lr = {lr:g} is too large "
                                     f"for this problem")
                rows.append(alignment(W.cpu().numpy().astype(np.float64), data, H, ref))
                r += 1
            if k == steps:
                break
            G = (_softmax_minus_P(W @ Ht, P, insupp) * pi) @ Ht.T  # ∇_W CE(W H)
            if name == "gd":
                W.sub_(lr * G)
            elif name == "ngd":
                W.sub_(lr * G / torch.linalg.norm(G).clamp_min(torch.finfo(dtype).tiny))
            else:
                W.grad = G
                opt.step()
    cols = list(zip(*rows))
    return TrainHistory(name, lr, record, *(np.array(c) for c in cols), W=W.cpu().numpy().astype(np.float64))


class LogitHistory(NamedTuple):
    steps: np.ndarray
    excess: np.ndarray  # CE(L_k) − H
    norm: np.ndarray  # ‖L_k‖_F
    L: np.ndarray  # final logits


def train_logits(data: NTPData, steps: int, lr: float = 1.0, n_records: int = 60) -> LogitHistory:
    """GD on the NTP loss over free V×m logits from zero: :func:`train_linear` with ``H = I_m`` (so ``W = L``)."""
    check_data(data)
    check_memory(8.0 * data.m * data.m, f"H = I_m with m = {data.m}")
    h = train_linear(data, np.eye(data.m), "gd", lr, steps, n_records=n_records)
    return LogitHistory(h.steps, h.excess, h.norm, h.W)
