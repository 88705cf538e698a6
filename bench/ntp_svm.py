"""The NTP-SVM (T24 Def. 3): ntp_svm's dual solver against CVXPY on the primal QP over W ∈ R^{V×d}.

CVXPY gets the vectorised formulation (sparse selection matrices acting on vec(W H)), not one constraint
per pair, so its modelling overhead is as small as CVXPY allows.  Each CVXPY solve runs in a child process
with a time limit.
"""

from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np
import scipy.sparse as sp

import ntpbook_lib as nl
from ntpbook_lib.separability import _in_support_pairs, _margin_pairs


def _selection(j: np.ndarray, z: np.ndarray, a: np.ndarray, V: int, m: int) -> sp.csr_array:
    """Rows ``vec(L)[z + V j] − vec(L)[a + V j]`` (column-major vec, as cp.vec uses)."""
    rows = np.repeat(np.arange(j.size), 2)
    cols = np.stack([z + V * j, a + V * j], axis=1).ravel()
    vals = np.tile([1.0, -1.0], j.size)
    return sp.csr_array((vals, (rows, cols)), shape=(j.size, V * m))


def _violation(W: np.ndarray, data, H: np.ndarray) -> float:
    """Largest violation of (6a) and (6b)."""
    L = W @ H
    je, ze, ae = _in_support_pairs(data)
    jm, am, vm = _margin_pairs(data)
    eq = np.abs(L[ze, je] - L[ae, je]).max(initial=0.0)
    ineq = np.maximum(0.0, 1.0 - (L[am, jm] - L[vm, jm])).max(initial=0.0)
    return float(max(eq, ineq))


def _cvxpy_child(data, H, solver, queue) -> None:
    import cvxpy as cp

    V, m = data.V, data.m
    E = _selection(*_in_support_pairs(data), V, m)
    jm, am, vm = _margin_pairs(data)
    D = _selection(jm, am, vm, V, m)
    t0 = time.perf_counter()  # modelling and solving, as a user pays them
    W = cp.Variable((V, H.shape[0]))
    vecL = cp.vec(W @ H, order="F")
    cons = [D @ vecL >= 1] + ([E @ vecL == 0] if E.shape[0] else [])
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W)), cons)
    try:
        prob.solve(solver=solver) if solver else prob.solve()
        queue.put((time.perf_counter() - t0, prob.solver_stats.solver_name, W.value))
    except Exception as e:  # noqa: BLE001 - report any solver failure as a row of the table
        queue.put((time.perf_counter() - t0, f"failed: {type(e).__name__}", None))


def in_child(target, args, limit: float):
    """``target(*args, queue)`` in a forked process stopped after ``limit`` seconds: what it put, or None."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    p.join(limit)
    if p.is_alive():
        p.kill()
        p.join()
        return None
    return q.get() if not q.empty() else None


def _cvxpy(data, H, solver, limit):
    return in_child(_cvxpy_child, (data, H, solver), limit)


def _best_cvxpy(data, H, solver, limit):
    """Best of 3 CVXPY runs (modelling and solving, as a user pays them) when one takes under 5 s."""
    best = _cvxpy(data, H, solver, limit)
    if best is not None and best[2] is not None and best[0] < 5.0:
        for _ in range(2):
            out = _cvxpy(data, H, solver, limit)
            best = min(best, out, key=lambda o: o[0]) if out is not None else best
    return best


def run(quick: bool = False) -> None:
    import cvxpy  # noqa: F401 - imported once here, so that the forked solves do not pay for it
    sizes = [(10, 50, 6, 60), (50, 500, 10, 600), (200, 2000, 20, 2100)]
    limit = 60.0 if quick else 120.0
    if quick:
        sizes = sizes[:2]
    print(f"{'V':>4} {'m':>5} {'S_j':>3} {'d':>5} {'solver':>16} {'time [s]':>9} {'½‖W‖²':>14} "
          f"{'max viol.':>9} {'rel. diff':>9} {'ratio':>7}")
    for V, m, s, d in sizes:
        rng = np.random.default_rng(0)
        data = nl.random_ntp_data(V, m, s, rng, max_count=4)
        H = nl.gaussian_embeddings(d, m, rng)
        t_native, repeats = np.inf, 0
        while repeats < 3 and (repeats == 0 or t_native < 5.0):  # best of 3 when a solve is short
            t0 = time.perf_counter()
            W, info = nl.ntp_svm(data, H, return_info=True)
            t_native, repeats = min(t_native, time.perf_counter() - t0), repeats + 1
        obj = 0.5 * float(np.sum(W * W))
        print(f"{V:4d} {m:5d} {s:3d} {d:5d} {'ntp_svm ' + info.method:>16} {t_native:9.3f} {obj:14.8f} "
              f"{_violation(W, data, H):9.1e} {'':>9} {'':>7}", flush=True)
        for solver in (None, "CLARABEL"):
            out = _best_cvxpy(data, H, solver, limit)
            label = f"cvxpy {solver or 'default'}"
            if out is None:
                print(f"{'':22} {label:>16} {'>' + format(limit, '.0f'):>9}  (stopped: time limit)", flush=True)
                continue
            t, name, Wc = out
            if Wc is None:
                print(f"{'':22} {label:>16} {t:9.3f}  ({name})", flush=True)
                continue
            rel = np.linalg.norm(W - Wc) / np.linalg.norm(Wc)
            print(f"{'':22} {label + ' (' + name.lower()[:5] + ')':>16} {t:9.3f} {0.5 * np.sum(Wc * Wc):14.8f} "
                  f"{_violation(Wc, data, H):9.1e} {rel:9.1e} {t / t_native:6.1f}×", flush=True)
