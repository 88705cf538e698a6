"""The timing harness shared by the benchmarks: every timed solve runs in a fresh Python process.

Each solve (the library's and every competitor's) is a call ``func(*args)`` in a new interpreter started by
``subprocess`` (never a fork of a process whose BLAS, OpenMP or torch threads are running), with the same
thread caps in its environment: ``OMP_NUM_THREADS`` and the BLAS variables are set before the child starts,
so NumPy, SciPy, CVXPY's solvers and torch all start with that many threads.  The parent caps its own pools
too (threadpoolctl, ``torch.set_num_threads``) for what it computes between solves.

A child's stdout and stderr go to a log file: solvers that print their iterations (SCS, OSQP, Clarabel with
``verbose=True``) leave them there, and a child stopped at its time limit is reported with the last lines of
its own log, so a time-out is shown to be the solver still iterating and not a stalled process.  The value
the child returns comes back through a pickle file; ``ru_maxrss`` of the child is its peak memory.

Run a child by hand: ``python -m bench.harness JOB.pkl RESULT.pkl`` (what :func:`run_in_child` does).
"""

from __future__ import annotations

import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "POLARS_MAX_THREADS")

_state: dict[str, Any] = {"threads": None, "logdir": None}


def configure(threads: int | None, logdir: str | None = None) -> Path:
    """Cap BLAS/OpenMP/torch threads to ``threads`` for the children (environment) and this process; returns the log folder.

    ``threads=None`` is the machine's default: the thread variables are removed from the children's environment,
    so every library starts with its own default (one thread per core for BLAS and torch; the library's solvers
    then choose their own counts, ``ntpbook_lib.runtime.solver_threads``)."""
    _state["logdir"] = Path(logdir or _state["logdir"] or tempfile.mkdtemp(prefix="ntpbook-bench-"))
    _state["logdir"].mkdir(parents=True, exist_ok=True)
    if threads is None:
        for var in THREAD_VARIABLES:
            os.environ.pop(var, None)
        _state["threads"] = "default"
        return _state["logdir"]
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    for var in THREAD_VARIABLES:
        os.environ[var] = str(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - threadpoolctl is in requirements.txt
        pass
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency of the library
        pass
    _state["threads"] = threads
    return _state["logdir"]


def threads() -> int | str:
    """The thread cap in force, or ``"default"`` (configure() must have been called)."""
    if _state["threads"] is None:
        raise RuntimeError("call bench.harness.configure(threads) first")
    return _state["threads"]


@dataclass(frozen=True)
class ChildResult:
    """What a child process returned, or why it did not."""

    value: Any  # what func returned (None when it timed out or raised)
    timed_out: bool
    error: str | None  # the exception, when func raised
    wall: float  # seconds the child ran, interpreter start included (the timing that counts is inside func)
    log: Path
    peak_rss_mib: float | None  # the child's peak resident memory
    cpu: float | None = None  # CPU seconds the child had used when it was stopped (busy, not hung, if ≈ wall)

    def tail(self, n: int = 6) -> list[str]:
        """The last n non-empty lines of the child's log."""
        return log_tail(self.log, n)


def log_tail(path: Path, n: int = 6) -> list[str]:
    try:
        lines = [ln.rstrip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return []
    return lines[-n:]


def run_in_child(func: Callable, *args: Any, limit: float, label: str) -> ChildResult:
    """``func(*args)`` in a fresh interpreter with the configured thread caps, killed after ``limit`` seconds."""
    threads()  # configured?
    logdir = _state["logdir"]
    stem = f"{time.strftime('%H%M%S')}-{os.getpid()}-{_safe(label)}"
    job, result, log = (logdir / f"{stem}.{ext}" for ext in ("job.pkl", "out.pkl", "log"))
    with open(job, "wb") as f:
        pickle.dump((func, args), f)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(_LINE_BUFFERED + [sys.executable, "-m", "bench.harness", str(job), str(result)],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
        cpu, rss, timed_out = None, 0.0, False
        while proc.poll() is None:  # watch the child's memory while it runs
            rss = max(rss, _rss_mib(proc.pid))
            if time.perf_counter() - t0 > limit:
                cpu = _cpu_seconds(proc.pid)
                proc.kill()
                proc.wait()
                timed_out = True
                break
            time.sleep(0.2)
    wall = time.perf_counter() - t0
    job.unlink(missing_ok=True)
    if timed_out or not result.exists():
        err = None
        if not timed_out:
            code = proc.returncode
            err = (f"killed by signal {-code} after {wall:.0f} s at {rss:.0f} MiB resident"
                   + (" (SIGKILL: the kernel's out-of-memory killer, unless someone else killed it)" if code == -9
                      else "") if code < 0 else f"exited with status {code}")
        return ChildResult(None, timed_out, err, wall, log, rss or None, cpu)
    with open(result, "rb") as f:
        status, value, peak = pickle.load(f)
    result.unlink()
    return ChildResult(value if status == "ok" else None, False, None if status == "ok" else value, wall, log,
                       peak)


def best_child(func: Callable, *args: Any, limit: float, label: str, repeats: int = 3, short: float = 5.0
               ) -> ChildResult:
    """:func:`run_in_child` up to ``repeats`` times while a run's own timing (``value["time"]``) is under
    ``short`` seconds; the run with the best time (the same rule as :func:`best_of` for the library)."""
    best = run_in_child(func, *args, limit=limit, label=label)
    for _ in range(repeats - 1):
        if best.value is None or best.value["time"] >= short:
            break
        out = run_in_child(func, *args, limit=limit, label=label)
        if out.value is not None and out.value["time"] < best.value["time"]:
            best = out
    return best


# C libraries (SCS, OSQP, Clarabel) print through C stdio, which a file would buffer: line-buffer it, so that a
# solver stopped at the time limit has its last iterations in the log.
_LINE_BUFFERED = ["stdbuf", "-oL", "-eL"] if shutil.which("stdbuf") else []


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a running process (Linux /proc), or None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _rss_mib(pid: int) -> float:
    """Resident memory of a running process in MiB (Linux /proc), 0 where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:60]


def child_threads() -> int | None:
    """Inside a child: the thread cap its parent set (None: the machine's default); for libraries that do not read
    the BLAS variables (duckdb)."""
    v = os.environ.get("OMP_NUM_THREADS")
    return int(v) if v else None


def load() -> str:
    """The machine's load averages over 1, 5 and 15 minutes, as a printable string."""
    try:
        a, b, c = os.getloadavg()
        return f"load average {a:.2f}, {b:.2f}, {c:.2f} on {len(os.sched_getaffinity(0))} cores"
    except (OSError, AttributeError):  # pragma: no cover - not Unix
        return "load average unavailable"


def have(package: str) -> bool:
    """Whether a bench-only competitor (bench/requirements.txt) is installed; prints the skip line when not."""
    import importlib.util

    if importlib.util.find_spec(package) is None:
        print(f"  skipped: {package} not installed (pip install -r bench/requirements.txt)")
        return False
    return True


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(f: Callable[[], Any], repeats: int = 3, short: float = 5.0) -> tuple[float, Any]:
    """(best time, last result) of up to ``repeats`` calls; repeats only while a call takes under ``short`` s."""
    best, out = float("inf"), None
    for i in range(repeats):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
        if best >= short:
            break
    return best, out


def _main(job: str, result: str) -> None:
    with open(job, "rb") as f:
        func, args = pickle.load(f)
    try:
        payload = ("ok", func(*args), peak_rss_mib())
    except Exception as e:  # noqa: BLE001 - the parent reports it as a row of the table
        import traceback

        traceback.print_exc()
        payload = ("error", f"{type(e).__name__}: {e}", peak_rss_mib())
    sys.stdout.flush()
    with open(result, "wb") as f:
        pickle.dump(payload, f)


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
