"""The torch-side robustness sweep: devices, dtypes, tensors of every kind and extreme sizes at every public
torch-facing entry point (trainers, networks, optimizers, margins, the training loop, the runtime helpers and
``ntp_svm_logits``'s device).

Every case runs in a worker process started by ``multiprocessing`` *spawn* (never fork: torch's threads may
hold locks), under an address-space cap, with a time limit; a worker that hangs or dies is replaced.  Each
call is classified:

* ``right answer`` — a valid input answered as the float64/CPU reference answers it;
* ``clean error`` — a bad input refused with ``ValueError``/``TypeError`` whose message names the argument;
* ``error naming the wrong thing`` — ``ValueError``/``TypeError`` whose message does not name it;
* ``wrong exception type`` — any other exception for a bad input;
* ``hang`` — past the time limit;
* ``input changed in place`` — a tensor or array argument differs after the call (or got a ``.grad``);
* ``memory blow-up`` — ``MemoryError``, an allocator failure or a worker killed under the cap;
* ``wrong answer`` — a valid input answered differently from the reference;
* ``valid input refused`` — a valid input raised;
* ``bad input accepted`` — a bad input returned.

``python tests/torch_sweep.py --report`` prints the counts and every case that is not a right answer or a
clean error; ``tests/test_torch_robustness.py`` runs the same cases in CI.
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

CLASSES = ("right answer", "clean error", "error naming the wrong thing", "wrong exception type", "hang",
           "input changed in place", "memory blow-up", "wrong answer", "valid input refused",
           "bad input accepted")
GOOD = {"right answer", "clean error"}
NUMPY_SIDE: set[str] = set()  # cases whose outcome rests on the NumPy-side scalar checkers: none left
OK = "ok"  # the expectation of a valid input
ANY = "any"  # valid or refused cleanly, both fine (a value the policy may reasonably go either way on)


@dataclass
class Case:
    """One call: ``make()`` returns ``(f, args, kwargs)``; ``expect`` is ``OK``, ``ANY`` or the words an error
    message must contain; ``ref()`` returns the reference answer of a valid input (None: any return is right);
    ``rtol`` the tolerance of the comparison; ``mutable`` the argument positions/names the call may change."""

    name: str
    make: Callable[[], tuple]
    expect: Any = OK
    ref: Callable[[], Any] | None = None
    rtol: float = 1e-9
    mutable: tuple = ()
    check: Callable[[Any], bool] | None = None


# ----------------------------------------------------------------------------------- fixtures
_FIX: dict = {}


def _fx():
    """Small data, embeddings, references and a tiny network, built once per worker."""
    if _FIX:
        return _FIX
    import numpy as np
    import torch

    import ntpbook_lib as nl

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    data = nl.random_ntp_data(6, 5, 2, rng, max_count=4)
    other = nl.random_ntp_data(5, 4, 2, np.random.default_rng(1), max_count=4)
    H = rng.standard_normal((7, 5))
    lang = nl.synthetic_sentences(np.random.default_rng(0))
    _FIX.update(np=np, torch=torch, nl=nl, data=data, other=other, H=H, lang=lang,
                ref_lin=nl.implicit_bias_reference(data, H), ref_other_lin=nl.implicit_bias_reference(other, H[:, :4]),
                ref_lin_otherH=nl.implicit_bias_reference(data, 2 * H),
                ref_geo=nl.ufm_reference(data), ref_other_geo=nl.ufm_reference(other),
                ref_lang=nl.ufm_reference(lang.data), W=rng.standard_normal((6, 7)))
    return _FIX


def _tiny(V=30):
    f = _fx()
    return f["nl"].TinyTransformer(V, d=4, n_layers=1, n_heads=2, generator=f["torch"].Generator().manual_seed(0))


def _tensor_variants(base, integer=False, half=OK):
    """``(label, value, float64 reference value, valid?)`` of the same values in the containers a user has."""
    f = _fx()
    np, torch = f["np"], f["torch"]
    t = torch.as_tensor(base)
    out = [("tensor float64", lambda: torch.tensor(base), lambda: base, OK),
           ("tensor float32", lambda: torch.tensor(base, dtype=torch.float32),
            lambda: torch.tensor(base, dtype=torch.float32).double().numpy(), OK),
           ("tensor float16", lambda: torch.tensor(base, dtype=torch.float16),
            lambda: torch.tensor(base, dtype=torch.float16).double().numpy(), half),
           ("tensor bfloat16", lambda: torch.tensor(base, dtype=torch.bfloat16),
            lambda: torch.tensor(base, dtype=torch.bfloat16).double().numpy(), half),
           ("tensor int64", lambda: torch.tensor(np.round(base)).long(), lambda: np.round(base), OK),
           ("tensor complex", lambda: torch.tensor(base, dtype=torch.complex128), None, ("real", "complex")),
           ("tensor requires_grad", lambda: torch.tensor(base, requires_grad=True), lambda: base, OK),
           ("tensor non-contiguous", lambda: torch.tensor(np.ascontiguousarray(base.T)).T, lambda: base, OK),
           ("tensor on meta", lambda: torch.empty(t.shape, dtype=torch.float64, device="meta"), None, ("meta",)),
           ("numpy float32", lambda: base.astype(np.float32), lambda: base.astype(np.float32).astype(np.float64), OK),
           ("list", lambda: base.tolist(), lambda: base, OK)]
    return out


def _same(a, b, rtol):
    """Whether two answers agree: arrays/tensors/floats to ``rtol``, records field by field."""
    f = _fx()
    np, torch = f["np"], f["torch"]
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    if isinstance(b, torch.Tensor):
        b = b.detach().cpu().double().numpy()
    if hasattr(a, "_fields"):
        return all(_same(x, y, rtol) for x, y in zip(a, b))
    if hasattr(a, "__dataclass_fields__"):
        return all(_same(getattr(a, k), getattr(b, k), rtol) for k in a.__dataclass_fields__ if k != "seconds")
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rtol) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, rtol) for x, y in zip(a, b))
    if callable(a) or a is None or isinstance(a, (str, bool)):
        return True if callable(a) else a == b
    try:
        A, B = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return True  # objects that are not numbers (a subspace): their numbers are compared elsewhere
    return A.shape == B.shape and bool(np.allclose(A, B, rtol=rtol, atol=rtol * max(1.0, float(np.abs(B).max(initial=0)))
                                                   , equal_nan=True))


# ------------------------------------------------------------------------------------- cases
def build_cases() -> list[Case]:
    """Every case of the sweep, in a fixed order (workers rebuild the list and run cases by index)."""
    f = _fx()
    np, torch, nl = f["np"], f["torch"], f["nl"]
    data, other, H, W, lang = f["data"], f["other"], f["H"], f["W"], f["lang"]
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    cases: list[Case] = []
    add = cases.append

    # --- devices, at every entry point that takes one
    def lin(**kw):
        return (nl.train_linear, (data, H), {"steps": 3, "n_records": 2, "ref": f["ref_lin"], **kw})

    def ufm(**kw):
        return (nl.train_ufm, (data, 2), {"steps": 3, "n_records": 2, "ref": f["ref_geo"],
                                          "rng": np.random.default_rng(0), **kw})

    def mod(**kw):
        return (nl.train_model, (_tiny(), lang.data, lang.contexts),
                {"steps": 2, "n_records": 2, "ref": f["ref_lang"], "lr": 1e-2, **kw})

    S = (data.S > 0).astype(float)

    def svm_star(**kw):
        return (nl.ntp_svm_logits, (S,), dict(tol=1e-4, **kw))

    def threads(device):
        return (lambda dev: _inside(nl.small_problem_threads(dev, 10)), (device,), {})

    trainers = {"train_linear": lin, "train_ufm": ufm, "train_model": mod, "ntp_svm_logits": svm_star}
    devices = [("'cuda:999'", "cuda:999", ("device", "cuda:999")),
               ("'cuda'", "cuda", OK if cuda else ("device", "cuda")),
               ("'meta'", "meta", ("device", "meta")),
               ("torch.device('cpu')", torch.device("cpu"), OK),
               ("'cpu:0'", "cpu:0", OK),
               ("'mps'", "mps", OK if mps else ("device", "mps")),
               ("'gpu please'", "gpu please", ("device", "gpu please")),
               ("0 (an int)", 0, ("device",)),
               ("torch.device('cuda', 7)", torch.device("cuda", 7), ("device", "cuda:7"))]
    for tname, make in trainers.items():
        for label, dev, expect in devices:
            add(Case(f"{tname}(device={label})", lambda make=make, dev=dev: make(device=dev), expect,
                     ref=lambda make=make: _call(make()), rtol=1e-9 if tname != "train_model" else 1e-5))
    for label, dev, expect in devices:
        expect = OK if dev == "meta" else expect  # a thread setting computes nothing: any torch device will do
        add(Case(f"small_problem_threads(device={label})", lambda dev=dev: threads(dev), expect))

    # --- dtypes of the iterations
    dtypes = [("float16", torch.float16, ("dtype", "float16")), ("bfloat16", torch.bfloat16, ("dtype", "bfloat16")),
              ("float32", torch.float32, OK), ("float64", torch.float64, OK), ("int64", torch.int64, ("dtype",)),
              ("complex128", torch.complex128, ("dtype",)), ("'float64' (a string)", "float64", ("dtype",)),
              ("np.float64", np.float64, ("dtype",))]
    for tname, make in (("train_linear", lin), ("train_ufm", ufm), ("train_model", mod)):
        for label, dt, expect in dtypes:
            add(Case(f"{tname}(dtype={label})", lambda make=make, dt=dt: make(dtype=dt), expect,
                     ref=lambda make=make: _call(make()), rtol=2e-3))
    add(Case("train_model(optimizer='adamw', dtype=float16)", lambda: mod(dtype=torch.float16, optimizer="adamw"),
             ("dtype", "float16")))

    # --- the same values in every container, at every array argument
    def arg_cases(fname, base, build, rtol=1e-9, integer=False, mutable=(), tensor_ref=False, computes=None):
        conv = (lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))) if tensor_ref else (lambda a: a)
        # an argument computed with in its own dtype (named by `computes`) follows the half-precision policy
        half = (computes, "float16") if computes else OK
        for label, value, refval, expect in _tensor_variants(base, integer, half):
            if computes and "bfloat16" in label:
                expect = (computes, "bfloat16")
            add(Case(f"{fname}[{label}]", lambda value=value: build(value()), expect,
                     ref=(lambda refval=refval: _call(build(conv(refval()))))if refval else None, rtol=rtol,
                     mutable=mutable))

    arg_cases("train_linear(H)", H, lambda h: (nl.train_linear, (data, h), dict(steps=3, n_records=2)))
    arg_cases("train_linear(init)", W, lambda w: (nl.train_linear, (data, H), dict(steps=3, n_records=2,
                                                                                     init=w, ref=f["ref_lin"])))
    arg_cases("implicit_bias_reference(H)", H, lambda h: (nl.implicit_bias_reference, (data, h), {}), rtol=1e-7)
    arg_cases("alignment(W)", W, lambda w: (nl.alignment, (w, data, H, f["ref_lin"]), {}))
    arg_cases("ntp_svm_norm(H, 'max')", H, lambda h: (nl.ntp_svm_norm, (data, h, "max"), {}), rtol=1e-5)
    arg_cases("margin_metrics(H)", H, lambda h: (lambda *a: {k: g(W) for k, g in nl.margin_metrics(*a).items()},
                                                 (data, h, {"fro": nl.ntp_svm(data, H)}), {}), rtol=1e-6)
    arg_cases("train_minibatch(H)", H, lambda h: (nl.train_minibatch, (data, h, nl.optimizers.optimizer("gd"), 0.5, 3),
                                                  dict(n_records=2)))
    arg_cases("polar_factor(G)", W, lambda g: (nl.optimizers.polar_factor, (g,), {}), rtol=1e-6,
              tensor_ref=True, computes="G")
    arg_cases("newton_schulz(G)", W, lambda g: (nl.optimizers.newton_schulz, (g,), {}), rtol=1e-6,
              tensor_ref=True, computes="G")
    arg_cases("matrix_norm(W)", W, lambda w: (nl.matrix_norm, (w, "spectral"), {}))
    arg_cases("dual_norm(W)", W, lambda w: (nl.margins.dual_norm, (w, "spectral"), {}))
    W_mm, info = nl.ntp_svm(data, H, return_info=True)
    arg_cases("margin_certificate(W)", W_mm, lambda w: (nl.margins.margin_certificate, (w, info.C, data, H, "fro"),
                                                        {}), rtol=1e-6)
    arg_cases("margin_certificate(C)", info.C, lambda c: (nl.margins.margin_certificate, (W_mm, c, data, H, "fro"),
                                                          {}), rtol=1e-6)
    arg_cases("ntp_svm_logits(S)", S, lambda s_: (nl.ntp_svm_logits, (s_,), dict(tol=1e-4)), rtol=1e-6)
    arg_cases("anderson_step(all arguments)", W, lambda t: (nl.acceleration.anderson_step, (t, t, [t], [t]), {}),
              computes="Tz")

    # --- contexts given to a network or a trainer
    X = lang.contexts

    def net(x):
        return (lambda x: _tiny()(x), (x,), {})

    add(Case("TinyTransformer(x: int64 tensor)", lambda: net(torch.as_tensor(X)), OK,
             ref=lambda: _call(net(torch.as_tensor(X))), rtol=1e-6))
    for label, x, expect in [
            ("int32 non-contiguous", lambda: torch.as_tensor(np.asfortranarray(X).astype(np.int32)), OK),
            ("uint8", lambda: torch.as_tensor(X.astype(np.uint8)), OK),
            ("int16", lambda: torch.as_tensor(X.astype(np.int16)), OK),
            ("list", lambda: X.tolist(), ("contexts",)),
            ("numpy int64", lambda: X, ("contexts",)),
            ("empty batch 0×5", lambda: torch.zeros((0, 5), dtype=torch.int64), ("contexts", "empty")),
            ("empty contexts 16×0", lambda: torch.zeros((16, 0), dtype=torch.int64), ("contexts",)),
            ("float tensor", lambda: torch.as_tensor(X, dtype=torch.float32), ("contexts", "integer")),
            ("bool tensor", lambda: torch.as_tensor(X > 3), ("contexts",)),
            ("1-D tensor", lambda: torch.as_tensor(X[0]), ("contexts",)),
            ("tokens ≥ V", lambda: torch.full((2, 5), 30), ("contexts", "V")),
            ("on meta", lambda: torch.zeros((2, 5), dtype=torch.int64, device="meta"), ("contexts", "meta"))]:
        add(Case(f"TinyTransformer(x: {label})", lambda x=x: net(x()), expect,
                 ref=(lambda: _call(net(torch.as_tensor(X)))) if expect == OK else None, rtol=1e-6))
    for label, ctx, expect in [
            ("int64 tensor", lambda: torch.as_tensor(X), OK), ("int32 numpy", lambda: X.astype(np.int32), OK),
            ("list", lambda: X.tolist(), OK), ("float tensor", lambda: torch.as_tensor(X, dtype=torch.float64),
                                               ("contexts",)),
            ("on meta", lambda: torch.zeros(X.shape, dtype=torch.int64, device="meta"), ("contexts", "meta")),
            ("empty", lambda: np.zeros((0, 5), dtype=np.int64), ("contexts",))]:
        add(Case(f"train_model(contexts: {label})", lambda ctx=ctx: (nl.train_model, (_tiny(), lang.data, ctx()),
                                                                     dict(steps=2, n_records=2, ref=f["ref_lang"])),
                 expect, ref=lambda: _call((nl.train_model, (_tiny(), lang.data, X),
                                            dict(steps=2, n_records=2, ref=f["ref_lang"]))), rtol=1e-5))
    add(Case("train_model(model: a list)", lambda: (nl.train_model, ([_tiny()], lang.data, X), dict(steps=1)),
             ("model",)))
    add(Case("train_model(model: V=31)", lambda: (nl.train_model, (_tiny(31), lang.data, X), dict(steps=1)),
             ("model", "V")))

    # --- references built for other data
    add(Case("train_linear(ref: other data)", lambda: lin(ref=f["ref_other_lin"]), ("ref",)))
    add(Case("train_linear(ref: other H)", lambda: (nl.train_linear, (data, H),
                                                    dict(steps=2, n_records=2, ref=f["ref_lin_otherH"])), ("ref",)))
    add(Case("alignment(ref: other data)", lambda: (nl.alignment, (W, data, H, f["ref_other_lin"]), {}), ("ref",)))
    add(Case("train_ufm(ref: other data)", lambda: ufm(ref=f["ref_other_geo"]), ("ref",)))
    add(Case("train_model(ref: other data)", lambda: mod(ref=f["ref_other_geo"]), ("ref",)))

    # --- the training loop's record schedule
    def loop(record, steps=4):
        state = [0]

        def step(k):
            state[0] += 1

        return (nl.loop.recorded_loop, (step, lambda k: (np.array([float(state[0])]),), lambda s: float(s[0])),
                dict(steps=steps, record=record))

    add(Case("recorded_loop(record=[0, 2, 4])", lambda: loop(np.array([0, 2, 4])), OK,
             check=lambda r: r.rows == [0.0, 2.0, 4.0]))
    for label, rec in [("a step beyond steps", [0, 2, 9]), ("a negative step", [-1, 4]),
                       ("a non-integer step", [0, 1.5, 4]), ("not increasing", [0, 3, 2, 4]),
                       ("not ending at steps", [0, 2]), ("empty", []), ("a string", "0, 4")]:
        add(Case(f"recorded_loop(record: {label})", lambda rec=rec: loop(rec), ("record",)))
    add(Case("recorded_loop(steps=-1)", lambda: loop([0], steps=-1), ("steps",)))

    # --- sizes and Python integers beyond float64
    add(Case("log_schedule(10, 3*10**8)", lambda: (nl.log_schedule, (10, 3 * 10**8), {}), OK,
             check=lambda s: list(s) == list(range(11))))
    add(Case("log_schedule(2**62, 10**6)", lambda: (nl.log_schedule, (2**62, 10**6), {}), OK,
             check=lambda s: s[0] == 0 and s[-1] == 2**62 and bool(np.all(np.diff(s) > 0)) and len(s) <= 10**6 + 1
             and len(s) > 7 * 10**5))
    add(Case("log_schedule(10**6, 30)", lambda: (nl.log_schedule, (10**6, 30), {}), OK,
             check=lambda s: s[0] == 0 and s[-1] == 10**6 and len(s) == 31))
    add(Case("log_schedule(10**400)", lambda: (nl.log_schedule, (10**400,), {}), ("steps",)))
    add(Case("log_schedule(10, 10**400)", lambda: (nl.log_schedule, (10, 10**400), {}), ("n_records",)))
    add(Case("log_schedule(10, 2**62)", lambda: (nl.log_schedule, (10, 2**62), {}), OK,
             check=lambda s: list(s) == list(range(11))))
    add(Case("log_schedule(np.int64(10), 5.0)", lambda: (nl.log_schedule, (np.int64(10), 5.0), {}), OK))
    add(Case("log_schedule(10, 2.5)", lambda: (nl.log_schedule, (10, 2.5), {}), ("n_records",)))
    add(Case("train_linear(n_records=3*10**8)", lambda: lin(n_records=3 * 10**8), OK,
             check=lambda h: list(h.steps) == [0, 1, 2, 3] and bool(np.allclose(h.W, _call(lin()).W, rtol=1e-12))))
    add(Case("train_linear(n_records=10**400)", lambda: (nl.train_linear, (data, H),
                                                         dict(steps=3, n_records=10**400)), ("n_records",)))
    add(Case("train_linear(steps=10**400)", lambda: (nl.train_linear, (data, H), dict(steps=10**400)), ("steps",)))
    add(Case("train_ufm(n_records=10**400)", lambda: (nl.train_ufm, (data, 2), dict(steps=3, n_records=10**400,
                                                                                     rng=np.random.default_rng(0))),
             ("n_records",)))
    add(Case("train_ufm(d=10**400)", lambda: (nl.train_ufm, (data, 10**400), dict(steps=3, rng=np.random.default_rng(0))),
             ("d",)))
    add(Case("train_ufm(d=10**9)", lambda: (nl.train_ufm, (data, 10**9), dict(steps=3, rng=np.random.default_rng(0))),
             ("memory",)))
    add(Case("train_model(batch_size=10**400)", lambda: mod(batch_size=10**400), ("batch_size",)))
    add(Case("train_minibatch(steps=10**400)", lambda: (nl.train_minibatch, (data, H, nl.optimizers.optimizer("gd"), 0.5,
                                                                             10**400), {}), ("steps",)))
    add(Case("train_minibatch(n_records=10**400)", lambda: (nl.train_minibatch, (data, H, nl.optimizers.optimizer("gd"), 0.5, 3),
                                                            dict(n_records=10**400)), ("n_records",)))
    add(Case("small_problem_threads(work=10**400)", lambda: (lambda w: _inside(nl.small_problem_threads("cpu", w)),
                                                             (10**400,), {}), ("work",)))  # beyond float64: refused, as everywhere
    add(Case("cpu_threads(10**400)", lambda: (nl.cpu_threads, (10**400,), {}), ("n",)))
    add(Case("TinyTransformer(V=10**400)", lambda: (nl.TinyTransformer, (10**400,), {}), ("V",)))
    add(Case("TinyTransformer(V=10**12)", lambda: (nl.TinyTransformer, (10**12,), {}), ("memory",)))
    add(Case("ContextMLP(t=10**400)", lambda: (nl.ContextMLP, (30, 10**400), {}), ("t",)))
    add(Case("ContextLSTM(d=10**10)", lambda: (nl.ContextLSTM, (30, 10**10), {}), ("memory",)))
    add(Case("Muon(ns_steps=10**400)", lambda: (nl.optimizers.Muon, ([torch.zeros(2, 2, requires_grad=True)], 0.1),
                                                dict(ns_steps=10**400)), ("ns_steps",)))
    add(Case("newton_schulz(steps=10**400)", lambda: (nl.optimizers.newton_schulz, (torch.eye(2),), dict(steps=10**400)),
             ("steps",)))
    add(Case("ntp_svm_norm(max_iter=10**400)", lambda: (nl.ntp_svm_norm, (data, H, "spectral"),
                                                        dict(max_iter=10**400)), ("max_iter",)))
    # an iteration cap beyond any run is no limit at all: refusing it and answering are both right
    cases[-1].expect = ANY
    add(Case("ntp_svm_logits(max_iter=10**400, device='cpu')", lambda: svm_star(max_iter=10**400, device="cpu"),
             ANY))

    # --- optimizers given bad settings or non-tensors
    p = lambda: [torch.zeros(3, requires_grad=True)]  # noqa: E731
    for cls in ("GradientDescent", "NormalizedGradientDescent"):
        C = getattr(nl.loop, cls)
        for label, lr, expect in [("lr=-1", -1.0, ("lr",)), ("lr='a'", "a", ("lr",)), ("lr=nan", float("nan"), ("lr",)),
                                  ("lr=10**400", 10**400, ("lr",)), ("lr=0.1", 0.1, OK)]:
            add(Case(f"{cls}({label})", lambda C=C, lr=lr: (C, (p(), lr), {}), expect))
        add(Case(f"{cls}(weight_decay=-1)", lambda C=C: (C, (p(), 0.1), dict(weight_decay=-1.0)), ("weight_decay",)))
        add(Case(f"{cls}(params: numpy)", lambda C=C: (C, ([np.zeros(3)], 0.1), {}), ("params",)))
    for cls in ("SteepestDescent", "SignDescent", "Muon", "ScheduledAdam"):
        C = getattr(nl.optimizers, cls)
        add(Case(f"{cls}(lr=-1)", lambda C=C: (C, ([torch.zeros(2, 2, requires_grad=True)], -1.0), {}), ("lr",)))
        add(Case(f"{cls}(params: numpy)", lambda C=C: (C, ([np.zeros((2, 2))], 0.1), {}), ("params",)))
    add(Case("optimizer('nope')", lambda: (nl.optimizers.optimizer, ("nope",), {}), ("name",)))
    add(Case("make_optimizer(params: a tensor)", lambda: (nl.loop.make_optimizer, ("gd", torch.zeros(3), 0.1), {}),
             ("params",)))
    return cases


def _inside(cm) -> bool:
    """Enter and leave a context manager."""
    with cm:
        return True


def _call(made):
    f, args, kw = made
    return f(*args, **kw)


# ------------------------------------------------------------------------------------ running
def _snapshot(x):
    """A comparable copy of an argument: arrays and tensors (values, dtype, shape, grad), lists, dicts."""
    f = _fx()
    np, torch = f["np"], f["torch"]
    if isinstance(x, torch.Tensor):
        if x.device.type == "meta":
            return ("meta", tuple(x.shape), x.dtype)
        return ("tensor", x.detach().clone(), x.grad is None, x.requires_grad)
    if isinstance(x, np.ndarray):
        return ("array", x.copy(), x.flags.writeable)
    if isinstance(x, (list, tuple)):
        return ("seq", [_snapshot(v) for v in x])
    if isinstance(x, dict):
        return ("dict", {k: _snapshot(v) for k, v in x.items()})
    return ("other",)


def _unchanged(a, b) -> bool:
    f = _fx()
    np, torch = f["np"], f["torch"]
    if a[0] != b[0]:
        return False
    if a[0] == "tensor":
        return (a[1].dtype == b[1].dtype and a[1].shape == b[1].shape and a[2] == b[2] and a[3] == b[3]
                and bool(torch.equal(a[1], b[1]) or (a[1].is_floating_point() and torch.equal(a[1].isnan(), b[1].isnan())
                                                     and torch.equal(a[1].nan_to_num(), b[1].nan_to_num()))))
    if a[0] == "array":
        return a[2] == b[2] and a[1].shape == b[1].shape and bool(np.array_equal(a[1], b[1], equal_nan=a[1].dtype.kind in "fc"))
    if a[0] == "seq":
        return len(a[1]) == len(b[1]) and all(_unchanged(x, y) for x, y in zip(a[1], b[1]))
    if a[0] == "dict":
        return a[1].keys() == b[1].keys() and all(_unchanged(a[1][k], b[1][k]) for k in a[1])
    return a == b


def _captures_graph(result, args) -> bool:
    """Whether a returned tensor is attached to the autograd graph of a caller's tensor that requires grad."""
    torch = _fx()["torch"]
    if not any(isinstance(a, torch.Tensor) and a.requires_grad for a in args):
        return False
    items = result if isinstance(result, (list, tuple)) else [result]
    return any(isinstance(r, torch.Tensor) and r.requires_grad for r in items)


def run_case(case: Case) -> tuple[str, str]:
    """The class of one case and a short note (the exception, the difference)."""
    made = case.make()
    fn, args, kw = made
    keep = {("a", i): _snapshot(a) for i, a in enumerate(args) if i not in case.mutable}
    keep.update({("k", k): _snapshot(v) for k, v in kw.items() if k not in case.mutable})
    err = None
    try:
        result = fn(*args, **kw)
    except MemoryError as e:
        return "memory blow-up", f"MemoryError {str(e)[:120]}"
    except Exception as e:  # noqa: BLE001 - classified below
        err = e
    changed = [k for k, s in keep.items()
               if not _unchanged(s, _snapshot(args[k[1]] if k[0] == "a" else kw[k[1]]))]
    if changed:
        return "input changed in place", f"argument {changed[0][1]!r} changed" + (f" ({type(err).__name__})" if err else "")
    if err is not None:
        msg = f"{type(err).__name__}: {str(err)[:200]}"
        if "can't allocate memory" in str(err) or "out of memory" in str(err).lower():
            return "memory blow-up", msg
        if case.expect == OK:
            return "valid input refused", msg
        if not isinstance(err, (ValueError, TypeError)):
            return "wrong exception type", msg
        if case.expect == ANY or all(w.lower() in str(err).lower() for w in case.expect):
            return "clean error", msg
        return "error naming the wrong thing", msg
    if case.expect not in (OK, ANY):
        return "bad input accepted", f"returned {type(result).__name__}"
    if _captures_graph(result, [*args, *kw.values()]):
        return "input changed in place", "the result is attached to the caller's autograd graph"
    if case.check is not None and not case.check(result):
        return "wrong answer", f"check failed: {str(result)[:120]}"
    if case.ref is not None:
        try:
            expected = case.ref()
        except Exception as e:  # noqa: BLE001
            return "wrong answer", f"the reference itself raised {type(e).__name__}: {e}"
        if not _same(result, expected, case.rtol):
            return "wrong answer", "differs from the float64 reference"
    return "right answer", ""


def _worker(conn, cap_bytes: int) -> None:
    import resource

    if cap_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))
    import warnings

    warnings.simplefilter("ignore")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    cases = build_cases()
    conn.send(len(cases))
    while True:
        i = conn.recv()
        if i is None:
            return
        try:
            out = run_case(cases[i])
        except MemoryError as e:
            out = ("memory blow-up", f"MemoryError while preparing: {e}")
        except Exception as e:  # noqa: BLE001 - a case whose preparation fails is a bug of the sweep
            out = ("valid input refused", f"the case could not be prepared: {type(e).__name__}: {e}")
        conn.send(out)


class Runner:
    """Spawned workers, one at a time: each case gets ``limit`` seconds; a worker that hangs or dies is replaced."""

    def __init__(self, limit: float = 20.0, cap_gib: float = 4.0, start_limit: float = 120.0) -> None:
        self.limit, self.cap, self.start_limit = limit, int(cap_gib * 2**30), start_limit
        self.ctx = mp.get_context("spawn")
        self.proc = None
        self.n = None

    def _start(self) -> None:
        parent, child = self.ctx.Pipe()
        env_before = os.environ.get("OMP_NUM_THREADS")
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        self.proc = self.ctx.Process(target=_worker, args=(child, self.cap), daemon=True)
        self.proc.start()
        if env_before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        self.conn = parent
        if not parent.poll(self.start_limit):
            raise RuntimeError("the sweep's worker did not start")
        self.n = parent.recv()

    def _stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            self.proc = None

    def count(self) -> int:
        if self.proc is None:
            self._start()
        return self.n

    def run(self, i: int) -> tuple[str, str]:
        if self.proc is None:
            self._start()
        self.conn.send(i)
        if not self.conn.poll(self.limit):
            self._stop()
            return "hang", f"no answer within {self.limit:g} s"
        try:
            return self.conn.recv()
        except EOFError:
            code = self.proc.exitcode if self.proc else None
            self._stop()
            return "memory blow-up", f"the worker died (exit code {code})"

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.conn.send(None)
                self.proc.join(5)
            finally:
                self._stop()


def sweep(limit: float = 20.0, cap_gib: float = 4.0) -> list[tuple[str, str, str]]:
    """``(case name, class, note)`` for every case."""
    names = [c.name for c in build_cases()]
    runner = Runner(limit, cap_gib)
    try:
        return [(name, *runner.run(i)) for i, name in enumerate(names)]
    finally:
        runner.close()


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", action="store_true", help="print the counts and every case not right or clean")
    ap.add_argument("--limit", type=float, default=20.0, help="seconds per case")
    ap.add_argument("--cap", type=float, default=4.0, help="address-space cap of a worker, GiB")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = sweep(a.limit, a.cap)
    counts = Counter(c for _, c, _ in rows)
    print(f"{len(rows)} calls in {time.perf_counter() - t0:.0f} s")
    for c in CLASSES:
        print(f"  {counts.get(c, 0):4d}  {c}")
    if a.report:
        for name, c, note in rows:
            if c not in GOOD:
                print(f"[{c}] {name}: {note}")
    return 0 if set(counts) <= GOOD else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
