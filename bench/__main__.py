"""python -m bench [name ...]: run the named benchmarks (all when none is named)."""

import argparse
import importlib
import platform

from . import harness

BENCHMARKS = {
    "tokens": "bench.tokens",  # NTPData.from_tokens against a collections.Counter loop
    "ntp_svm": "bench.ntp_svm",  # the NTP-SVM dual solver against CVXPY (default solver, Clarabel)
    "ntp_svm_logits": "bench.ntp_svm_logits",  # the NTP-SVM★ against CVXPY + SCS, and at language scale
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run, of {sorted(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP/torch threads of every timed process, both sides alike (default 1)")
    parser.add_argument("--logdir", default=None, help="folder for the solvers' logs (default: a new temporary one)")
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(BENCHMARKS)}")
    logdir = harness.configure(args.threads, args.logdir)
    print(f"machine: {platform.processor() or platform.machine()}, {_cores()} cores; every timed solve in a fresh "
          f"process with {args.threads} thread(s); logs in {logdir}")
    for name in args.names or BENCHMARKS:
        print(f"=== {name}")
        importlib.import_module(BENCHMARKS[name]).run(quick=args.quick)


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()
