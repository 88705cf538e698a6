"""Z24 §5's transformer at the paper's size on the simplified language (and the synthetic sentences).

    python -m bench.paper_size_transformer --device cuda        # ~3·10^4 full-batch AdamW steps
    python -m bench.paper_size_transformer --device cpu --steps 20   # a smoke run

Model: decoder-only, 4 layers, width 128, 6 heads, pre-RMSNorm, SwiGLU MLP, causal attention without positional
encoding; AdamW with lr 1e-4 and weight decay 1e-6, full batch (Z24 §5.2).  Prints the metrics of
``ntpbook_lib.ufm.geometry_metrics`` at a few steps and at the end, beside NTP-UFM trained on the same data.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import ntpbook_lib as nl

COLUMNS = ["excess", "cos_mm", "dist_in", "sim_W_theory", "sim_H_theory", "sim_W_proxy", "sim_H_proxy",
           "norm_W", "norm_H"]


def _rows(h: nl.ufm.GeometryHistory, every: int) -> list[dict]:
    idx = sorted(set(range(0, len(h.steps), every)) | {len(h.steps) - 1})
    return [{"step": int(h.steps[i]), **{c: float(getattr(h, c)[i]) for c in COLUMNS}} for i in idx]


def _print(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"{'step':>7} " + " ".join(f"{c:>12}" for c in COLUMNS))
    for r in rows:
        print(f"{r['step']:>7} " + " ".join(f"{r[c]:12.4g}" for c in COLUMNS))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.paper_size_transformer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=30_000)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=1e-6)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--data", choices=["simplified", "synthetic", "both"], default="simplified")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ufm-steps", type=int, default=20_000, help="NTP-UFM gradient steps for comparison (0: none)")
    args = p.parse_args(argv)
    dtype = getattr(torch, args.dtype)
    sets = {"simplified": lambda: nl.simplified_language(np.random.default_rng(args.seed)),
            "synthetic": lambda: nl.synthetic_sentences(np.random.default_rng(args.seed))}
    names = list(sets) if args.data == "both" else [args.data]
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"device {args.device} ({where}), {args.dtype}, torch {torch.__version__}; transformer "
          f"d={args.width}, {args.layers} layers, {args.heads} heads, AdamW lr={args.lr}, "
          f"wd={args.weight_decay}, {args.steps} full-batch steps")
    summary = []
    for name in names:
        lang = sets[name]()
        t0 = time.perf_counter()
        ref = nl.ufm_reference(lang.data)
        print(f"\n=== {name}: {lang.data}; L^mm in {time.perf_counter() - t0:.1f} s")
        model = nl.TinyTransformer(lang.data.V, d=args.width, n_layers=args.layers, n_heads=args.heads,
                                   generator=torch.Generator().manual_seed(args.seed))
        h = nl.train_model(model, lang.data, lang.contexts, steps=args.steps, lr=args.lr,
                           weight_decay=args.weight_decay, ref=ref, device=args.device, dtype=dtype,
                           num_threads=None if args.device != "cpu" else 1, progress=False, n_records=40)
        _print(f"transformer on {name} ({h.seconds:.1f} s)", _rows(h, 6))
        summary.append({"data": name, "model": "transformer (paper size)", **h.final(), "seconds": h.seconds})
        if args.ufm_steps:
            u = nl.train_ufm(lang.data, d=lang.data.V, weight_decay=1e-6, method="gd", lr=4.0,
                             steps=args.ufm_steps, rng=np.random.default_rng(args.seed), ref=ref,
                             device=args.device)
            summary.append({"data": name, "model": "NTP-UFM", **u.final(), "seconds": u.seconds})
    print("\nfinal metrics")
    print(f"{'data':>11} {'model':>25} " + " ".join(f"{c:>12}" for c in COLUMNS) + f" {'seconds':>8}")
    for r in summary:
        print(f"{r['data']:>11} {r['model']:>25} " + " ".join(f"{r[c]:12.4g}" for c in COLUMNS)
              + f" {r['seconds']:8.1f}")


def run(quick: bool = False) -> None:
    """Entry for ``python -m bench``: a few steps on CPU when quick."""
    main(["--device", "cpu", "--steps", "20", "--ufm-steps", "100"] if quick else [])


if __name__ == "__main__":
    main()
