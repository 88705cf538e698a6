"""Trained next-token predictors whose geometry Z24 §5 compares with NTP-UFM and with the NTP-SVM★.

Every network maps a batch of contexts (m×t tokens) to its **context embeddings** ``h_j`` — the final
normalised hidden state at the last position — and multiplies them by a bias-free **decoder** ``W`` (V×d), so
that the logits are ``L = W H`` exactly as in the unconstrained-features model (Z24 §5.2):

* :class:`TinyTransformer` — decoder-only, pre-RMSNorm, causal multi-head attention, SwiGLU MLP, a final
  RMSNorm; positional encoding optional (Z24 use none);
* :class:`ContextMLP` — an MLP on the concatenated token embeddings (Z24's MLP baseline);
* :class:`ContextLSTM` — an LSTM read left to right.

:func:`train_model` trains any of them on :class:`~ntpbook_lib.data.NTPData` over its distinct contexts and
records the metrics of :func:`ntpbook_lib.ufm.geometry_metrics`, the same as :func:`ntpbook_lib.ufm.train_ufm`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import NTPData
from .training import cpu_threads, log_schedule
from .ufm import GeometryHistory, UFMReference, geometry_metrics, ufm_reference

__all__ = ["NTPNetwork", "TinyTransformer", "ContextMLP", "ContextLSTM", "train_model"]


class NTPNetwork(nn.Module):
    """A next-token predictor ``x̄_j ↦ W h_j``: context embeddings by :meth:`embed`, a bias-free decoder ``W``."""

    def __init__(self, V: int, d: int) -> None:
        super().__init__()
        if V < 2 or d < 1:
            raise ValueError(f"need V ≥ 2 and d ≥ 1, got V={V}, d={d}")
        self.V, self.d = int(V), int(d)
        self.decoder = nn.Linear(d, V, bias=False)

    @property
    def W(self) -> torch.Tensor:
        """The decoder (word embeddings as rows), V×d."""
        return self.decoder.weight

    def check_contexts(self, x: torch.Tensor) -> None:
        """ValueError unless x is an m×t integer tensor of tokens in ``[0, V)``."""
        if x.ndim != 2 or x.shape[1] < 1 or x.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"contexts must be an m×t integer tensor, got shape {tuple(x.shape)}, dtype {x.dtype}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.V):
            raise ValueError(f"context tokens must lie in [0, V={self.V}), found {int(x.min())}..{int(x.max())}")

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
        if n_layers < 1 or n_heads < 1:
            raise ValueError(f"need n_layers ≥ 1 and n_heads ≥ 1, got {n_layers} and {n_heads}")
        head_dim = max(1, d // n_heads) if head_dim is None else int(head_dim)
        self.token = nn.Embedding(V, d)
        self.position = nn.Embedding(max_len, d) if positional else None
        self.max_len = int(max_len)
        self.blocks = nn.ModuleList(_Block(d, n_heads, head_dim, mlp_hidden or 4 * d) for _ in range(n_layers))
        self.norm = nn.RMSNorm(d)
        self.init_parameters(torch.Generator().manual_seed(0) if generator is None else generator)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        """Final normalised hidden states at every position, m×t×d."""
        self.check_contexts(x)
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
        if t < 1 or n_layers < 1:
            raise ValueError(f"need t ≥ 1 and n_layers ≥ 1, got t={t}, n_layers={n_layers}")
        self.t = int(t)
        e, hid = embed_dim or d, hidden or 4 * d
        self.token = nn.Embedding(V, e)
        sizes = [t * e] + [hid] * (n_layers - 1) + [d]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.norm = nn.RMSNorm(d)
        self.init_parameters(torch.Generator().manual_seed(0) if generator is None else generator)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.check_contexts(x)
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
        self.token = nn.Embedding(V, d)
        self.lstm = nn.LSTM(d, d, num_layers=n_layers, batch_first=True)
        self.norm = nn.RMSNorm(d)
        self.init_parameters(torch.Generator().manual_seed(0) if generator is None else generator)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        self.check_contexts(x)
        out, _ = self.lstm(self.token(x))
        return self.norm(out[:, -1])


def _check_inputs(model: nn.Module, data: NTPData, contexts: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
    if not isinstance(contexts, np.ndarray) and len({len(c) for c in contexts}) > 1:
        raise ValueError(f"contexts have mismatched lengths {sorted({len(c) for c in contexts})}; "
                         "all must have the same length t")
    X = np.asarray(contexts)
    if X.ndim != 2 or X.shape[0] != data.m:
        raise ValueError(f"contexts must be an m×t array with one row per distinct context (m={data.m}), "
                         f"got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"context tokens must be integers, got dtype {X.dtype}")
    if X.min() < 0 or X.max() >= data.V:
        raise ValueError(f"context tokens must lie in [0, V={data.V}), found {X.min()}..{X.max()}")
    out = getattr(getattr(model, "decoder", None), "out_features", None)
    if not isinstance(model, NTPNetwork) or out != data.V:
        raise ValueError(f"the model's output size must be V={data.V} (an NTPNetwork with a V×d decoder), "
                         f"got {out}")
    return X.astype(np.int64)


def _snapshot(model: NTPNetwork, X: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(W, H)`` in float64: the decoder (V×d) and the context embeddings (d×m)."""
    with torch.no_grad():
        H = model.embed(X).T
        return (model.W.detach().cpu().numpy().astype(np.float64), H.cpu().numpy().astype(np.float64))


def train_model(model: NTPNetwork, data: NTPData, contexts: np.ndarray | Sequence[Sequence[int]],
                steps: int = 1000, lr: float = 1e-3, weight_decay: float = 1e-6, *, optimizer: str = "adamw",
                betas: tuple[float, float] = (0.9, 0.999), batch_size: int | None = None, n_records: int = 60,
                snapshots: Sequence[int] = (),
                ref: UFMReference | None = None, device: str = "cpu", dtype: torch.dtype = torch.float32,
                generator: torch.Generator | None = None, num_threads: int | None = 1,
                progress: bool = True) -> GeometryHistory:
    """Train a network on the NTP loss over distinct contexts, ``CE = −Σ_j π̂_j Σ_z p̂_{j,z} log softmax_z(W h_j)``.

    Full batch by default (``batch_size`` contexts drawn per step from ``generator``, the loss reweighted to stay
    unbiased, otherwise); ``optimizer`` ``"adamw"`` (weight decay decoupled, as in Z24) or ``"sgd"``.  Records
    :func:`~ntpbook_lib.ufm.geometry_metrics` of ``(W, H)`` on a log-spaced schedule and ``(W, H)`` at
    ``snapshots``.  ``num_threads`` sets torch's and BLAS's CPU threads during training (1 is fastest on these
    small problems, and by far when cores are shared) and restores them afterwards; ``None`` leaves them alone.
    The model is moved to ``device`` and ``dtype`` in place.
    """
    X_np = _check_inputs(model, data, contexts)
    if steps < 1 or lr <= 0 or weight_decay < 0:
        raise ValueError(f"need steps ≥ 1, lr > 0 and weight_decay ≥ 0; got {steps}, {lr}, {weight_decay}")
    m = data.m
    if batch_size is not None and not 1 <= batch_size <= m:
        raise ValueError(f"batch_size must lie in 1..m={m}, got {batch_size}")
    ref = ufm_reference(data) if ref is None else ref
    with cpu_threads(num_threads):
        model.to(device=device, dtype=dtype)
        kw = dict(dtype=dtype, device=device)
        X = torch.as_tensor(X_np, device=device)
        PT, pi = torch.tensor(data.P.T, **kw), torch.tensor(data.pi, **kw)  # m×V targets, (m,) weights
        params = list(model.parameters())
        if optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay)
        elif optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
        else:
            raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {optimizer!r}")
        gen = generator if generator is not None else torch.Generator(device=device).manual_seed(0)
        record, snaps = log_schedule(steps, n_records), {int(s) for s in snapshots}
        rows, saved, r = [], {}, 0
        it = range(steps + 1)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc=f"{type(model).__name__} {optimizer}", mininterval=1.0)
        t0 = time.perf_counter()
        for k in it:
            if k == record[r] or k in snaps:
                model.eval()
                W, H = _snapshot(model, X)
                if k in snaps:
                    saved[k] = (W, H)
                if k == record[r]:
                    rows.append(geometry_metrics(W, H, data, ref))
                    r += 1
            if k == steps:
                break
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
        seconds = time.perf_counter() - t0
        W, H = _snapshot(model, X)
    return GeometryHistory.from_records(f"{type(model).__name__} {optimizer}", record, rows, W, H, saved, seconds)
