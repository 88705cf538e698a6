"""Thread settings are restored; the environment is listed."""

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
