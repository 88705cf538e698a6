"""Counting (context, next token) pairs: NTPData.from_tokens against polars (eager and lazy), duckdb,
``np.unique(axis=0)`` and a ``collections.Counter`` loop, and against its lower bound, one ``np.sort`` of the
window keys.

Every side builds the same objects from the same stream: the sparse V×m ``P`` (counts over column sums), ``S``
and ``π̂``.  Each runs in a fresh process (bench.harness) and reports its time, its peak resident memory
(``ru_maxrss``) and a digest of ``P``, ``S`` and ``π̂`` with the columns put in lexicographic order of the
contexts (outside the timing), so equality with ``from_tokens`` is checked bit for bit on every size.  The lower
bound is timed in the library's process: one ``np.sort`` of n int64 keys, the first 63 bits of each window
(all of it when it fits), which any sort-based count must at least do.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import scipy.sparse as sp

from . import harness


def zipf_tokens(N: int, V: int) -> np.ndarray:
    """N i.i.d. Zipf(1.2) tokens folded into [V] (the same stream for a given N)."""
    return (np.random.default_rng(N).zipf(1.2, size=N) - 1) % V


def _build(z: np.ndarray, j: np.ndarray, k: np.ndarray, m: int, V: int):
    """Sparse P (counts over column sums), S and π̂ from pair counts: next token z, context index j, count k."""
    colsum = np.bincount(j, weights=k, minlength=m)
    P = sp.csc_array((k / colsum[j], (z, j)), shape=(V, m))
    return P, P > 0, colsum / colsum.sum()


def _digest(P: sp.csc_array, pi: np.ndarray, contexts: np.ndarray) -> str:
    """P, S and π̂ with the columns in lexicographic order of the contexts (m×t), as one hash."""
    order = np.lexsort(contexts.T[::-1]) if contexts.shape[1] else np.arange(contexts.shape[0])
    Q = sp.csc_array(P[:, order])
    Q.sort_indices()
    h = hashlib.sha256()
    for a in (Q.indptr.astype(np.int64), Q.indices.astype(np.int64), Q.data, pi[order], contexts[order]):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _result(t0: float, P, pi, contexts, **extra) -> dict:
    elapsed = time.perf_counter() - t0
    return {"time": elapsed, "m": P.shape[1], "nnz": P.nnz, "digest": _digest(P, pi, contexts), **extra}


def native_count(N: int, t: int, V: int) -> dict:
    """NTPData.from_tokens (best of 2 when short) and, in the same process, one np.sort of the window keys."""
    from ntpbook_lib import NTPData
    from ntpbook_lib.data import _INT64_BITS, _bit_slice, _bits_per_token

    tokens = zipf_tokens(N, V)
    best, out = harness.best_of(lambda: NTPData.from_tokens(tokens, t, V), repeats=2)
    data, contexts = out
    bits = _bits_per_token(V)
    keys = _bit_slice(tokens.astype(np.int64), N - t, None, bits, 0, min((t + 1) * bits, _INT64_BITS))
    sort_time, _ = harness.best_of(lambda: np.sort(keys), repeats=2)
    return {"time": best, "m": data.m, "nnz": data.P_sparse.nnz, "sort": sort_time,
            "digest": _digest(data.P_sparse, data.pi, contexts)}


def _frame(tokens: np.ndarray, t: int) -> dict:
    n = tokens.size - t
    cols = {f"c{i}": tokens[i:i + n] for i in range(t)}
    cols["z"] = tokens[t:]
    return cols


def polars_count(N: int, t: int, V: int, lazy: bool) -> dict:
    """polars: group_by over the t context columns and the next token, distinct contexts numbered by a second
    group_by joined back; then the same sparse P, S, π̂."""
    import polars as pl

    tokens = zipf_tokens(N, V)
    ctx = [f"c{i}" for i in range(t)]
    t0 = time.perf_counter()
    df = pl.DataFrame(_frame(tokens, t))
    q = df.lazy() if lazy else df
    pairs = q.group_by(ctx + ["z"]).len()
    index = pairs.select(ctx).unique().with_row_index("j")
    out = pairs.join(index, on=ctx)
    if lazy:
        out = out.collect()
    m = index.select(pl.len()).collect().item() if lazy else index.height
    z, j, k = (out[c].to_numpy() for c in ("z", "j", "len"))
    P, _, pi = _build(z.astype(np.int64), j.astype(np.int64), k.astype(np.float64), m, V)
    elapsed = time.perf_counter() - t0
    contexts = np.zeros((m, t), dtype=np.int64)  # outside the timing: the context of each column, for the digest
    for i, c in enumerate(ctx):
        contexts[j, i] = out[c].to_numpy()
    return {"time": elapsed, "m": m, "nnz": P.nnz, "digest": _digest(P, pi, contexts)}


def duckdb_count(N: int, t: int, V: int) -> dict:
    """duckdb: GROUP BY ALL over the context columns and the next token, distinct contexts numbered and joined."""
    import duckdb

    tokens = zipf_tokens(N, V)
    ctx = ", ".join(f"c{i}" for i in range(t))
    t0 = time.perf_counter()
    con = duckdb.connect()
    if harness.child_threads():
        con.execute(f"SET threads = {harness.child_threads()}")
    frame = _frame(tokens, t)  # noqa: F841 - duckdb reads the dict of NumPy arrays by its name
    con.register("w", frame)
    res = con.execute(f"""
        WITH p AS (SELECT {ctx}, z, count(*) AS k FROM w GROUP BY ALL),
             c AS (SELECT {ctx}, (row_number() OVER ()) - 1 AS j FROM (SELECT DISTINCT {ctx} FROM p))
        SELECT {ctx}, z, j, k FROM p JOIN c USING ({ctx})""").fetchnumpy()
    j = res["j"].astype(np.int64)
    m = int(j.max()) + 1
    P, _, pi = _build(res["z"].astype(np.int64), j, res["k"].astype(np.float64), m, V)
    elapsed = time.perf_counter() - t0
    contexts = np.zeros((m, t), dtype=np.int64)
    for i in range(t):
        contexts[j, i] = res[f"c{i}"]
    return {"time": elapsed, "m": m, "nnz": P.nnz, "digest": _digest(P, pi, contexts)}


def unique_count(N: int, t: int, V: int) -> dict:
    """np.unique(axis=0) on the n×(t+1) windows (pairs and counts), then on their contexts (column index)."""
    tokens = zipf_tokens(N, V)
    t0 = time.perf_counter()
    windows = np.lib.stride_tricks.sliding_window_view(tokens, t + 1)
    pairs, k = np.unique(windows, axis=0, return_counts=True)
    contexts, j = np.unique(pairs[:, :t], axis=0, return_inverse=True)
    P, _, pi = _build(pairs[:, t], j.ravel(), k.astype(np.float64), contexts.shape[0], V)
    return _result(t0, P, pi, contexts)


def counter_count(N: int, t: int, V: int) -> dict:
    """The Counter loop over (context tuple, next token), then the same sparse P, S, π̂."""
    from collections import Counter

    tokens = zipf_tokens(N, V).tolist()
    t0 = time.perf_counter()
    counts: Counter = Counter()
    for i in range(len(tokens) - t):
        counts[(tuple(tokens[i:i + t]), tokens[i + t])] += 1
    index: dict = {}
    z, j, k = [], [], []
    for (c, nxt), v in counts.items():
        z.append(nxt)
        j.append(index.setdefault(c, len(index)))
        k.append(v)
    P, _, pi = _build(np.array(z), np.array(j), np.array(k, float), len(index), V)
    elapsed = time.perf_counter() - t0
    contexts = np.array(list(index), dtype=np.int64).reshape(len(index), t)
    return {"time": elapsed, "m": P.shape[1], "nnz": P.nnz, "digest": _digest(P, pi, contexts)}


COMPETITORS = [("polars eager", "polars", polars_count, (False,)), ("polars lazy", "polars", polars_count, (True,)),
               ("duckdb", "duckdb", duckdb_count, ()), ("np.unique(axis=0)", "numpy", unique_count, ()),
               ("Counter loop", "collections", counter_count, ())]


HEADLINE = [(10**6, 2000, (6,)), (10**7, 2000, (6,)), (10**6, 50257, (3,))]


def grid(quick: bool, full: bool, headline: bool = False):
    if headline:
        return [(10**5, 2000, (6,))] if quick else HEADLINE
    if quick:
        return [(10**5, 2000, (1, 3, 6, 8))]
    if full:
        return [(N, V, tuple(range(1, 9))) for N in (10**6, 10**7) for V in (2000, 50257)]
    return [(10**6, V, (1, 3, 6, 8)) for V in (2000, 50257)] + [(10**7, V, (6,)) for V in (2000, 50257)]


def run(quick: bool = False, full: bool = False, limit: float = 300.0, headline: bool = False) -> list[dict]:
    """The table, and one summary record per size (for python -m bench's summary)."""
    print(f"i.i.d. Zipf(1.2) tokens over [V]; contexts of length t; every side in a fresh process with "
          f"{harness.threads()} thread(s); {harness.load()}")
    print("time in seconds, peak = the process's ru_maxrss in MiB; ×sort = time / one np.sort of the n window "
          "keys (measured in from_tokens' process); ratio = competitor / from_tokens; ✓ = same P, S, π̂")
    present = {pkg: harness.have(pkg) for pkg in {c[1] for c in COMPETITORS} - {"numpy", "collections"}}
    summary = []
    for N, V, lengths in grid(quick, full, headline):
        for t in lengths:
            ours = harness.run_in_child(native_count, N, t, V, limit=600, label=f"from_tokens-{N}-{V}-{t}")
            if ours.value is None:
                print(f"N={N:.0e} V={V} t={t}: from_tokens failed: {ours.error or 'time limit'}; log {ours.log}")
                continue
            a = ours.value
            print(f"N={N:.0e} V={V:5d} t={t} m={a['m']:8d}: from_tokens {a['time']:7.3f} s (peak {ours.peak_rss_mib:5.0f}), "
                  f"np.sort {a['sort']:6.3f} s -> {a['time'] / a['sort']:5.1f}× sort", flush=True)
            best = None
            for name, pkg, func, extra in COMPETITORS:
                if pkg in present and not present[pkg]:
                    continue
                if func is counter_count and N > 10**6:
                    print(f"    {name:18} not run above 10^6 tokens (15–20 s a size, measured before)")
                    continue
                out = harness.run_in_child(func, N, t, V, *extra, limit=limit, label=f"{name}-{N}-{V}-{t}")
                if out.value is None:
                    why = (f"stopped at {limit:.0f} s, {out.cpu or float('nan'):.0f} s CPU used" if out.timed_out
                           else out.error)
                    print(f"    {name:18} failed: {why}; log tail: {' | '.join(out.tail(2))}", flush=True)
                    if out.timed_out and best is None:
                        best = (f"{name} stopped at the {limit:.0f} s limit: >", limit)
                    continue
                c = out.value
                same = c["digest"] == a["digest"]
                print(f"    {name:18} {c['time']:7.3f} s (peak {out.peak_rss_mib:5.0f})  ratio {c['time'] / a['time']:6.1f}×  "
                      + ("✓" if same else f"DIFFERENT P/S/π̂ (m {c['m']} vs {a['m']}, nnz {c['nnz']} vs {a['nnz']})"),
                      flush=True)
                if same and func is not counter_count and (best is None or c["time"] < best[1]
                                                           or best[0].endswith(">")):
                    best = (name, c["time"])
            summary.append({"solver": "from_tokens", "instance": f"N={N:.0e}, V={V}, t={t}", "time": a["time"],
                            "alternative": best[0] if best else None,
                            "vs_alternative": best[1] / a["time"] if best else None,
                            "bound": "np.sort", "vs_bound": a["time"] / a["sort"]})
    return summary
