"""The NTP-SVM (T24 Def. 3): ntp_svm's dual solver against CVXPY on the primal QP over W ∈ R^{V×d}.

CVXPY gets the vectorised formulation (sparse selection matrices acting on vec(W H)), not one constraint
per pair, so its modelling overhead is as small as CVXPY allows.  Every solve, the library's too, runs in a
fresh process with the same thread caps and a time limit (bench.harness); the CVXPY solvers run verbose, so
their iteration logs are kept.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

import ntpbook_lib as nl
from ntpbook_lib.separability import in_support_pairs, margin_pairs

from . import harness


def selection(j: np.ndarray, z: np.ndarray, a: np.ndarray, V: int, m: int) -> sp.csr_array:
    """Rows ``vec(L)[z + V j] − vec(L)[a + V j]`` (column-major vec, as cp.vec uses)."""
    rows = np.repeat(np.arange(j.size), 2)
    cols = np.stack([z + V * j, a + V * j], axis=1).ravel()
    vals = np.tile([1.0, -1.0], j.size)
    return sp.csr_array((vals, (rows, cols)), shape=(j.size, V * m))


def _violation(W: np.ndarray, data, H: np.ndarray) -> float:
    """Largest violation of (6a) and (6b)."""
    L = W @ H
    je, ze, ae = in_support_pairs(data)
    jm, am, vm = margin_pairs(data)
    eq = np.abs(L[ze, je] - L[ae, je]).max(initial=0.0)
    ineq = np.maximum(0.0, 1.0 - (L[am, jm] - L[vm, jm])).max(initial=0.0)
    return float(max(eq, ineq))


def cvxpy_solve(data, H, solver: str | None) -> dict:
    """CVXPY on the primal QP, timed from building the problem; the solver prints its iterations (verbose)."""
    import cvxpy as cp

    V, m = data.V, data.m
    E = selection(*in_support_pairs(data), V, m)
    jm, am, vm = margin_pairs(data)
    D = selection(jm, am, vm, V, m)
    t0 = time.perf_counter()  # modelling and solving, as a user pays them
    W = cp.Variable((V, H.shape[0]))
    vecL = cp.vec(W @ H, order="F")
    cons = [D @ vecL >= 1] + ([E @ vecL == 0] if E.shape[0] else [])
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W)), cons)
    prob.solve(solver=solver, verbose=True) if solver else prob.solve(verbose=True)
    return {"time": time.perf_counter() - t0, "solver": prob.solver_stats.solver_name, "status": prob.status,
            "iterations": prob.solver_stats.num_iters, "W": W.value}


def native_solve(data, H, repeats: int = 3) -> dict:
    """ntp_svm at its default tolerance; best of ``repeats`` when a solve is short.  In the same process, the lower
    bound: forming ``K = HᵀH`` and one Cholesky factor of it (what any method on the dual in logit space pays)."""
    from scipy.linalg import cho_factor

    t, (W, info) = harness.best_of(lambda: nl.ntp_svm(data, H, return_info=True), repeats)
    with nl.cpu_threads(1):  # the bound on one thread, the fastest setting on shared cores (measured)
        bound, _ = harness.best_of(lambda: cho_factor(H.T @ H), repeats)
    alpha = float(-np.where(data.S == 0, info.C, 0.0).sum(axis=0).max())  # largest multiplier of one context
    return {"time": t, "W": W, "method": info.method, "iterations": info.iterations, "bound": bound,
            "alpha_max": alpha, "violation": _violation(W, data, H),
            "residuals": (info.equality_violation, info.margin_violation, info.complementarity)}


def liblinear_solve(data, H, C: float, tol: float) -> dict:
    """scikit-learn's LinearSVC(multi_class="crammer_singer", fit_intercept=False) (liblinear) on one-hot supports:
    the T24 NTP-SVM is then the Crammer–Singer multiclass SVM without bias, and for C above the largest dual
    multiplier of the hard-margin problem the soft-margin solution is the hard-margin one."""
    import warnings

    from sklearn.svm import LinearSVC

    y = np.asarray(data.P_sparse.argmax(axis=0)).ravel()
    t0 = time.perf_counter()
    clf = LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=C, tol=tol, max_iter=10**6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(H.T, y)
    elapsed = time.perf_counter() - t0
    W = np.zeros((data.V, H.shape[0]))
    W[clf.classes_] = clf.coef_
    return {"time": elapsed, "W": W, "iterations": int(clf.n_iter_), "warnings": [str(w.message)[:80] for w in caught]}


CVXPY_MAX_ENTRIES = 10**5  # V·m above which CVXPY is not run: at V=200, m=2000 it was killed at 23 GiB resident


def run(quick: bool = False, full: bool = False, limit: float = 300.0, headline: bool = False) -> list[dict]:
    """The table, and one summary record per size (``headline``: only one-hot supports and the largest size)."""
    sizes = [(10, 50, 6, 60), (20, 300, 1, 320), (50, 500, 10, 600), (200, 2000, 20, 2100)]
    if headline:
        sizes = [sizes[1]] if quick else [sizes[1], sizes[3]]
    limit = min(limit, 60.0) if quick else limit
    if quick:
        sizes = sizes[:2]
    print(f"threads per process: {harness.threads()}; time limit per solve {limit:.0f} s; {harness.load()}")
    print("lower bound: forming K = HᵀH and one Cholesky factor, timed in ntp_svm's process; S_j = 1 is one-hot "
          "supports, where liblinear's Crammer–Singer solver applies")
    summary = []
    print(f"{'V':>4} {'m':>5} {'S_j':>3} {'d':>5} {'solver':>18} {'time [s]':>9} {'½‖W‖²':>14} "
          f"{'max viol.':>9} {'rel. diff':>9} {'ratio':>7}")
    for V, m, s, d in sizes:
        rng = np.random.default_rng(0)
        data = nl.random_ntp_data(V, m, s, rng, max_count=4)
        H = nl.gaussian_embeddings(d, m, rng)
        out = harness.run_in_child(native_solve, data, H, limit=limit, label=f"ntp_svm-{V}")
        if out.value is None:
            print(f"{V:4d} {m:5d} {s:3d} {d:5d} ntp_svm failed: {out.error or 'time limit'}; log {out.log}")
            continue
        n = out.value
        W, t_native = n["W"], n["time"]
        obj = 0.5 * float(np.sum(W * W))
        print(f"{V:4d} {m:5d} {s:3d} {d:5d} {'ntp_svm ' + n['method']:>18} {t_native:9.3f} {obj:14.8f} "
              f"{n['violation']:9.1e} {'':>9} {'':>7}   ({n['iterations']} it.; HᵀH + Cholesky {n['bound']:.4f} s: "
              f"{t_native / n['bound']:.1f}× the bound)", flush=True)
        best = None
        if s == 1 and harness.have("sklearn"):
            C = 10.0 * n["alpha_max"]  # above every hard-margin multiplier: the soft-margin optimum is the hard one
            for tol in (1e-4, 1e-8):  # scikit-learn's default, and one whose W agrees with ntp_svm's to ~1e-10
                lo = harness.best_child(liblinear_solve, data, H, C, tol, limit=limit, label=f"liblinear-{tol}")
                if lo.value is None:
                    print(f"{'':22} liblinear failed: {lo.error or 'time limit'}; log {lo.log}")
                    continue
                r = lo.value
                cos = float(np.sum(W * r["W"]) / np.linalg.norm(W) / np.linalg.norm(r["W"]))
                rel = np.linalg.norm(W - r["W"]) / np.linalg.norm(W)
                label = f"liblinear tol {tol:g}"
                print(f"{'':22} {label:>18} {r['time']:9.3f} {0.5 * np.sum(r['W'] ** 2):14.8f} "
                      f"{_violation(r['W'], data, H):9.1e} {rel:9.1e} {r['time'] / t_native:6.2f}×   (C = {C:.3g}, "
                      f"{r['iterations']} it., cosine {cos:.10f})" + (f" warning: {r['warnings'][0]}" if r["warnings"]
                                                                         else ""), flush=True)
                if rel < 1e-6 and (best is None or r["time"] < best[1]):
                    best = (f"liblinear (tol {tol:g})", r["time"])
        for solver in (None, "CLARABEL"):
            if V * m > CVXPY_MAX_ENTRIES:
                print(f"{'':22} CVXPY {solver or 'default'}: not run (V·m > {CVXPY_MAX_ENTRIES:.0e}: killed by the "
                      f"out-of-memory killer at 23 GiB while building the problem at V=200, m=2000, measured before)")
                continue
            label = f"cvxpy {solver or 'default'}"
            out = harness.best_child(cvxpy_solve, data, H, solver, limit=limit, label=f"{label}-{V}")
            if out.timed_out:
                tail = "\n".join("      | " + ln for ln in out.tail(4))
                print(f"{'':22} {label:>18} {'>' + format(limit, '.0f'):>9}  stopped at the time limit (ratio > "
                      f"{limit / t_native:.0f}×; it had used {out.cpu or float('nan'):.0f} s of CPU); the last lines "
                      f"of its log ({out.log}):\n{tail}", flush=True)
                if best is None:
                    best = (f"{label} stopped at the {limit:.0f} s limit: >", limit)
                continue
            if out.value is None or out.value["W"] is None:
                why = out.error or out.value["status"]
                tail = "\n".join("      | " + ln for ln in out.tail(3))
                print(f"{'':22} {label:>18}  failed: {why}; the last lines of its log ({out.log}):\n{tail}",
                      flush=True)
                continue
            r = out.value
            Wc = r["W"]
            rel = np.linalg.norm(W - Wc) / np.linalg.norm(Wc)
            print(f"{'':22} {label + ' (' + r['solver'].lower()[:8] + ')':>18} {r['time']:9.3f} "
                  f"{0.5 * np.sum(Wc * Wc):14.8f} {_violation(Wc, data, H):9.1e} {rel:9.1e} "
                  f"{r['time'] / t_native:6.1f}×   ({r['iterations']} it., {r['status']})", flush=True)
            if rel < 1e-4 and (best is None or r["time"] < best[1]):
                best = (f"CVXPY {r['solver']}", r["time"])
        summary.append({"solver": "ntp_svm", "instance": f"V={V}, m={m}, S_j={s}, d={d}", "time": t_native,
                        "alternative": best[0] if best else None,
                        "vs_alternative": best[1] / t_native if best else None,
                        "bound": "HᵀH + Cholesky", "vs_bound": t_native / n["bound"]})
    return summary
