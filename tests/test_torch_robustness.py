"""The torch side holds: every case of the torch sweep (tests/torch_sweep.py: devices, dtypes, tensors of every
kind, the caller's tensors left as they were, extreme sizes) is a right answer or a clean error, in spawned
workers with a time limit and a memory cap; the memory estimates of the schedule and of the trainers are
measured against the real peak; the torch-boundary checkers say what they refuse."""

import ctypes
import gc
import pathlib
import sys
import tracemalloc

import numpy as np
import pytest
import torch

import ntpbook_lib as nl
from ntpbook_lib.loop import check_params, check_record, training_bytes
from ntpbook_lib.runtime import check_schedule_size, schedule, schedule_bytes
from ntpbook_lib.validation import check_device, check_dtype, check_tensor, tensor_as_numpy

from fuzz_support import covers

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import torch_sweep  # noqa: E402

SWEPT = ("train_linear", "train_ufm", "train_model", "ntp_svm_logits", "small_problem_threads", "log_schedule",
         "cpu_threads", "implicit_bias_reference", "alignment", "ntp_svm_norm", "margin_metrics", "matrix_norm",
         "train_minibatch", "newton_schulz", "TinyTransformer", "ContextMLP", "ContextLSTM", "Muon",
         "SteepestDescent", "SignDescent", "ScheduledAdam", "optimizer")


@covers(*SWEPT)
def test_every_case_of_the_torch_sweep_is_a_right_answer_or_a_clean_error():
    rows = torch_sweep.sweep(limit=20.0, cap_gib=4.0)
    assert len(rows) > 250
    bad = [(name, c, note) for name, c, note in rows if c not in torch_sweep.GOOD
           and name not in torch_sweep.NUMPY_SIDE]
    assert not bad, "\n".join(f"[{c}] {name}: {note}" for name, c, note in bad)
    # the NumPy-side scalar checkers decide these; on the torch side they must neither hang, blow up nor
    # change their input
    worst = {"hang", "memory blow-up", "input changed in place", "bad input accepted", "wrong answer"}
    assert not [r for r in rows if r[0] in torch_sweep.NUMPY_SIDE and r[1] in worst]


def test_the_sweep_can_tell_each_class():
    """The classifier itself: a refused valid input, an accepted bad one, a mislabelled error, an in-place change,
    a captured graph, a wrong exception type, a wrong answer."""
    C = torch_sweep.Case

    def inplace(t):
        t.add_(1.0)
        return t.clone()

    cases = [
        (C("refused", lambda: (lambda: 1 / 0, (), {})), "valid input refused"),
        (C("accepted", lambda: (lambda: 1, (), {}), ("x",)), "bad input accepted"),
        (C("named", lambda: (lambda: int("a"), (), {}), ("dtype",)), "error naming the wrong thing"),
        (C("clean", lambda: (lambda: int("a"), (), {}), ("literal",)), "clean error"),
        (C("type", lambda: (lambda: [][1], (), {}), ("x",)), "wrong exception type"),
        (C("inplace", lambda: (inplace, (torch.zeros(2),), {})), "input changed in place"),
        (C("graph", lambda: (lambda t: t * 2, (torch.ones(2, requires_grad=True),), {})), "input changed in place"),
        (C("wrong", lambda: (lambda: 1.0, (), {}), ref=lambda: 2.0), "wrong answer"),
        (C("right", lambda: (lambda: 2.0, (), {}), ref=lambda: 2.0), "right answer"),
    ]
    for case, expected in cases:
        assert torch_sweep.run_case(case)[0] == expected, case.name


@covers("log_schedule")
def test_log_schedule_takes_the_memory_of_its_answer_and_the_estimate_holds():
    assert list(nl.log_schedule(10, 3 * 10**8)) == list(range(11))
    assert list(nl.log_schedule(10, 2**62)) == list(range(11))
    s = nl.log_schedule(5, 1)
    assert list(s) == [0, 1, 5], "the last step is always recorded"
    old = lambda s, n: np.unique(np.r_[0, np.geomspace(1, s, n).round().astype(np.int64), s])  # noqa: E731
    for steps, n in [(10**6, 60), (10**5, 70_000), (10**9, 300_000), (50_000, 10**6)]:
        np.testing.assert_array_equal(schedule(steps, n), old(steps, n))  # the same points, without the memory
    for steps, n in [(10**6, 60), (10**6, 60_000), (10, 3 * 10**8), (10**7, 3 * 10**6), (10**9, 10**6),
                     (2**62, 10**6)]:
        tracemalloc.start()
        try:
            out = schedule(steps, n)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        est = schedule_bytes(steps, n)
        assert out[0] == 0 and out[-1] == steps and np.all(np.diff(out) > 0) and out.size <= min(n, steps) + 1
        assert peak <= est <= 4 * peak + 4 * 2**20, (steps, n, peak, est)
    with pytest.raises(ValueError, match="n_records"):
        check_schedule_size(10, 10**400)
    with pytest.raises(ValueError, match="memory"):
        check_schedule_size(2**62, 2**62)


def _rss(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise OSError(field)


@covers("train_linear", "train_ufm")
def test_the_trainers_memory_estimate_bounds_their_resident_peak():
    """Resident peak of a trainer (Linux: ``VmHWM`` after ``clear_refs``, with large blocks returned to the system
    on free) against :func:`training_bytes`, on a few sizes: never below, at most 3× above."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pytest.skip("needs Linux's /proc/self/clear_refs and glibc")
    libc.mallopt(-3, 1 << 17)  # M_MMAP_THRESHOLD: large blocks by mmap, unmapped when freed
    from ntpbook_lib.separability import DataSubspace
    from ntpbook_lib.training import ImplicitBiasReference

    rng = np.random.default_rng(0)
    warm = nl.random_ntp_data(20, 10, 2, rng, max_count=3)
    nl.train_linear(warm, rng.standard_normal((3, 10)), steps=1, n_records=1)
    nl.train_ufm(warm, 3, steps=1, n_records=1, rng=rng)
    ratios = []
    for V, m, d in [(800, 400, 16), (1600, 800, 8)]:
        data = nl.random_ntp_data(V, m, 2, rng, max_count=3)
        H = rng.standard_normal((d, m))
        lin_ref = ImplicitBiasReference(np.zeros((V, d)), None, DataSubspace(data, H), False)
        geo_ref = nl.ufm_reference(data, L_mm=data.S.astype(float))
        for factors, run in ((1, lambda: nl.train_linear(data, H, "adam", 0.1, 2, n_records=2, ref=lin_ref)),
                             (2, lambda: nl.train_ufm(data, d, 1e-3, "adam", 0.1, 2, n_records=2, ref=geo_ref,
                                                      rng=rng))):
            gc.collect()
            libc.malloc_trim(0)
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            base = _rss("VmRSS:")
            run()
            peak = _rss("VmHWM:") - base
            est = training_bytes(V, d, m, torch.float64, factors=factors)
            ratios.append(est / peak)
            assert peak <= est <= 3 * peak, (V, m, d, factors, peak, est)
        del data, H, lin_ref, geo_ref
    print("estimate / measured peak:", [f"{r:.2f}" for r in ratios])


def test_the_torch_boundary_checkers():
    assert check_device("cpu") == "cpu" and check_device(torch.device("cpu", 0)) == "cpu:0"
    assert check_device("meta", compute=False) == "meta"
    for bad in ("meta", "cuda:999", "nonsense"):
        if bad.startswith("cuda") and torch.cuda.is_available() and torch.cuda.device_count() > 999:
            continue
        with pytest.raises(ValueError, match=f"device '{bad}'"):
            check_device(bad)
    for bad in (0, None, 1.5):
        with pytest.raises(TypeError, match="device"):
            check_device(bad)
    assert check_dtype(torch.float32) is torch.float32
    for half in (torch.float16, torch.bfloat16):
        with pytest.raises(ValueError, match="underflows"):
            check_dtype(half)
    with pytest.raises(TypeError, match="dtype"):
        check_dtype("float64")
    b = torch.tensor([[0.1, 2.0]], dtype=torch.bfloat16, requires_grad=True)
    a = tensor_as_numpy(b, "b")
    assert a.dtype == np.float32 and np.array_equal(a, b.detach().float().numpy())
    a[0, 0] = 7.0
    assert float(b.detach()[0, 0]) != 7.0, "a copy: the caller's tensor is not shared"
    with pytest.raises(ValueError, match="x is a tensor on the meta device"):
        tensor_as_numpy(torch.empty(2, device="meta"), "x")
    t = check_tensor(torch.ones(2, requires_grad=True), "G")
    assert not t.requires_grad
    assert check_tensor([[1, 2]], "G").dtype == torch.float64
    assert check_tensor(torch.arange(3), "G").dtype == torch.float64
    with pytest.raises(ValueError, match="G has dtype torch.float16"):
        check_tensor(torch.ones(2, dtype=torch.float16), "G")
    with pytest.raises(ValueError, match="G must be real"):
        check_tensor(torch.ones(2, dtype=torch.complex64), "G")
    with pytest.raises(ValueError, match="2-D"):
        check_tensor(torch.ones(2), "G", ndim=2)
    np.testing.assert_array_equal(check_record([0, 3, 5], 5), [0, 3, 5])
    for bad, word in (([0, 6], "0..steps"), ([0, 3, 3, 5], "increasing"), ([0, 2], "end at"), ([], "at least")):
        with pytest.raises(ValueError, match=word):
            check_record(bad, 5)
    p = torch.zeros(2, requires_grad=True)
    assert check_params([p])[0] is p and check_params(iter([p]))[0] is p
    with pytest.raises(TypeError, match="params"):
        check_params(p)
    with pytest.raises(TypeError, match=r"params\[0\]"):
        check_params([np.zeros(2)])
