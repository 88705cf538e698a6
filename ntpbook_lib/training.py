"""Training linear NTP models with fixed embeddings and measuring their implicit bias (T24 §5–6).

T24 Thm 2: gradient descent on ``CE(W H)`` drives ``CE → H`` and ``‖W_k‖ → ∞`` with

    W_k ≈ W^⋆ + ‖P_⊥ W_k‖ · W^mm / ‖W^mm‖,

``W^⋆`` the log-odds solution in F and ``W^mm`` the NTP-SVM in ``F^⊥``.  :func:`train_linear` runs GD,
normalised GD or Adam in torch and records the quantities of T24 Figs 3–5 on a log-spaced schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from .data import NTPData
from .loss import kl_terms
from .loop import Optimizer, check_extra, check_optimizer, check_schedule, make_optimizer, recorded_loop, training_bytes
from .numerics import cosine, frobenius_norm, ntp_margin_of_logits, softmax_minus_P
from .runtime import cpu_threads, log_schedule, schedule, small_problem_threads  # noqa: F401 (first home of the two)
from .separability import DataSubspace, in_support_pairs, is_compatible, is_separable
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
    check_memory,
    check_real,
    check_rng,
)

__all__ = [
    "ImplicitBiasReference",
    "implicit_bias_reference",
    "Alignment",
    "alignment",
    "TrainHistory",
    "train_linear",
    "LogitHistory",
    "train_logits",
]


class ImplicitBiasReference(NamedTuple):
    """The two limits of T24 Thm 2: ``W^⋆`` (in F) and ``W^mm`` (in ``F^⊥``; None if not NTP-separable)."""

    W_star: np.ndarray
    W_mm: np.ndarray | None
    F: DataSubspace
    compatible: bool


def implicit_bias_reference(data: NTPData, H: np.ndarray) -> ImplicitBiasReference:
    """``W^⋆`` (T24 eq. 4), ``W^mm`` (T24 Def. 3) and the data subspace F, for :func:`alignment`.

    Parameters
    ----------
    data : NTPData
        The training data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.

    Returns
    -------
    ImplicitBiasReference
        ``W_star``, ``W_mm`` (None when the data is not NTP-separable), the subspace ``F`` and whether the data
        is NTP_H-compatible.
    """
    H = check_embeddings(data, H)
    F = DataSubspace(data, H)
    comp = is_compatible(data, H, F=F)
    sep = bool(is_separable(data, H, explain=False, F=F)) if np.any(data.support_sizes < data.V) else False
    return ImplicitBiasReference(comp.W, ntp_svm(data, H) if sep else None, F, bool(comp))


class Alignment(NamedTuple):
    """The quantities of T24 Figs 3–5 at one decoder ``W`` (nan where the limit does not exist)."""

    excess: float  # CE(W H) − H = Σ_j π̂_j KL(p̂_j ‖ softmax(W h_j))
    norm: float  # ‖W‖_F
    cos_mm: float  # cos(W, W^mm)
    cos_shift_mm: float  # cos(W − W^⋆, W^mm)
    dist_F: float  # ‖P_F W − W^⋆‖_F
    margin: float  # normalised NTP margin ntp_margin(W)/‖W‖_F


def _check_reference(ref: object, data: NTPData, H: np.ndarray) -> None:
    """``ref`` is :func:`implicit_bias_reference` ``(data, H)``: its subspace F was built from this ``H`` and
    from these supports, and ``W^⋆`` is V×d (``TypeError``/``ValueError`` naming ``ref`` otherwise).  A reference
    made by hand without F (``F=None, compatible=False``: ``dist_F`` is not computed) is checked by shape."""
    if not isinstance(ref, ImplicitBiasReference):
        raise TypeError(f"ref must be an ImplicitBiasReference (from implicit_bias_reference), "
                        f"got {type(ref).__name__}")
    V, d = data.V, H.shape[0]
    shape = getattr(ref.W_star, "shape", None)
    if shape != (V, d) or (ref.W_mm is not None and getattr(ref.W_mm, "shape", None) != (V, d)):
        raise ValueError(f"ref was made for other data: its W^⋆ has shape {shape}, not V×d = ({V}, {d}); "
                         f"pass implicit_bias_reference(data, H) for this data and H")
    F = ref.F
    if F is None and not ref.compatible:  # a reference without the subspace (never projected on): shapes only
        return
    same_H = isinstance(F, DataSubspace) and F.H.shape == H.shape and np.array_equal(F.H, H)
    pairs = in_support_pairs(data)
    same_S = same_H and all(np.array_equal(a, b) for a, b in zip((F.j, F.z, F.a), pairs))
    if not (same_H and same_S):
        raise ValueError(f"ref was made for other {'embeddings H' if not same_H else 'supports'}: pass "
                         f"implicit_bias_reference(data, H) for this data and H")


def alignment(W: np.ndarray, data: NTPData, H: np.ndarray, ref: ImplicitBiasReference) -> Alignment:
    """Excess loss, norm, correlations with ``W^mm`` and distance of ``P_F W`` to ``W^⋆`` (T24 Thm 2, Figs 3–5).

    Parameters
    ----------
    W : numpy.ndarray
        A decoder, V×d.
    data : NTPData
        The training data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.
    ref : ImplicitBiasReference
        From :func:`implicit_bias_reference` ``(data, H)``.

    Returns
    -------
    Alignment
        The six quantities (nan where a limit does not exist).
    """
    H = check_embeddings(data, H)
    W = check_decoder(W, data, H)
    _check_reference(ref, data, H)
    return _alignment(W, data, H, ref)


def _alignment(W: np.ndarray, data: NTPData, H: np.ndarray, ref: ImplicitBiasReference) -> Alignment:
    """:func:`alignment` for checked arguments (the kernel the training loop calls)."""
    with np.errstate(over="ignore", invalid="ignore"):
        L = W @ H
    if not np.all(np.isfinite(L)):
        raise ValueError("the logits W H overflow float64: rescale W or H")
    excess = float(data.pi @ kl_terms(L, data))
    norm = frobenius_norm(W)
    has_mm = ref.W_mm is not None
    margin = float("nan")
    if norm > 0 and np.any(data.support_sizes < data.V):
        margin = ntp_margin_of_logits(L, data.S > 0)
        if not np.isfinite(margin):
            raise ValueError("the NTP margin of W overflows float64: rescale W or H")
        margin /= norm
    return Alignment(
        excess=excess,
        norm=norm,
        cos_mm=cosine(W, ref.W_mm) if has_mm else float("nan"),
        cos_shift_mm=cosine(W - ref.W_star, ref.W_mm) if has_mm else float("nan"),
        dist_F=frobenius_norm(ref.F.project(W) - ref.W_star) if ref.compatible else float("nan"),
        margin=margin,
    )


@dataclass(frozen=True)
class TrainHistory:
    """Metrics of :func:`train_linear` at the recorded steps, and the final decoder."""

    method: str  # the optimizer's name
    lr: float
    steps: np.ndarray
    excess: np.ndarray
    norm: np.ndarray
    cos_mm: np.ndarray
    cos_shift_mm: np.ndarray
    dist_F: np.ndarray
    margin: np.ndarray
    W: np.ndarray  # final W (NumPy, float64)
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # train_linear's extra functions at the steps
    seconds: float = float("nan")  # wall-clock time of the training loop, metrics included

    def final(self) -> Alignment:
        """The metrics at the last recorded step."""
        return Alignment(*(float(getattr(self, f)[-1]) for f in Alignment._fields))


def _initial_decoder(init: str | np.ndarray, data: NTPData, H: np.ndarray, rng: np.random.Generator | None
                     ) -> np.ndarray:
    V, d = data.V, H.shape[0]
    if isinstance(init, str):
        if init == "zero":
            return np.zeros((V, d))
        if init == "lecun":
            if rng is None:
                raise ValueError("init='lecun' draws from rng: pass rng=np.random.default_rng(seed)")
            return rng.standard_normal((V, d)) / np.sqrt(d)
        raise ValueError(f"init must be 'zero', 'lecun' or an array, got {init!r}")
    W0 = check_array(init, "init", finite=False).copy()
    if W0.shape != (V, d):
        raise ValueError(f"init must be V×d = ({V}, {d}), got shape {W0.shape}")
    return check_decoder(W0, data, H, "init")


def _optimizer_argument(optimizer: str | Optimizer, method: str | Optimizer | None) -> tuple[object, str]:
    """``optimizer``, or the value of the older keyword ``method`` when that is the one given."""
    if method is None:
        return optimizer, "optimizer"
    return method, "method"


def train_linear(data: NTPData, H: np.ndarray, optimizer: str | Optimizer = "gd", lr: float = 0.5,
                 steps: int = 10_000, *, init: str | np.ndarray = "zero", rng: np.random.Generator | None = None,
                 betas: tuple[float, float] = (0.9, 0.99), n_records: int = 60,
                 ref: ImplicitBiasReference | None = None,
                 extra: Mapping[str, Callable[[np.ndarray], float]] | None = None,
                 dtype: torch.dtype = torch.float64, device: str = "cpu", progress: bool = False,
                 method: str | Optimizer | None = None) -> TrainHistory:
    """Full-batch training of the decoder W (V×d) on ``CE(W H)`` with fixed embeddings H (T24 §6, Figs 3–5).

    The gradient ``(softmax(W H) − P) diag(π̂) Hᵀ`` is formed in closed form with a stable softmax, so runs of
    10^6 steps stay finite while ``‖W‖`` diverges.  The metrics of :func:`alignment` are recorded on a
    log-spaced schedule by the library's one training loop (:func:`ntpbook_lib.loop.recorded_loop`).

    Parameters
    ----------
    data : NTPData
        The training data.
    H : numpy.ndarray
        Fixed context embeddings, d×m.
    optimizer : str or callable, optional
        ``"gd"`` (``W ← W − η∇``), ``"ngd"`` (``W ← W − η∇/‖∇‖``), ``"adam"`` (with ``betas``), or any factory
        ``f(params, lr) -> torch.optim.Optimizer``; each step sets ``W.grad`` and calls its ``step()``.
    lr : float, optional
        The learning rate ``η``.
    steps : int, optional
        The number of steps.
    init : str or numpy.ndarray, optional
        ``"zero"``, ``"lecun"`` (i.i.d. ``N(0, 1/d)``, drawn from ``rng``) or a V×d array.
    rng : numpy.random.Generator, optional
        For ``init="lecun"``.
    betas : tuple of float, optional
        Adam's ``(β₁, β₂)``.
    n_records : int, optional
        About this many log-spaced steps are recorded.
    ref : ImplicitBiasReference, optional
        :func:`implicit_bias_reference` ``(data, H)``, computed when not given.
    extra : mapping of str to callable, optional
        Further metrics ``f(W) -> float`` of the current decoder (a float64 NumPy V×d array), recorded at the
        same steps into ``history.extra[name]``.
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
    TrainHistory
        The recorded steps and metrics, ``extra``, the final ``W`` and the loop's time.
    """
    optimizer, argname = _optimizer_argument(optimizer, method)
    H = check_embeddings(data, H)
    lr = check_real(lr, "lr", positive=True)
    steps, n_records, _ = check_schedule(steps, n_records)
    progress = check_bool(progress, "progress")
    betas = check_betas(betas)
    dtype = check_dtype(dtype)
    device = check_device(device)
    optimizer = check_optimizer(optimizer, ("gd", "ngd", "adam"), argname)
    extra = check_extra(extra)
    if rng is not None:
        rng = check_rng(rng)
    if ref is not None:
        _check_reference(ref, data, H)
    V, d = data.V, H.shape[0]
    check_memory(training_bytes(V, d, data.m, dtype, factors=1),
                 f"training W (V×d = {V}×{d}) on V×m = {V}×{data.m} data in {dtype}")
    W0 = _initial_decoder(init, data, H, rng)
    ref = implicit_bias_reference(data, H) if ref is None else ref

    kw = dict(dtype=dtype, device=device)
    W = torch.tensor(W0, **kw)
    Ht = torch.tensor(H, **kw)
    P = torch.tensor(data.P, **kw)
    pi = torch.tensor(data.pi, **kw)
    insupp = torch.tensor(data.S > 0, device=device)
    opt, name = make_optimizer(optimizer, [W], lr, betas=betas)

    def step(k: int) -> None:
        W.grad = (softmax_minus_P(W @ Ht, P, insupp) * pi) @ Ht.T  # ∇_W CE(W H)
        opt.step()

    def state(k: int) -> tuple[np.ndarray]:
        if not bool(torch.isfinite(W).all()):
            raise ValueError(f"the iterates of {name} overflowed before step {k}: lr = {lr:g} is too large "
                             f"for this problem")
        return (W.cpu().numpy().astype(np.float64),)

    with torch.no_grad(), small_problem_threads(device, V * d * data.m):
        run = recorded_loop(step, state, lambda Wn: _alignment(Wn, data, H, ref), steps=steps,
                            record=schedule(steps, n_records), extra=extra, progress=progress,
                            desc=f"{name} (lr={lr:g})")
    cols = list(zip(*run.rows))
    return TrainHistory(name, lr, run.steps, *(np.array(c) for c in cols), W=run.state[0], extra=run.extra,
                        seconds=run.seconds)


class LogitHistory(NamedTuple):
    """:func:`train_logits`' record: the steps, ``CE − H``, ``‖L‖_F`` and the final logits."""

    steps: np.ndarray
    excess: np.ndarray  # CE(L_k) − H
    norm: np.ndarray  # ‖L_k‖_F
    L: np.ndarray  # final logits


def train_logits(data: NTPData, steps: int, lr: float = 1.0, n_records: int = 60) -> LogitHistory:
    """GD on the NTP loss over free V×m logits from zero: :func:`train_linear` with ``H = I_m`` (so ``W = L``).

    Parameters
    ----------
    data : NTPData
        The training data.
    steps : int
        The number of GD steps.
    lr : float, optional
        The step size.
    n_records : int, optional
        About this many log-spaced steps are recorded.

    Returns
    -------
    LogitHistory
        The recorded steps, excess losses and norms, and the final logits.
    """
    check_data(data)
    check_memory(8.0 * data.m * data.m, f"H = I_m with m = {data.m}")
    h = train_linear(data, np.eye(data.m), "gd", lr, steps, n_records=n_records)
    return LogitHistory(h.steps, h.excess, h.norm, h.W)
