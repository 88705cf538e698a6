"""Thread robustness: each solver with the machine's default threads against one thread, quiet and loaded.

"default" leaves every thread variable unset in the child (BLAS and torch start one thread per core; the
library's solvers then choose their own counts, ``ntpbook_lib.runtime.solver_threads``); "1" sets them all to 1.
"loaded": while the child runs, the bench keeps one busy process per core spinning (on top of whatever else the
machine runs, whose load average is printed).  Each solve is a fresh process (bench.harness), best of 3 if short.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from . import harness


def _ntp_svm(V: int, m: int, s: int, d: int) -> dict:
    import ntpbook_lib as nl

    rng = np.random.default_rng(0)
    data = nl.random_ntp_data(V, m, s, rng, max_count=4)
    H = nl.gaussian_embeddings(d, m, rng)
    t, _ = harness.best_of(lambda: nl.ntp_svm(data, H))
    return {"time": t}


def _ntp_svm_logits(V: int, m: int) -> dict:
    import ntpbook_lib as nl

    rng = np.random.default_rng(0)
    S = nl.random_supports(V, m, rng.integers(1, 6, m), rng)
    t, _ = harness.best_of(lambda: nl.ntp_svm_logits(S))
    return {"time": t}


def _from_tokens(N: int, t: int, V: int) -> dict:
    from ntpbook_lib import NTPData

    from .tokens import zipf_tokens

    tokens = zipf_tokens(N, V)
    best, _ = harness.best_of(lambda: NTPData.from_tokens(tokens, t, V))
    return {"time": best}


CASES = [("ntp_svm V=200, m=2000, d=2100", _ntp_svm, (200, 2000, 20, 2100)),
         ("ntp_svm V=20, m=300, S_j=1", _ntp_svm, (20, 300, 1, 320)),
         ("ntp_svm_logits V=104, m=400", _ntp_svm_logits, (104, 400)),
         ("from_tokens N=10^6, t=6", _from_tokens, (10**6, 6, 2000))]


def _spinners(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for _ in range(n)]


def run(quick: bool = False, full: bool = False, limit: float = 300.0, headline: bool = False) -> list[dict]:
    if headline:  # this benchmark already compares both settings
        return []
    cores = len(os.sched_getaffinity(0))
    cases = CASES[1:3] if quick else CASES
    saved = harness.threads()
    print(f"{harness.load()}; 'loaded' adds {cores} spinning processes; seconds, best of 3 in a fresh process")
    print(f"{'case':32} {'1 thread':>9} {'default':>9} {'default/1':>9} {'1, loaded':>10} {'default, loaded':>16} "
          f"{'default/1 loaded':>17}")
    summary = []
    try:
        for label, func, args in cases:
            row = {}
            for loaded in (False, True):
                spin = _spinners(cores) if loaded else []
                try:
                    for mode in (1, None):
                        harness.configure(mode)
                        out = harness.run_in_child(func, *args, limit=limit, label=f"threads-{mode}-{loaded}")
                        row[(mode, loaded)] = (out.value["time"] if out.value else limit if out.timed_out
                                               else float("nan"))
                        if out.value is None:
                            print(f"  {label}, threads {mode or 'default'}, {'loaded' if loaded else 'quiet'}: "
                                  + (f"stopped at the {limit:.0f} s limit ({out.cpu or float('nan'):.0f} s CPU used): "
                                     "the ratio below is a lower bound" if out.timed_out else f"failed: {out.error}"),
                                  flush=True)
                finally:
                    for p in spin:
                        p.kill()
                        p.wait()
            q, lo = row[(None, False)] / row[(1, False)], row[(None, True)] / row[(1, True)]
            print(f"{label:32} {row[(1, False)]:9.3f} {row[(None, False)]:9.3f} {q:8.2f}× {row[(1, True)]:10.3f} "
                  f"{row[(None, True)]:16.3f} {lo:16.2f}×", flush=True)
            summary.append({"case": label, "quiet": q, "loaded": lo})
    finally:
        harness.configure(None if saved == "default" else saved)
    return summary
