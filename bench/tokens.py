"""Building (P, S, π̂) from a token stream: NTPData.from_tokens against a plain Counter loop."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import scipy.sparse as sp

from ntpbook_lib import NTPData


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


def _time(f, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def run(quick: bool = False) -> None:
    V = 2000
    rng = np.random.default_rng(0)
    sizes = [(10**5, range(1, 7))] if quick else [(10**6, range(1, 7)), (10**7, (1, 3, 6))]
    print(f"i.i.d. Zipf(1.2) tokens over V = {V}; contexts of length t; best of repeats, seconds")
    print(f"{'N':>9} {'t':>2} {'m':>9} {'from_tokens':>12} {'Counter':>9} {'tokens/s (ours)':>16} {'ratio':>7}")
    for N, lengths in sizes:
        tokens = (rng.zipf(1.2, size=N) - 1) % V
        as_list = tokens.tolist()
        for t in lengths:
            data, _ = NTPData.from_tokens(tokens, t, V)
            ours = _time(lambda: (lambda d: (d.P_sparse, d.P_sparse > 0, d.pi))(NTPData.from_tokens(tokens, t, V)[0]), 3)
            P, _, pi = counter_baseline(as_list, t, V)
            assert P.shape[1] == data.m and abs(pi.max() - data.pi.max()) < 1e-12
            base = _time(lambda: counter_baseline(as_list, t, V), 1)
            print(f"{N:>9} {t:>2} {data.m:>9} {ours:>12.3f} {base:>9.2f} {N / ours:>16.3g} {base / ours:>6.1f}x")
