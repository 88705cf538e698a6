"""python -m bench [name ...]: run the named benchmarks (all when none is named), then print each solver's ratio to
its strongest alternative and to its lower bound, with one thread and with the machine's default threads."""

import argparse
import importlib
import platform
import time

from . import harness

BENCHMARKS = {
    "tokens": "bench.tokens",  # from_tokens against polars, duckdb, np.unique, a Counter loop; bound: one np.sort
    "ntp_svm": "bench.ntp_svm",  # the NTP-SVM against liblinear (one-hot supports) and CVXPY; bound: HᵀH + Cholesky
    "ntp_svm_logits": "bench.ntp_svm_logits",  # the NTP-SVM★ against CVXPY + SCS; bound: one SVD
    "scale": "bench.scale",  # the NTP-SVM★ on every context of lengths 2..8 of the shipped corpora, log-log plot
    "threads": "bench.threads",  # default threads against one thread, quiet and loaded
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run, of {sorted(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--full", action="store_true", help="every size (t = 1..8 for counting, every scale point)")
    parser.add_argument("--threads", default="both",
                        help="threads of every timed process, both sides alike: a number, 'default' (the machine's "
                             "own, thread variables unset) or 'both' (the tables with 1 thread, then each "
                             "benchmark's headline sizes again with the default; the default)")
    parser.add_argument("--limit", type=float, default=300.0, help="time limit of one competitor's solve, seconds")
    parser.add_argument("--logdir", default=None, help="folder for the solvers' logs (default: a new temporary one)")
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(BENCHMARKS)}")
    if args.threads not in ("both", "default") and not args.threads.isdigit():
        parser.error("--threads takes a number, 'default' or 'both'")
    first = None if args.threads == "default" else 1 if args.threads == "both" else int(args.threads)
    logdir = harness.configure(first, args.logdir)
    start = time.perf_counter()
    print(f"machine: {platform.processor() or platform.machine()}, {_cores()} cores; {harness.load()}; every timed "
          f"solve in a fresh process; logs in {logdir}")
    names = args.names or list(BENCHMARKS)
    results = {}
    for name in names:
        print(f"=== {name} ({harness.threads()} thread(s))", flush=True)
        results[(name, str(harness.threads()))] = importlib.import_module(BENCHMARKS[name]).run(
            quick=args.quick, full=args.full, limit=args.limit)
    if args.threads == "both":
        harness.configure(None)
        for name in names:
            print(f"=== {name}, headline sizes again with the default threads", flush=True)
            results[(name, "default")] = importlib.import_module(BENCHMARKS[name]).run(
                quick=args.quick, full=args.full, limit=args.limit, headline=True)
    summarise(results)
    print(f"whole run: {time.perf_counter() - start:.0f} s; {harness.load()}")


def _ratio(r: dict) -> str:
    if r["vs_alternative"] is None:
        return "—"
    bound = r["alternative"].endswith(">")
    return f"{'>' if bound else ''}{r['vs_alternative']:.3g}× ({r['alternative'].rstrip(' :>')})"


def summarise(results: dict) -> None:
    """Each solver's ratios, as measured in this run (a ratio > 1 against the alternative: ours is faster)."""
    print("\n=== summary: alternative's time / ours (> 1: ours faster), ours / lower bound; each pair from one run")
    print(f"{'threads':8} {'solver':15} {'instance':48} {'vs strongest alternative':44} {'vs lower bound':>20}")
    for (name, threads), records in results.items():
        if name == "threads":
            continue
        for r in records or []:
            print(f"{threads:8} {r['solver']:15} {r['instance'][:48]:48} {_ratio(r):44} "
                  f"{r['vs_bound']:8.3g}× {r['bound']}")
    for (name, threads), records in results.items():
        if name == "threads":
            for r in records:
                print(f"default threads / 1 thread, {r['case']}: {r['quiet']:.2f}× quiet, {r['loaded']:.2f}× loaded")


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()
