"""CPU against a torch device (``--device cuda``) for the trainers and the NTP-SVM★, at growing sizes.

    python -m bench.gpu_crossover --device cuda     # a table of CPU and device times and their ratio
    python -m bench.gpu_crossover --device cpu --quick   # the same code paths on a CPU, as a smoke run

For each size: ``train_linear`` (T24 §6, full-batch GD with fixed H) and ``train_ufm`` (Z24 Def. 1, GD on W and
H) for a fixed number of steps, and ``ntp_svm_logits`` (ADMM, certified gap 1e-6) on random supports, each
once on the CPU (NumPy/torch, with ``--threads`` threads) and once on the device after one untimed warm-up
call there (CUDA context, kernels).  Everything is float64, as in the library.  The row where the ratio
CPU/device first exceeds 1 is the crossover.  It is meant to finish well under 3 minutes on one GPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import ntpbook_lib as nl
from ntpbook_lib.training import ImplicitBiasReference


def _time(f, device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    f()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def _cases(quick: bool):
    """(name, size label, function of device) for each benchmark and size."""
    rng = np.random.default_rng(0)
    cases = []
    linear = [(10, 50, 60), (128, 2000, 128), (512, 5000, 256)]
    ufm = [(10, 95, 10), (128, 2000, 128), (512, 5000, 256)]
    star = [(104, 400), (128, 2000), (512, 10_000)]
    steps = 100 if quick else 500
    if quick:
        linear, ufm, star = linear[:2], ufm[:2], star[:1]
    for V, m, d in linear:
        data = nl.random_ntp_data(V, m, np.minimum(rng.geometric(0.5, size=m), V - 1), rng, max_count=4)
        H = nl.gaussian_embeddings(d, m, rng)
        ref = ImplicitBiasReference(np.zeros((V, d)), None, None, False)  # the metrics' references are not what is timed
        cases.append((f"train_linear ({steps} GD steps)", f"V={V}, m={m}, d={d}",
                      lambda dev, data=data, H=H, ref=ref: nl.train_linear(data, H, "gd", lr=0.5, steps=steps,
                                                                          n_records=5, ref=ref, device=dev)))
    for V, m, d in ufm:
        data = nl.random_ntp_data(V, m, np.minimum(rng.geometric(0.5, size=m), V - 1), rng, max_count=4)
        ref = nl.ufm_reference(data)  # computed once, outside the timing
        cases.append((f"train_ufm ({steps} GD steps)", f"V={V}, m={m}, d={d}",
                      lambda dev, data=data, d=d, ref=ref: nl.train_ufm(data, d, 1e-4, "gd", lr=0.5, steps=steps,
                                                                       n_records=5, ref=ref,
                                                                       rng=np.random.default_rng(1), device=dev)))
    for V, m in star:
        S = nl.random_supports(V, m, np.minimum(rng.geometric(0.5, size=m), V - 1), rng)
        cases.append(("ntp_svm_logits (gap 1e-6)", f"V={V}, m={m}",
                      lambda dev, S=S: nl.ntp_svm_logits(S, device=None if dev == "cpu" else dev)))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_crossover", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="torch device to compare with the CPU (default cuda)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch and BLAS (default: torch's)")
    parser.add_argument("--quick", action="store_true", help="fewer steps and sizes")
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda needs a CUDA build of torch and a GPU")
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    print(f"CPU: {torch.get_num_threads()} torch threads; device: {name}; float64 throughout")
    print(f"{'benchmark':32} {'size':26} {'CPU [s]':>9} {'device [s]':>10} {'CPU/device':>10}")
    for bench, size, f in _cases(args.quick):
        t_cpu = _time(lambda: f("cpu"), "cpu")
        f(args.device)  # warm-up: context creation, kernel loading
        t_dev = _time(lambda: f(args.device), args.device)
        print(f"{bench:32} {size:26} {t_cpu:9.3f} {t_dev:10.3f} {t_cpu / t_dev:9.2f}×", flush=True)


if __name__ == "__main__":
    main()
