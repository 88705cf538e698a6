"""Thread settings are restored; the environment is listed."""

import numpy as np
import pytest
import torch

import ntpbook_lib as nl

from fuzz_support import covers


@covers("cpu_threads", "small_problem_threads", "build_environment")
def test_thread_settings_are_restored_and_the_environment_is_listed():
    before = torch.get_num_threads()
    for n in (1, 2, 3):
        with nl.cpu_threads(n):
            assert torch.get_num_threads() == n
            with nl.cpu_threads(1):
                assert torch.get_num_threads() == 1
            assert torch.get_num_threads() == n
        assert torch.get_num_threads() == before
    with pytest.raises(KeyError):
        with nl.cpu_threads(2):
            raise KeyError("inside")
    assert torch.get_num_threads() == before
    with nl.small_problem_threads("cpu", 10):
        assert torch.get_num_threads() == 1
    with nl.small_problem_threads(torch.device("cpu"), 10**12):
        assert torch.get_num_threads() == before
    assert torch.get_num_threads() == before
    env = nl.build_environment()
    assert "ntpbook_lib" in env.index and env.loc["ntpbook_lib", "version"] == nl.__version__


def _blas_threads() -> int:
    """Threads of NumPy's own BLAS (other packages may bundle single-threaded ones)."""
    from threadpoolctl import threadpool_info

    return next(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas" and "numpy" in p["filepath"])


def test_solvers_run_small_problems_on_one_thread_and_restore_the_counts():
    from ntpbook_lib.runtime import SMALL_SOLVE, solver_threads

    seen = []

    @solver_threads
    def probe(x):
        """A probe."""
        seen.append((torch.get_num_threads(), _blas_threads()))
        return x

    with nl.cpu_threads(2):  # a known starting point, whatever the machine's default
        # inside an explicit block the caller's choice wins
        probe(np.zeros(3))
        assert seen[-1] == (2, 2)
    from threadpoolctl import threadpool_limits

    torch_before = torch.get_num_threads()
    with threadpool_limits(2, user_api="blas"):
        torch.set_num_threads(2)
        try:
            probe(np.zeros((10, 10)))
            assert seen[-1] == (1, 1), "a small problem runs on one thread"
            assert (torch.get_num_threads(), _blas_threads()) == (2, 2), "and the counts are restored"
            probe(np.broadcast_to(np.zeros(1), (SMALL_SOLVE + 1,)))
            assert seen[-1] == (2, 2), "a large problem keeps the caller's threads"
            with pytest.raises(ZeroDivisionError):
                solver_threads(lambda: 1 / 0)()
            assert (torch.get_num_threads(), _blas_threads()) == (2, 2)
        finally:
            torch.set_num_threads(torch_before)
    assert probe.__doc__ == "A probe." and probe.__wrapped__ is not None


def test_public_solvers_carry_the_thread_policy():
    for name in ("is_separable", "is_compatible", "data_subspace", "logodds_solution", "ntp_svm", "ntp_svm_logits",
                 "separability_phase_transition", "certificate", "nuclear_regularization_path", "proxy_quality",
                 "ntp_svm_norm", "margin_references"):
        assert hasattr(getattr(nl, name), "__wrapped__"), f"{name} does not choose its threads"


@covers("shared_core_threads")
def test_shared_core_threads_uses_only_the_idle_cores(monkeypatch):
    """On busy cores the solvers take max(1, ⌊cores − load⌋) threads; on idle ones, or inside a caller's
    cpu_threads block, the counts are left as they are."""
    import os

    cores = len(os.sched_getaffinity(0))
    before = torch.get_num_threads()
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 5.0, 0.0, 0.0))
    with nl.runtime.shared_core_threads():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    with nl.runtime.shared_core_threads():
        assert torch.get_num_threads() == before
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 5.0, 0.0, 0.0))
    with nl.cpu_threads(2), nl.runtime.shared_core_threads():
        assert torch.get_num_threads() == 2
