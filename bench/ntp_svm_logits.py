"""The NTP-SVM★ (Z24 Def. 3): ntp_svm_logits (ADMM + SVT) against CVXPY + SCS on the same SDP.

CVXPY gets the vectorised formulation (sparse selection matrices acting on vec(L)) and SCS, the solver Z24
used, at CVXPY's default accuracy; it is timed from building the problem, in a child process with a time
limit.  The native solver runs at its default tolerance (relative duality gap ≤ 1e-6).  At language scale
(V = 128, m = 10^4 and 10^5) only the native solver runs, with its peak memory.
"""

from __future__ import annotations

import resource
import time

import numpy as np

import ntpbook_lib as nl

from .ntp_svm import _selection, in_child


def _pairs(S: np.ndarray):
    """In-support equalities (j, z, anchor) and margins (j, anchor, v), anchor = first support token."""
    Sb = S > 0
    anchor = np.argmax(Sb, axis=0)
    j, z = np.nonzero(Sb.T)
    keep = z != anchor[j]
    jo, vo = np.nonzero(~Sb.T)
    return (j[keep], z[keep], anchor[j[keep]]), (jo, anchor[jo], vo)


def _violation(L: np.ndarray, S: np.ndarray) -> float:
    (je, ze, ae), (jm, am, vm) = _pairs(S)
    eq = np.abs(L[ze, je] - L[ae, je]).max(initial=0.0)
    return float(max(eq, np.maximum(0.0, 1.0 - (L[am, jm] - L[vm, jm])).max(initial=0.0)))


def _nuc(L: np.ndarray) -> float:
    return float(np.linalg.svd(L, compute_uv=False).sum())


def _scs_child(S: np.ndarray, queue) -> None:
    import cvxpy as cp

    V, m = S.shape
    eqs, margins = _pairs(S)
    E, D = _selection(*eqs, V, m), _selection(*margins, V, m)
    t0 = time.perf_counter()
    L = cp.Variable((V, m))
    vecL = cp.vec(L, order="F")
    cons = [D @ vecL >= 1] + ([E @ vecL == 0] if E.shape[0] else [])
    prob = cp.Problem(cp.Minimize(cp.normNuc(L)), cons)
    try:
        prob.solve(solver=cp.SCS)
        queue.put((time.perf_counter() - t0, L.value))
    except Exception as e:  # noqa: BLE001 - a failed solve is a row of the table
        queue.put((time.perf_counter() - t0, f"failed: {type(e).__name__}"))


def _native_child(S: np.ndarray, queue) -> None:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    L, info = nl.ntp_svm_logits(S, return_info=True)
    t = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((t, info.objective, info.relative_gap, info.iterations, info.distinct_supports,
               _violation(L, S), base / 1024, peak / 1024))


def _instances(quick: bool):
    rng = np.random.default_rng(0)
    out = []
    Su = nl.random_supports(10, 19, rng.integers(2, 6, size=19), rng)
    out.append(("V=10, m=95 (Z24 §4.5: 19 supports × 5)", np.repeat(Su, 5, axis=1)))
    out.append(("V=30, m=16 (Z24 §5.1: S_j = 3)", nl.random_supports(30, 16, 3, rng)))
    out.append(("V=104, m=400 (distinct supports, 1–5)", nl.random_supports(104, 400, rng.integers(1, 6, 400), rng)))
    Su = nl.random_supports(104, 100, rng.integers(1, 6, size=100), rng)
    out.append(("V=104, m=400 (100 supports × 4)", np.repeat(Su, 4, axis=1)))
    return out[:2] if quick else out


def run(quick: bool = False) -> None:
    import cvxpy  # noqa: F401 - imported once, before forking

    limit = 60.0 if quick else 300.0
    print(f"{'instance':42} {'solver':>8} {'time [s]':>9} {'‖L‖_*':>12} {'rel. diff':>9} {'max viol.':>9} "
          f"{'ratio':>8}")
    for name, S in _instances(quick):
        best = None
        for _ in range(3):  # best of 3
            out = in_child(_native_child, (S,), limit)
            best = out if best is None or (out and out[0] < best[0]) else best
        t, obj, gap, iters, distinct, viol, _, _ = best
        print(f"{name:42} {'native':>8} {t:9.3f} {obj:12.6f} {'':>9} {viol:9.1e} {'':>8}   "
              f"(gap {gap:.1e}, {iters} it., {distinct} distinct supports)", flush=True)
        out = in_child(_scs_child, (S,), limit)
        if out is None:
            print(f"{'':42} {'SCS':>8} {'>' + format(limit, '.0f'):>9}  (stopped: time limit; ratio >"
                  f"{limit / t:.0f}×)", flush=True)
            continue
        ts, Ls = out
        if isinstance(Ls, str):
            print(f"{'':42} {'SCS':>8} {ts:9.3f}  ({Ls})", flush=True)
            continue
        o = _nuc(Ls)
        print(f"{'':42} {'SCS':>8} {ts:9.3f} {o:12.6f} {(o - obj) / obj:9.1e} {_violation(Ls, S):9.1e} "
              f"{ts / t:7.1f}×", flush=True)

    _language_scale(quick, limit)


def _language_scale(quick: bool, limit: float) -> None:
    """The native solver alone at V = 128: random supports, and supports repeated with Zipf frequencies."""
    print("\nnative solver alone, V = 128, support sizes 1 + Geometric(1/2) (capped at 20):")
    print(f"{'m':>7} {'supports':>22} {'distinct':>8} {'time [s]':>9} {'iterations':>10} {'rel. gap':>9} "
          f"{'max viol.':>9} {'peak RSS [MiB]':>15}")
    for m, kind in [(10_000, "random"), (100_000, "random"), (100_000, "Zipf over 5000")][:1 if quick else 3]:
        rng = np.random.default_rng(1)
        if kind == "random":
            S = nl.random_supports(128, m, np.minimum(rng.geometric(0.5, size=m), 20), rng)
        else:  # language-like: 5000 support sets, context j draws set r with probability ∝ 1/r
            Su = nl.random_supports(128, 5000, np.minimum(rng.geometric(0.5, size=5000), 20), rng)
            w = 1.0 / np.arange(1, 5001)
            S = Su[:, rng.choice(5000, size=m, p=w / w.sum())]
        out = in_child(_native_child, (S,), limit)
        if out is None:
            print(f"{m:7d} {kind:>22} {'':>8} {'>' + format(limit, '.0f'):>9}  (stopped: time limit)", flush=True)
            continue
        t, obj, gap, iters, distinct, viol, base, peak = out
        print(f"{m:7d} {kind:>22} {distinct:8d} {t:9.1f} {iters:10d} {gap:9.1e} {viol:9.1e} {peak:8.0f} "
              f"(+{peak - base:.0f})", flush=True)
