"""Runtime concerns shared by the solvers and trainers: CPU threads and record schedules.

Nothing here is mathematics: :func:`cpu_threads` and :func:`small_problem_threads` set how many threads torch and
BLAS use inside a block (one thread is fastest for the many small products of T24's and Z24's problems), and
:func:`log_schedule` says at which steps a training run records its metrics.  The memory guard
:func:`~ntpbook_lib.validation.check_memory` sizes dense objects before they are allocated; it lives with the
other checks of the arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from .validation import check_device, check_int, check_memory, check_real

__all__ = ["SMALL_PROBLEM", "MAX_THREADS", "cpu_threads", "small_problem_threads", "log_schedule", "schedule"]

SMALL_PROBLEM = 1 << 22  # multiply-adds per matrix product below which one torch thread is faster
MAX_THREADS = 1024  # more threads than any CPU offers would only cost memory and start-up time


def cpu_threads(n: int | None) -> AbstractContextManager[None]:
    """Run torch and the BLAS library on ``n`` CPU threads inside the block, then restore the previous counts.

    Parameters
    ----------
    n : int or None
        The number of threads (``1 ≤ n ≤ MAX_THREADS``); ``None`` leaves both libraries as they are.

    Returns
    -------
    contextlib.AbstractContextManager
        A context manager for a ``with`` block.
    """
    if n is not None:
        n = check_int(n, "n (the number of threads, a positive integer)", minimum=1, maximum=MAX_THREADS)
    return _threads(n)


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        with threadpool_limits(int(n), user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def small_problem_threads(device: str | torch.device, work: int) -> AbstractContextManager[None]:
    """:func:`cpu_threads` ``(1)`` for a CPU problem of at most ``SMALL_PROBLEM`` multiply-adds per product.

    Many small steps (T24's and Z24's problems are ``V·d·m`` ≲ 10^6) are dominated by thread synchronisation,
    which stalls badly when the cores are shared with other work: 3000 GD steps of T24's synthetic problem
    take about 0.5 s on one thread and 10–15 s on two threads of a busy 2-core machine.

    Parameters
    ----------
    device : str or torch.device
        Where the problem runs; only a CPU problem is limited.
    work : int
        Multiply-adds of one matrix product (e.g. ``V·d·m``).

    Returns
    -------
    contextlib.AbstractContextManager
        One thread inside the block for a small CPU problem, the threads as they are otherwise.
    """
    device = check_device(device)
    work = check_real(work, "work", nonnegative=True)
    return cpu_threads(1 if torch.device(device).type == "cpu" and work <= SMALL_PROBLEM else None)


def log_schedule(steps: int, n_records: int = 60) -> np.ndarray:
    """About ``n_records`` distinct step indices in ``0..steps``, spaced evenly on a log scale.

    Parameters
    ----------
    steps : int
        The last step (``≥ 1``); it is always recorded, and so is step 0.
    n_records : int, optional
        How many log-spaced points to draw (duplicates after rounding are merged).

    Returns
    -------
    numpy.ndarray
        Increasing int64 step indices, from 0 to ``steps``.
    """
    steps = check_int(steps, "steps", minimum=1, maximum=2**62)
    n_records = check_int(n_records, "n_records", minimum=1)
    check_memory(8.0 * n_records, f"a schedule of {n_records} records")
    return schedule(steps, n_records)


def schedule(steps: int, n_records: int) -> np.ndarray:
    """:func:`log_schedule` for arguments already checked (the trainers' kernel)."""
    return np.unique(np.r_[0, np.geomspace(1, steps, n_records).round().astype(np.int64)])
