"""Building (P, S, π̂) from a token stream: NTPData.from_tokens against a plain Counter loop."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import scipy.sparse as sp

from ntpbook_lib import NTPData

from . import harness


def counter_baseline(tokens: list[int], t: int, V: int):
    """The generic way: count (context, next token) pairs in a Python loop, then fill sparse P, S, π̂."""
    counts: Counter = Counter()
    for i in range(len(tokens) - t):
        counts[(tuple(tokens[i:i + t]), tokens[i + t])] += 1
    index: dict = {}
    rows, cols, vals = [], [], []
    for (ctx, z), c in counts.items():
        rows.append(z)
        cols.append(index.setdefault(ctx, len(index)))
        vals.append(c)
    C = sp.csc_array((np.array(vals, float), (np.array(rows), np.array(cols))), shape=(V, len(index)))
    colsum = np.asarray(C.sum(axis=0)).ravel()
    P = C @ sp.diags_array(1 / colsum)
    S = P > 0
    return P, S, colsum / colsum.sum()


def native_count(N: int, t: int, V: int, repeats: int = 3) -> dict:
    """NTPData.from_tokens and the sparse P, S, π̂ it holds; best of ``repeats``."""
    tokens = zipf_tokens(N, V)
    t_best, (data, _) = harness.best_of(lambda: NTPData.from_tokens(tokens, t, V), repeats)
    P = data.P_sparse
    return {"time": t_best, "m": data.m, "nnz": P.nnz, "pi_max": float(data.pi.max()), "P_sum": float(P.sum())}


def counter_count(N: int, t: int, V: int) -> dict:
    """The Counter loop, timed once (it is slow and its time hardly varies)."""
    as_list = zipf_tokens(N, V).tolist()
    t0 = time.perf_counter()
    P, _, pi = counter_baseline(as_list, t, V)
    return {"time": time.perf_counter() - t0, "m": P.shape[1], "nnz": P.nnz, "pi_max": float(pi.max()),
            "P_sum": float(P.sum())}


def zipf_tokens(N: int, V: int) -> np.ndarray:
    """N i.i.d. Zipf(1.2) tokens folded into [V] (the same stream for a given N)."""
    return (np.random.default_rng(N).zipf(1.2, size=N) - 1) % V


def run(quick: bool = False) -> None:
    V = 2000
    sizes = [(10**5, range(1, 9))] if quick else [(10**6, range(1, 9)), (10**7, (1, 3, 6, 8))]
    print(f"i.i.d. Zipf(1.2) tokens over V = {V}; contexts of length t; each side in a fresh process with "
          f"{harness.threads()} thread(s); from_tokens best of 3, Counter once; seconds")
    print(f"{'N':>9} {'t':>2} {'m':>9} {'from_tokens':>12} {'Counter':>9} {'tokens/s (ours)':>16} {'ratio':>7}")
    for N, lengths in sizes:
        for t in lengths:
            ours = harness.run_in_child(native_count, N, t, V, limit=600, label=f"from_tokens-{N}-{t}")
            base = harness.run_in_child(counter_count, N, t, V, limit=600, label=f"counter-{N}-{t}")
            if ours.value is None or base.value is None:
                print(f"{N:>9} {t:>2} failed: {ours.error or base.error or 'time limit'}")
                continue
            a, c = ours.value, base.value
            same = a["m"] == c["m"] and a["nnz"] == c["nnz"] and abs(a["pi_max"] - c["pi_max"]) < 1e-12
            print(f"{N:>9} {t:>2} {a['m']:>9} {a['time']:>12.3f} {c['time']:>9.2f} {N / a['time']:>16.3g} "
                  f"{c['time'] / a['time']:>6.1f}x" + ("" if same else "  (results differ!)"), flush=True)
