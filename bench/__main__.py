"""python -m bench [name ...]: run the named benchmarks (all when none is named)."""

import argparse
import importlib

BENCHMARKS = {
    "tokens": "bench.tokens",  # NTPData.from_tokens against a collections.Counter loop
    "ntp_svm": "bench.ntp_svm",  # the NTP-SVM dual solver against CVXPY (default solver, Clarabel)
    "ntp_svm_logits": "bench.ntp_svm_logits",  # the NTP-SVM★ by ADMM against CVXPY + SCS, and at m = 10^5
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run, of {sorted(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(BENCHMARKS)}")
    for name in args.names or BENCHMARKS:
        print(f"=== {name}")
        importlib.import_module(BENCHMARKS[name]).run(quick=args.quick)


if __name__ == "__main__":
    main()
