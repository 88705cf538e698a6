"""The container/dtype sweep (``tests/container_sweep.py``) at CI size, in-process: every public NumPy-side entry
point gives the float64 answer for the same values in every container, or a clean error naming the argument;
no array argument is changed in place; no result shares the caller's memory; Python integers beyond float64,
huge sizes, extreme but valid values and arguments that do not fit each other are answered or refused cleanly.
And the memory estimates made before allocating are held to the measured peak."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

import ntpbook_lib as nl
from ntpbook_lib import NTPData
from container_sweep import (
    CONTAINERS,
    _entries,
    _extreme_probes,
    _mismatch_probes,
    _scalar_probes,
    _size_probes,
    run_case,
)
from fuzz_support import covers

GOOD = ("right answer", "clean error", "not applicable")
ENTRIES = {name: e for name, e in _entries().items() if e.ci}


def _failures(cases):
    out = []
    for case in cases:
        cls, detail = run_case(case)
        if cls not in GOOD:
            out.append(f"[{cls}] {' | '.join(case[1:])}: {detail}")
    return out


@covers(*(n for n in ENTRIES if n in nl.__all__ or n.startswith("NTPData")))
@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_every_container_gives_the_float64_answer_or_a_clean_error(name):
    cases = [("container", name, arg, c) for arg in ENTRIES[name].args for c in CONTAINERS]
    assert not _failures(cases)


def test_python_integers_beyond_float64_are_a_value_error_naming_the_parameter():
    assert not _failures([("scalar", k) for k in sorted(_scalar_probes())])


def test_huge_sizes_are_refused_before_work_starts():
    """Under an address-space cap 2 GiB above what the process uses, as the report's workers run."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (used + 2 * 2**30, hard))
    try:
        failures = _failures([("size", k) for k in sorted(_size_probes())])
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert not failures


def test_extreme_but_valid_values_are_answered_scale_free():
    assert not _failures([("extreme", k) for k in sorted(_extreme_probes())])


def test_arguments_that_do_not_fit_each_other_are_a_value_error_naming_both():
    assert not _failures([("mismatch", k) for k in sorted(_mismatch_probes())])


def test_the_sweep_can_fail():
    """The classifier sees a changed input, a wrong answer, a refusal and a leaked view (so the tests above can fail)."""
    import container_sweep as cs
    saved = cs._entries

    def broken():
        e = saved()
        e["NTPData.from_counts"].call = lambda counts: np.asarray(counts).__setitem__((0, 0), 9.0)
        e["corr"].call = lambda X: np.asarray(X, dtype=float).sum() + (1.0 if np.asarray(X).dtype != float else 0)
        e["frobenius_norm"].call = lambda X: 1.0 if np.asarray(X).dtype == float else int("X")
        e["log_softmax"].call = lambda L: L
        return e
    cs._entries = broken
    try:
        assert run_case(("container", "NTPData.from_counts", "counts", "float32"))[0] == "input changed in place"
        assert run_case(("container", "corr", "X", "int64"))[0] == "wrong answer"
        assert run_case(("container", "frobenius_norm", "X", "float32"))[0] == "valid input refused"
        assert run_case(("container", "log_softmax", "L", "read-only"))[0] == "right answer"  # read-only: no leak
        assert run_case(("container", "log_softmax", "L", "Fortran order"))[0] == "result shares the caller's memory"
    finally:
        cs._entries = saved


def test_the_caller_sparse_counts_are_left_as_they_were():
    C = sp.csc_array((np.array([2.0, 0.0, 1.0, 1.0]), np.array([0, 1, 1, 0]), np.array([0, 2, 4])), shape=(2, 2))
    data, indices, indptr = C.data.copy(), C.indices.copy(), C.indptr.copy()
    d = NTPData.from_counts(C)
    np.testing.assert_array_equal(C.data, data)
    np.testing.assert_array_equal(C.indices, indices)
    np.testing.assert_array_equal(C.indptr, indptr)
    assert not np.shares_memory(d.P_sparse.data, C.data) and not np.shares_memory(d.P_sparse.indices, C.indices)
    np.testing.assert_allclose(d.P, [[1.0, 0.5], [0.0, 0.5]], rtol=1e-15)
    for empty in (np.zeros((2, 0)), sp.csc_array((0, 3)), [[]]):
        with pytest.raises(ValueError, match="counts"):
            NTPData.from_counts(empty)


# ------------------------------------------------------------------------------- memory estimates
def _estimates_and_peak(f, monkeypatch):
    """The largest estimate passed to check_memory by the modules that size their objects, and tracemalloc's peak."""
    import ntpbook_lib.data as data_mod
    import ntpbook_lib.generators as gen_mod
    import ntpbook_lib.nuclear_svm as nsvm_mod
    import ntpbook_lib.separability as sep_mod
    import ntpbook_lib.validation as val_mod
    seen = []
    for mod in (data_mod, gen_mod, nsvm_mod, sep_mod, val_mod):
        monkeypatch.setattr(mod, "check_memory", lambda nbytes, what: seen.append(nbytes))
    tracemalloc.start()
    try:
        f()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return max(seen), peak


def _data(V, m, s=3):
    return nl.random_ntp_data(V, m, s, np.random.default_rng(0), max_count=3)


# name -> n -> the call to measure (its inputs made beforehand, outside the measurement)
MEMORY_CASES = {
    "random_supports": lambda n: lambda: nl.random_supports(n, n, 3, np.random.default_rng(0)),
    "gaussian_embeddings": lambda n: lambda: nl.gaussian_embeddings(n, n, np.random.default_rng(0)),
    "NTPData.P": lambda n: (lambda d: lambda: NTPData(d.P_sparse, d.pi).P)(_data(n, n // 2)),
    "from_counts (sparse)": lambda n: (lambda C: lambda: NTPData.from_counts(C))(
        sp.random_array((n * 40, n * 20), density=2e-4, rng=0, format="coo") + sp.eye_array(n * 40, n * 20)),
    "as_float64 (sparse)": lambda n: (lambda A: lambda: nl.validation.as_float64(A, "A"))(
        sp.random_array((n, n), density=0.01, rng=0)),
    "symmetric_supports": lambda n: lambda: nl.symmetric_supports(n // 25, 3),
    "measure_symmetric_geometry": lambda n: lambda: nl.measure_symmetric_geometry(n // 20, 2),
    "is_separable": lambda n: (lambda d, H: lambda: nl.is_separable(d, H))(
        _data(8, n // 5, 2), np.random.default_rng(1).standard_normal((n // 10, n // 5))),
    "separability_phase_transition": lambda n: lambda: nl.separability_phase_transition(
        8, n // 10, 2, [2.0], 1, np.random.default_rng(0)),
    "lifted_points": lambda n: (lambda d: lambda: nl.lifted_points(d, np.ones((5, n // 10))))(_data(12, n // 10)),
}
FACTOR = 2.0  # every estimate lies within a factor 2 of the measured peak, on each size


@covers("is_separable", "separability_phase_transition", "lifted_points", "symmetric_supports",
        "measure_symmetric_geometry", "random_supports", "gaussian_embeddings", "NTPData.from_counts")
@pytest.mark.parametrize("name", sorted(MEMORY_CASES))
def test_memory_estimates_are_within_a_factor_2_of_the_measured_peak(name, monkeypatch):
    for n in (200, 400) if name == "is_separable" else (400, 800):
        estimate, peak = _estimates_and_peak(MEMORY_CASES[name](n), monkeypatch)
        assert estimate / FACTOR <= peak <= estimate * FACTOR, (name, n, estimate, peak)
