"""Chapter 5's real-text comparison at an intermediate size: longer training than the chapter can afford.

    python -m bench.ch5_real_text                       # V = 64, t = 2, d = 64, 3 seeds, 2000 steps (CPU, ~15 min)
    python -m bench.ch5_real_text --steps 30000 --device cuda   # towards Z24's step count, on a GPU

Corpus: Carroll's *Alice* shipped with the library (``nl.load_text("alice")``).  Trains the transformer, the
deep MLP, the LSTM (AdamW with β = (0.8, 0.9); lr 1e-2, 1e-2, 2e-2) and NTP-UFM (Adam, lr 0.05): the chapter's settings with the chapter's code
(``ntpbook_lib.language.train_networks``) and writes the final metrics of every run, with the machine and the
versions, to ``ntpbook_lib/data/ch5_real_text.json``, which chapter 5 quotes.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

import ntpbook_lib as nl
from ntpbook_lib.language import run_metrics, train_networks

OUT = Path(nl.__file__).with_name("data") / "ch5_real_text.json"  # package data: chapter 5 reads it, on Colab too


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.ch5_real_text", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--V", type=int, default=64)
    p.add_argument("--t", type=int, default=2)
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=1e-2, help="transformer and MLP")
    p.add_argument("--lstm-lr", type=float, default=2e-2)
    p.add_argument("--betas", type=float, nargs=2, default=(0.8, 0.9))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    lang = nl.text_contexts(nl.load_text("alice"), V=args.V, t=args.t)
    ref = nl.ufm_reference(lang.data, L_mm=nl.ntp_svm_logits(lang.data.S, tol=1e-5))
    t0 = time.perf_counter()
    runs = train_networks(lang, ref, seeds=range(args.seeds), d=args.d, steps=args.steps,
                          lr={"transformer": args.lr, "MLP": args.lr, "LSTM": args.lstm_lr}, betas=tuple(args.betas),
                          device=args.device)
    rows = [{"model": k, "seed": s, **run_metrics(h, lang.data.S),
             "record_steps": [int(k) for k in h.steps], "record_excess": [float(x) for x in h.excess]}
            for (k, s), h in runs.items()]
    for r in rows:
        print(f"{r['model']:>12} seed {r['seed']}: CE−H {r['excess']:.3g}, cos(L,Lmm) {r['cos_mm']:.3f}, "
              f"sim H theory {r['sim_H_theory']:.3f}, gram {r['sim_H_gram']:.3f}, factor {r['sim_H_factor']:.3f}")
    shown = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("--out")]
    result = {"command": " ".join(["python -m bench.ch5_real_text", *shown]),
              "settings": {k: v for k, v in vars(args).items() if k != "out"}, "m": lang.data.m, "seconds": time.perf_counter() - t0,
              "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread",
              "date": time.strftime("%Y-%m-%d"), "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
