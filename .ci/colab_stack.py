"""Run every Colab notebook of the book on Colab's stack, each alone in an empty folder, as a reader would.

Colab (2026) ships Python 3.13 with numpy 2.1.3, scipy 1.16.3, matplotlib 3.10.0, seaborn 0.13.2, pandas 2.2.3 and
torch 2.11.0 (a CUDA build, which also runs on a CPU).  This script builds that stack in a fresh virtual
environment, installs the library the way a notebook's first cell does (``pip install git+<repository>``, here
the committed state of this clone), and checks that the install changed none of the preinstalled packages.  Then it executes each
generated notebook ``book/*.ipynb`` in its own empty folder with a kernel of that environment, and fails on an
error, on a drawing cell without an image, or on a notebook that runs past its time limit.  It prints one line
per notebook with its execution time.

Usage (from the repository root, with the project's environment active)::

    python .ci/colab_stack.py --python python3.13 --work /tmp/colab     # exit 1 on any problem

What it leaves unchecked: Colab's GPU runtime and its exact CUDA libraries (the notebooks run on the CPU), the
``%pip install`` line itself (it runs only on Colab, where it installs from the public repository), and packages
Colab preinstalls beyond the pinned ones.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.rendered import image_outputs  # noqa: E402  (the same "drawing cell has an image" rule as the book check)

# Colab's preinstalled versions of the packages the library needs (Python 3.13 runtime, 2026).
COLAB_PINS = {
    "numpy": "2.1.3",
    "scipy": "1.16.3",
    "matplotlib": "3.10.0",
    "seaborn": "0.13.2",
    "pandas": "2.2.3",
    "torch": "2.11.0",
}
# What a Colab runtime has besides: a Jupyter kernel, and the small packages the library imports.
COLAB_TOOLS = ["ipykernel", "nbclient", "nbformat", "tqdm", "threadpoolctl"]

EXECUTE = r"""
import sys, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
t0 = time.perf_counter()
NotebookClient(nb, timeout=int(sys.argv[3]), kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
nbformat.write(nb, sys.argv[2])
print(f"{time.perf_counter() - t0:.1f}")
"""


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kw)


def freeze(python: Path) -> dict[str, str]:
    out = run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default=os.environ.get("NTPBOOK_COLAB_PYTHON", "python3.13"),
                    help="the Python to build Colab's stack with (Colab runs 3.13)")
    ap.add_argument("--work", type=Path, default=None, help="folder for the environment (default: a temporary one)")
    ap.add_argument("--torch", default=COLAB_PINS["torch"],
                    help="torch version (Colab's is a CUDA build of 5 GB; 2.13.0 is a CPU build for Python 3.11)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds one notebook may run")
    ap.add_argument("--report", type=Path, default=None,
                    help="write the notebooks that passed, with their SHA-256, to this JSON file")
    args = ap.parse_args(argv)

    python = shutil.which(args.python)
    if python is None:
        print(f"colab stack: {args.python} not found (set --python or NTPBOOK_COLAB_PYTHON)")
        return 1
    work = args.work or Path(tempfile.mkdtemp(prefix="ntpbook-colab-"))
    venv = work / "venv"
    if venv.exists():
        shutil.rmtree(venv)
    run([python, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    pins = [f"{k}=={v}" for k, v in {**COLAB_PINS, "torch": args.torch}.items()]
    t0 = time.perf_counter()
    run([str(py), "-m", "pip", "install", "-q", *pins, *COLAB_TOOLS])
    before = freeze(py)
    # What the notebook's first cell does on Colab (pip install git+<repository>), from this repository's commits.
    run([str(py), "-m", "pip", "install", "-q", f"git+file://{ROOT}"])
    after = freeze(py)
    print(f"colab stack: Python {run([str(py), '-c', 'import platform; print(platform.python_version())'], capture_output=True).stdout.strip()}, "
          + ", ".join(f"{k} {after.get(k)}" for k in COLAB_PINS) + f"; set up in {time.perf_counter() - t0:.0f} s")

    problems = [f"installing the library changed {name} {before[name]} -> {after.get(name, 'removed')}"
                for name in before if after.get(name) != before[name]]
    notebooks = sorted((ROOT / "book").glob("*.ipynb"))
    if not notebooks:
        problems.append("no notebooks in book/")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "MPLBACKEND"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    passed: dict[str, str] = {}
    for nb in notebooks:
        folder = Path(tempfile.mkdtemp(prefix=f"{nb.stem}-", dir=work))  # alone in an empty folder
        shutil.copy(nb, folder / nb.name)
        try:
            res = run([str(py), "-c", EXECUTE, nb.name, "executed.ipynb", str(args.timeout)],
                      cwd=folder, env=env, capture_output=True, timeout=args.timeout + 60)
        except subprocess.CalledProcessError as e:
            tail = "\n".join((e.stdout + e.stderr).strip().splitlines()[-15:])
            problems.append(f"{nb.name}: failed\n{tail}")
            print(f"  {nb.name}: FAILED")
            continue
        except subprocess.TimeoutExpired:
            problems.append(f"{nb.name}: still running after {args.timeout + 60} s")
            print(f"  {nb.name}: TIMED OUT")
            continue
        executed = json.loads((folder / "executed.ipynb").read_text())
        blind = sum(n == 0 for n in image_outputs(executed))
        if blind:
            problems.append(f"{nb.name}: {blind} drawing cells without an image")
        else:
            passed[nb.name] = hashlib.sha256(nb.read_bytes()).hexdigest()
        print(f"  {nb.name}: {res.stdout.strip().splitlines()[-1]} s, {sum(image_outputs(executed))} figures")
        shutil.rmtree(folder)
    for p in problems:
        print(f"colab stack: {p}")
    if args.report is not None:
        args.report.write_text(json.dumps(passed, indent=1))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
