"""Trained next-token predictors whose geometry Z24 §5 compares with NTP-UFM and with the NTP-SVM⋆.

Every network maps a batch of contexts (m×t tokens) to its **context embeddings** ``h_j`` — the final
normalised hidden state at the last position — and multiplies them by a bias-free **decoder** ``W`` (V×d), so
that the logits are ``L = W H`` exactly as in the unconstrained-features model (Z24 §5.2):

* :class:`TinyTransformer` — decoder-only, pre-RMSNorm, causal multi-head attention, SwiGLU MLP, a final
  RMSNorm; positional encoding optional (Z24 use none);
* :class:`ContextMLP` — an MLP on the concatenated token embeddings (Z24's MLP baseline);
* :class:`ContextLSTM` — an LSTM read left to right.

:func:`train_model` trains any of them on :class:`~ntpbook_lib.data.NTPData` over its distinct contexts and
records the metrics of :func:`ntpbook_lib.geometry.geometry_metrics`, the same as :func:`ntpbook_lib.ufm.train_ufm`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import NTPData
from .geometry import GeometryHistory, GeometryReference, check_reference, geometry_record, ufm_reference
from .loop import Optimizer, check_extra, check_optimizer, check_schedule, make_optimizer, recorded_loop
from .runtime import MAX_STEPS, MAX_THREADS, cpu_threads, schedule
from .validation import (
    check_betas,
    check_bool,
    check_data,
    check_device,
    check_dtype,
    check_generator,
    check_int,
    check_memory,
    check_real,
    check_tokens,
)

__all__ = ["NTPNetwork", "TinyTransformer", "ContextMLP", "ContextLSTM", "train_model"]


class NTPNetwork(nn.Module):
    """A next-token predictor ``x̄_j ↦ W h_j``: context embeddings by :meth:`embed`, a bias-free decoder ``W``."""

    def __init__(self, V: int, d: int) -> None:
        super().__init__()
        V, d = check_int(V, "V", minimum=2, maximum=MAX_STEPS), check_int(d, "d", minimum=1, maximum=MAX_STEPS)
        check_memory(4.0 * 2 * V * d, f"the V×d = {V}×{d} token embeddings and decoder")
        self.V, self.d = V, d
        self.decoder = nn.Linear(d, V, bias=False)

    @property
    def W(self) -> torch.Tensor:
        """The decoder (word embeddings as rows), V×d."""
        return self.decoder.weight

    def check_contexts(self, x: torch.Tensor) -> torch.Tensor:
        """The contexts of a forward pass: a non-empty m×t tensor of any integer dtype with tokens in ``[0, V)``,
        returned as int64 (``TypeError`` for anything but a tensor, ``ValueError`` otherwise, naming
        ``contexts``).  Never modified; integer tensors carry no autograd graph."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"contexts must be an m×t integer torch tensor (torch.as_tensor(...) of token ids), "
                            f"got {type(x).__name__}")
        if x.device.type == "meta":
            raise ValueError("contexts are a tensor on the meta device, which holds a shape and no token ids")
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise ValueError(f"contexts must be an m×t integer tensor of token ids, got dtype {x.dtype}")
        if x.ndim != 2 or x.shape[1] < 1:
            raise ValueError(f"contexts must be an m×t integer tensor with t ≥ 1, got shape {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError(f"contexts are an empty batch (shape {tuple(x.shape)}): give at least one context")
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi >= self.V:
            raise ValueError(f"contexts: tokens must lie in [0, V={self.V}), found {lo}..{hi}")
        return x.to(torch.int64)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Context embeddings ``h_j`` as rows, m×d."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``ℓ_j = W h_j`` as rows, m×V."""
        return self.decoder(self.embed(x))

    def init_parameters(self, generator: torch.Generator) -> "NTPNetwork":
        """Draw every weight matrix i.i.d. ``N(0, 1/fan_in)`` from ``generator``; vectors: norms 1, biases 0."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.ndim >= 2:
                    std = p.shape[1] ** -0.5
                    p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * std)
                elif "norm" in name:
                    p.fill_(1.0)
                else:
                    p.zero_()
        return self


class _SwiGLU(nn.Module):
    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.gate, self.up, self.down = nn.Linear(d, hidden, bias=False), nn.Linear(d, hidden, bias=False), \
            nn.Linear(hidden, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class _Block(nn.Module):
    """Pre-norm block: ``x + Attn(norm(x))``, then ``x + SwiGLU(norm(x))``."""

    def __init__(self, d: int, n_heads: int, head_dim: int, mlp_hidden: int) -> None:
        super().__init__()
        self.n_heads, self.head_dim = n_heads, head_dim
        self.norm1, self.norm2 = nn.RMSNorm(d), nn.RMSNorm(d)
        self.qkv = nn.Linear(d, 3 * n_heads * head_dim, bias=False)
        self.proj = nn.Linear(n_heads * head_dim, d, bias=False)
        self.mlp = _SwiGLU(d, mlp_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, t, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(m, t, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # position i attends to 0..i
        x = x + self.proj(a.transpose(1, 2).reshape(m, t, -1))
        return x + self.mlp(self.norm2(x))


class TinyTransformer(NTPNetwork):
    """Decoder-only transformer (Z24 §5.2): pre-RMSNorm, causal attention, SwiGLU MLP, final RMSNorm.

    ``h_j`` is the final normalised hidden state at the last position; ``positional=True`` adds learned
    absolute position embeddings for up to ``max_len`` positions (Z24 train without).  Z24's size:
    ``d=128, n_layers=4, n_heads=6``.
    """

    def __init__(self, V: int, d: int = 64, n_layers: int = 2, n_heads: int = 4, *, head_dim: int | None = None,
                 mlp_hidden: int | None = None, positional: bool = False, max_len: int = 64,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(V, d)
        V, d = self.V, self.d
        n_layers = check_int(n_layers, "n_layers", minimum=1, maximum=MAX_STEPS)
        n_heads = check_int(n_heads, "n_heads", minimum=1, maximum=MAX_STEPS)
        head_dim = max(1, d // n_heads) if head_dim is None else check_int(head_dim, "head_dim", minimum=1,
                                                                           maximum=MAX_STEPS)
        mlp_hidden = 4 * d if mlp_hidden is None else check_int(mlp_hidden, "mlp_hidden", minimum=1,
                                                                maximum=MAX_STEPS)
        positional = check_bool(positional, "positional")
        max_len = check_int(max_len, "max_len", minimum=1, maximum=MAX_STEPS)
        generator = None if generator is None else check_generator(generator)
        per_layer = 4 * n_heads * head_dim * d + 3 * d * mlp_hidden
        check_memory(4.0 * (n_layers * per_layer + (max_len * d if positional else 0)),
                     f"a transformer with {n_layers} layers of width d = {d}")
        self.token = nn.Embedding(V, d)
        self.position = nn.Embedding(max_len, d) if positional else None
        self.max_len = int(max_len)
        self.blocks = nn.ModuleList(_Block(d, n_heads, head_dim, mlp_hidden) for _ in range(n_layers))
        self.norm = nn.RMSNorm(d)
        self.init_parameters(torch.Generator().manual_seed(0) if generator is None else generator)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Final normalised hidden states at every position, m×t×d."""
        x = self.check_contexts(x)
        h = self.token(x)
        if self.position is not None:
            if x.shape[1] > self.max_len:
                raise ValueError(f"contexts of length {x.shape[1]} exceed max_len={self.max_len}")
            h = h + self.position(torch.arange(x.shape[1], device=x.device))
        for block in self.blocks:
            h = block(h)
        return self.norm(h)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``h_j``: the final normalised hidden state at the last position, m×d."""
        return self.states(x)[:, -1]


class ContextMLP(NTPNetwork):
    """An MLP on the concatenated embeddings of the t context tokens, then RMSNorm (Z24's MLP baseline)."""

    def __init__(self, V: int, t: int, d: int = 64, n_layers: int = 2, *, embed_dim: int | None = None,
                 hidden: int | None = None, generator: torch.Generator | None = None) -> None:
        super().__init__(V, d)
        V, d = self.V, self.d
        t = check_int(t, "t", minimum=1, maximum=MAX_STEPS)
        n_layers = check_int(n_layers, "n_layers", minimum=1, maximum=MAX_STEPS)
        e = d if embed_dim is None else check_int(embed_dim, "embed_dim", minimum=1, maximum=MAX_STEPS)
        hid = 4 * d if hidden is None else check_int(hidden, "hidden", minimum=1, maximum=MAX_STEPS)
        generator = None if generator is None else check_generator(generator)
        check_memory(4.0 * (V * e + t * e * hid + (n_layers - 1) * hid * hid + hid * d),
                     f"an MLP on t·e = {t}·{e} inputs with {n_layers} layers of width {hid}")
        self.t = t
        self.token = nn.Embedding(V, e)
        sizes = [t * e] + [hid] * (n_layers - 1) + [d]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.norm = nn.RMSNorm(d)
        self.init_parameters(torch.Generator().manual_seed(0) if generator is None else generator)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check_contexts(x)
        if x.shape[1] != self.t:
            raise ValueError(f"this MLP reads contexts of t={self.t} tokens, got length {x.shape[1]}")
        h = self.token(x).flatten(1)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = F.gelu(h)
        return self.norm(h)


class ContextLSTM(NTPNetwork):
    """An LSTM read left to right; ``h_j`` is its last output, RMS-normalised."""

    def __init__(self, V: int, d: int = 64, n_layers: int = 1, *, generator: torch.Generator | None = None) -> None:
        super().__init__(V, d)
        V, d = self.V, self.d
        n_layers = check_int(n_layers, "n_layers", minimum=1, maximum=MAX_STEPS)
        generator = None if generator is None else check_generator(generator)
        check_memory(4.0 * 8 * n_layers * d * (d + 1), f"an LSTM with {n_layers} layers of width d = {d}")
        self.token = nn.Embedding(V, d)
        self.lstm = nn.LSTM(d, d, num_layers=n_layers, batch_first=True)
        self.norm = nn.RMSNorm(d)
        self.init_parameters(torch.Generator().manual_seed(0) if generator is None else generator)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.check_contexts(x)
        out, _ = self.lstm(self.token(x))
        return self.norm(out[:, -1])


def _check_inputs(model: nn.Module, data: NTPData, contexts: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an NTPNetwork (TinyTransformer, ContextMLP, ContextLSTM), "
                        f"got {type(model).__name__}")
    data = check_data(data)
    X = check_tokens(contexts, "contexts", ndim=2, V=data.V)
    if X.shape[0] != data.m:
        raise ValueError(f"contexts must be an m×t array with one row per distinct context (m={data.m}), "
                         f"got shape {X.shape}")
    out = getattr(getattr(model, "decoder", None), "out_features", None)
    if not isinstance(model, NTPNetwork) or out != data.V:
        raise ValueError(f"the model's output size must be V={data.V} (an NTPNetwork with a V×d decoder), "
                         f"got {out}")
    return X


def _snapshot(model: NTPNetwork, X: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(W, H)`` in float64: the decoder (V×d) and the context embeddings (d×m)."""
    with torch.no_grad():
        H = model.embed(X).T
        W = model.W
        if not (bool(torch.isfinite(W).all()) and bool(torch.isfinite(H).all())):
            raise ValueError("the network's weights or embeddings overflowed during training: lr is too large "
                             "for this problem")
        return (W.detach().cpu().numpy().astype(np.float64), H.cpu().numpy().astype(np.float64))


def train_model(model: NTPNetwork, data: NTPData, contexts: np.ndarray | Sequence[Sequence[int]],
                optimizer: str | Optimizer = "adamw", lr: float = 1e-3, steps: int = 1000, *,
                weight_decay: float = 1e-6, betas: tuple[float, float] = (0.9, 0.999), batch_size: int | None = None,
                n_records: int = 60, snapshots: Sequence[int] = (), ref: GeometryReference | None = None,
                extra: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
                device: str = "cpu", dtype: torch.dtype = torch.float32, generator: torch.Generator | None = None,
                num_threads: int | None = 1, progress: bool = False) -> GeometryHistory:
    """Train a network on the NTP loss over distinct contexts, ``CE = −Σ_j π̂_j Σ_z p̂_{j,z} log softmax_z(W h_j)``.

    The library's one training loop (:func:`ntpbook_lib.loop.recorded_loop`) records
    :func:`~ntpbook_lib.geometry.geometry_metrics` of ``(W, H)`` on a log-spaced schedule and ``(W, H)`` at
    ``snapshots``.  The model is moved to ``device`` and ``dtype`` in place.

    Parameters
    ----------
    model : NTPNetwork
        A :class:`TinyTransformer`, :class:`ContextMLP` or :class:`ContextLSTM` with output size V.
    data : NTPData
        The training data.
    contexts : array_like
        m×t token ids, one row per distinct context of ``data``.
    optimizer : str or callable, optional
        ``"adamw"`` (weight decay decoupled, as in Z24), ``"adam"``, ``"gd"`` (alias ``"sgd"``), ``"ngd"``
        (weight decay added to the gradient), or any factory ``f(params, lr) -> torch.optim.Optimizer``.
    lr : float, optional
        The learning rate.
    steps : int, optional
        The number of steps.
    weight_decay : float, optional
        Passed to the named optimizers.
    betas : tuple of float, optional
        Adam's ``(β₁, β₂)``.
    batch_size : int, optional
        With it, each step uses ``batch_size`` contexts drawn from ``generator``, the loss reweighted to stay
        unbiased; full batch without.
    n_records : int, optional
        About this many log-spaced steps are recorded.
    snapshots : sequence of int, optional
        Steps at which ``(W, H)`` is kept.
    ref : GeometryReference, optional
        :func:`~ntpbook_lib.geometry.ufm_reference` ``(data)``, computed when not given.
    extra : mapping of str to callable, optional
        Further metrics ``f(W, H) -> float`` of the decoder and the context embeddings (float64 NumPy, V×d and
        d×m), recorded at the same steps into ``history.extra[name]``.
    device : str or torch.device, optional
        The torch device; one that is unknown or not available here (``"cuda"`` without CUDA, ``"cuda:7"`` on a
        machine with fewer GPUs, ``"meta"``) is a ``ValueError`` before any work.
    dtype : torch.dtype, optional
        The precision of the model: ``torch.float32`` or ``torch.float64``; half precision is refused
        (:func:`~ntpbook_lib.validation.check_dtype` says why: Adam's ε underflows in float16).
    generator : torch.Generator, optional
        Draws the minibatches (seed 0 when not given).
    num_threads : int or None, optional
        torch's and BLAS's CPU threads during training (1 is fastest on these small problems, and by far when
        cores are shared), restored afterwards; ``None`` leaves them alone.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    GeometryHistory
        The recorded metrics, snapshots, extra values, final ``(W, H)`` and the loop's time.
    """
    X_np = _check_inputs(model, data, contexts)
    steps, n_records, snapshots = check_schedule(steps, n_records, snapshots)
    lr = check_real(lr, "lr", positive=True)
    weight_decay = check_real(weight_decay, "weight_decay", nonnegative=True)
    legacy_sgd = optimizer == "sgd"
    optimizer = check_optimizer(optimizer, ("adamw", "adam", "gd", "ngd"), "optimizer", aliases={"sgd": "gd"})
    betas = check_betas(betas)
    m = data.m
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=m)
    if ref is not None:
        check_reference(ref, data)
    extra = check_extra(extra)
    device, dtype = check_device(device), check_dtype(dtype)
    top = float(torch.finfo(dtype).max)
    if lr > top or lr * weight_decay > top:
        raise ValueError(f"lr = {lr:g} (and lr · weight_decay = {lr * weight_decay:g}) must lie within the range "
                         f"of {dtype} (at most {top:.3g}): the optimizer multiplies the {dtype} parameters by them")
    if generator is not None:
        generator = check_generator(generator)
    if num_threads is not None:
        num_threads = check_int(num_threads, "num_threads", minimum=1, maximum=MAX_THREADS)
    progress = check_bool(progress, "progress")
    ref = ufm_reference(data) if ref is None else ref
    with cpu_threads(num_threads):
        model.to(device=device, dtype=dtype)
        kw = dict(dtype=dtype, device=device)
        X = torch.as_tensor(X_np, device=device)
        PT, pi = torch.tensor(data.P.T, **kw), torch.tensor(data.pi, **kw)  # m×V targets, (m,) weights
        opt, name = make_optimizer(optimizer, list(model.parameters()), lr, betas=betas, weight_decay=weight_decay)
        name = "sgd" if legacy_sgd else name
        gen = generator if generator is not None else torch.Generator(device=device).manual_seed(0)

        def step(k: int) -> None:
            model.train()
            if batch_size is None:
                logq = torch.log_softmax(model(X), dim=1)
                loss = -(pi * (PT * logq).sum(dim=1)).sum()
            else:
                b = torch.randperm(m, generator=gen, device=gen.device)[:batch_size].to(device)
                logq = torch.log_softmax(model(X[b]), dim=1)
                loss = -(pi[b] * (PT[b] * logq).sum(dim=1)).sum() * (m / batch_size)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        def state(k: int) -> tuple[np.ndarray, np.ndarray]:
            model.eval()
            return _snapshot(model, X)

        run = recorded_loop(step, state, lambda W, H: geometry_record(W, H, data, ref), steps=steps,
                            record=schedule(steps, n_records), snapshots=snapshots, extra=extra,
                            progress=progress, desc=f"{type(model).__name__} {name}")
    return GeometryHistory.from_records(f"{type(model).__name__} {name}", run.steps, run.rows, *run.state,
                                        run.snapshots, run.seconds, run.extra)
