"""Runtime concerns shared by the solvers and trainers: CPU threads and record schedules.

Nothing here is mathematics: :func:`cpu_threads` and :func:`small_problem_threads` set how many threads torch and
BLAS use inside a block (one thread is fastest for the many small products of T24's and Z24's problems), and
:func:`log_schedule` says at which steps a training run records its metrics.  The memory guard
:func:`~ntpbook_lib.validation.check_memory` sizes dense objects before they are allocated; it lives with the
other checks of the arguments.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

import numpy as np
import torch
from threadpoolctl import ThreadpoolController, threadpool_limits

from .validation import check_device, check_int, check_memory

__all__ = ["SMALL_PROBLEM", "SMALL_SOLVE", "MAX_THREADS", "MAX_STEPS", "cpu_threads", "small_problem_threads",
           "solver_threads", "shared_core_threads", "log_schedule", "check_schedule_size", "schedule_bytes", "schedule"]

SMALL_PROBLEM = 1 << 22  # multiply-adds per matrix product below which one torch thread is faster
MAX_THREADS = 1024  # more threads than any CPU offers would only cost memory and start-up time
SMALL_SOLVE = 1 << 22  # entries of a solver's largest input below which it runs on one thread (see solver_threads)

_explicit = 0  # depth of cpu_threads / solver_threads blocks in force: inside one, solvers leave threads alone
_controller: ThreadpoolController | None = None
F = TypeVar("F", bound=Callable[..., Any])


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
    global _explicit
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    _explicit += 1
    try:
        with threadpool_limits(int(n), user_api="blas"):
            yield
    finally:
        _explicit -= 1
        torch.set_num_threads(before)


def _entries(x: Any) -> int:
    """Entries of an array-like argument (dense count for sparse matrices; ``V·m`` for NTP data), else 0."""
    shape = getattr(x, "shape", None)
    if shape is None and hasattr(x, "V") and hasattr(x, "m"):
        shape = (x.V, x.m)
    try:
        return int(np.prod([int(n) for n in shape])) if shape is not None else 0
    except (TypeError, ValueError):
        return 0


def solver_threads(fn: F) -> F:
    """Decorator of the public solvers: one CPU thread (torch and BLAS) when the largest input is small.

    With BLAS and torch at their default of one thread per core, the small dense factorisations and LPs of the
    book's problems spend their time in thread synchronisation, and much more so when the cores are shared:
    measured on 2 shared cores, chapter 2 took 295 s with the default threads and about 40 s with one.  So a
    solver whose largest argument has at most ``SMALL_SOLVE`` entries (``V·m`` for NTP data, the size of an
    array) runs on one thread and restores the counts on return; larger problems keep the caller's threads.
    Inside a :func:`cpu_threads` block, or a solver called by another, the counts are left as they are, so a
    caller's explicit choice always wins.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _explicit, _controller
        if _explicit or max(map(_entries, (*args, *kwargs.values())), default=0) > SMALL_SOLVE:
            return fn(*args, **kwargs)
        if _controller is None:  # made once: finding the BLAS libraries costs milliseconds, a limit microseconds
            _controller = ThreadpoolController()
        before = torch.get_num_threads()
        _explicit += 1
        try:
            torch.set_num_threads(1)
            with _controller.limit(limits=1, user_api="blas"):
                return fn(*args, **kwargs)
        finally:
            _explicit -= 1
            torch.set_num_threads(before)

    return wrapper  # type: ignore[return-value]


def shared_core_threads() -> AbstractContextManager[None]:
    """BLAS/torch threads for the cores left idle, ``max(1, ⌊cores − load⌋)``, when nobody chose the threads.

    :func:`solver_threads` leaves large problems on the caller's threads; on cores shared
    with other work BLAS's extra threads stall instead of helping.  Measured on 2 shared cores, ``ntp_svm`` at
    V = 200, m = 2000, d = 2100 took 39 s with the default 2 threads at a load average of 1.3 and 11 s at 3,
    against 7.2 s and 10 s with one thread.  So the solvers use as many threads as there are cores beyond the
    1-minute load average (one at least; all of them on an idle machine).  Inside a ``cpu_threads`` block, or
    a solver's one-thread block, the counts are left as they are.
    """
    if _explicit:
        return nullcontext()
    try:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        idle = max(1, int(cores - os.getloadavg()[0]))
    except OSError:  # pragma: no cover - no load average on this system
        cores, idle = 2, 1
    return cpu_threads(idle) if idle < cores else nullcontext()


def small_problem_threads(device: str | torch.device, work: int) -> AbstractContextManager[None]:
    """:func:`cpu_threads` ``(1)`` for a CPU problem of at most ``SMALL_PROBLEM`` multiply-adds per product.

    Many small steps (T24's and Z24's problems are ``V·d·m`` ≲ 10^6) are dominated by thread synchronisation,
    which stalls badly when the cores are shared with other work: 3000 GD steps of T24's synthetic problem
    take about 0.5 s on one thread and 10–15 s on two threads of a busy 2-core machine.

    Parameters
    ----------
    device : str or torch.device
        Where the problem runs (any device available here, ``"meta"`` included: nothing is computed); only a
        CPU problem is limited.
    work : int
        Multiply-adds of one matrix product (e.g. ``V·d·m``), a non-negative integer of any size.

    Returns
    -------
    contextlib.AbstractContextManager
        One thread inside the block for a small CPU problem, the threads as they are otherwise.
    """
    device = check_device(device, compute=False)
    work = check_int(work, "work", minimum=0)
    return cpu_threads(1 if torch.device(device).type == "cpu" and work <= SMALL_PROBLEM else None)


MAX_STEPS = 2**62  # steps and records beyond this are refused (int64 indices, and more than any run could take)
EXACT_RECORDS = 1 << 16  # up to this many records the schedule is NumPy's geomspace, rounded, as it always was
_CHUNK = 1 << 16  # points of a large schedule computed at a time


def log_schedule(steps: int, n_records: int = 60) -> np.ndarray:
    """About ``n_records`` distinct step indices in ``0..steps``, spaced evenly on a log scale.

    The memory it takes is bounded by the size of its answer, never by ``n_records``: ``log_schedule(10,
    3 * 10**8)`` returns ``0..10`` at once (:func:`schedule_bytes` gives the peak, checked before the work).

    Parameters
    ----------
    steps : int
        The last step (``1 ≤ steps ≤ 2^62``); it is always recorded, and so is step 0.
    n_records : int, optional
        How many log-spaced points to draw (``1 ≤ n_records ≤ 2^62``; duplicates after rounding are merged).

    Returns
    -------
    numpy.ndarray
        Strictly increasing int64 step indices, from 0 to ``steps``: at most ``min(n_records, steps) + 1`` of
        them.
    """
    steps, n_records = check_schedule_size(steps, n_records)
    return schedule(steps, n_records)


def check_schedule_size(steps: Any, n_records: Any) -> tuple[int, int]:
    """``(steps, n_records)`` of :func:`log_schedule` as ints, each in ``1..2^62`` (``TypeError``/``ValueError``
    naming it otherwise), once :func:`schedule_bytes` says the schedule fits in the memory available."""
    steps = check_int(steps, "steps", minimum=1, maximum=MAX_STEPS)
    n_records = check_int(n_records, "n_records", minimum=1, maximum=MAX_STEPS)
    check_memory(schedule_bytes(steps, n_records), f"a schedule of about {min(n_records, steps) + 1} records")
    return steps, n_records


def _split(steps: int, n_records: int) -> tuple[float, int, int]:
    """``(q, i_c, dense_top)``: the log step ``q = ln(steps)/(n−1)``, the last point ``i_c`` whose gap to the
    next is below 1 (so the rounded points up to it are every integer ``0..dense_top``), and ``dense_top``."""
    q = float(np.log(steps)) / (n_records - 1)
    c = 1.0 / float(np.expm1(q))  # x_i · (e^q − 1) < 1  ⇔  x_i < c: the gap after point i is below one step
    i_c = n_records - 1 if c >= steps else max(0, min(n_records - 1, int(np.floor(np.log(c) / q)) if c > 1 else 0))
    while i_c > 0 and np.exp(q * i_c) >= c:  # floating rounding of the floor: step back to a point below c
        i_c -= 1
    dense_top = min(steps, int(np.rint(np.exp(q * i_c))))
    return q, i_c, dense_top


def schedule_bytes(steps: int, n_records: int) -> float:
    """Peak bytes :func:`schedule` ``(steps, n_records)`` allocates (checked arguments; measured against
    ``tracemalloc`` by the tests): the size of the answer, never ``n_records``, plus one chunk."""
    if n_records <= EXACT_RECORDS:  # geomspace and its temporaries, then unique's sort
        return 24.0 * n_records + 8192.0
    _, i_c, dense_top = _split(steps, n_records)
    out = (dense_top + 1) + min(n_records - 1 - i_c, steps - dense_top) + 1  # entries of the answer, at most
    return 16.0 * out + 40.0 * _CHUNK  # the kept chunks and their concatenation, and one chunk's temporaries


def schedule(steps: int, n_records: int) -> np.ndarray:
    """:func:`log_schedule` for arguments already checked (the trainers' kernel).

    Up to ``EXACT_RECORDS`` records: ``round(geomspace(1, steps, n_records))`` with 0 and ``steps`` added,
    duplicates merged.  Beyond: the same points ``x_i = steps^{i/(n−1)}`` without materialising all of them.
    While the gap ``x_{i+1} − x_i = x_i (e^q − 1)`` is below 1 the rounded points are every integer up to
    ``round(x_{i_c})`` (one ``arange``); past ``i_c`` every gap is at least 1, so each further point gives a new
    integer, and there are at most ``steps`` of them: they are computed ``_CHUNK`` at a time, each chunk kept
    strictly above the last kept step.  Every loop advances by a whole chunk and ends after
    ``⌈(n − 1 − i_c)/_CHUNK⌉`` rounds.

    Parameters
    ----------
    steps : int
        The last step.
    n_records : int
        How many log-spaced points.

    Returns
    -------
    numpy.ndarray
        The step indices.
    """
    if n_records <= EXACT_RECORDS:
        return np.unique(np.r_[0, np.geomspace(1, steps, n_records).round().astype(np.int64), steps])
    q, i_c, dense_top = _split(steps, n_records)
    parts = [np.arange(dense_top + 1, dtype=np.int64)]
    top = dense_top
    for start in range(i_c + 1, n_records, _CHUNK):
        if top >= steps:
            break
        x = np.exp(q * np.arange(start, min(start + _CHUNK, n_records), dtype=np.float64))
        r = np.minimum(np.rint(x), float(steps)).astype(np.int64)
        r = r[r > np.maximum.accumulate(np.r_[top, r[:-1]])]  # strictly increasing, above the last kept step
        if r.size:
            parts.append(r)
            top = int(r[-1])
    if top < steps:
        parts.append(np.array([steps], dtype=np.int64))
    return np.concatenate(parts)
