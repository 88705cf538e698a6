"""pytest runs every Colab notebook in this folder through nbmake.

CI executes the same notebooks first on Colab's stack, each alone in an empty folder (``.ci/colab_stack.py``),
which is the stricter run; it then sets ``NTPBOOK_COLAB_REPORT`` to that run's report, and the notebooks that
passed there, byte for byte the same file, are skipped here instead of being executed a second time.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    report = os.environ.get("NTPBOOK_COLAB_REPORT")
    if not report:
        return
    passed = json.loads(Path(report).read_text())
    for item in items:
        path = Path(str(item.path))
        if path.suffix == ".ipynb" and passed.get(path.name) == hashlib.sha256(path.read_bytes()).hexdigest():
            item.add_marker(pytest.mark.skip(reason=f"passed on Colab's stack in this CI run ({report})"))
