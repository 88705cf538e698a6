"""The book's own invariants: chapters (and appendices) paired with output-free notebooks, in the TOC, on Colab."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md")) + sorted((ROOT / "book").glob("appendix_*.md"))


def test_there_are_chapters():
    assert CHAPTERS, "no chapters found in book/"


def test_toc_lists_every_chapter():
    toc = (ROOT / "_toc.yml").read_text()
    listed = set(re.findall(r"file:\s*book/(\d\d_\w+|appendix_\w+)", toc))
    assert listed == {p.stem for p in CHAPTERS}


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_paired_notebook_is_up_to_date(md, tmp_path):
    assert re.search(r"^\s*formats:\s*ipynb,md:myst", md.read_text(), re.M), f"{md.name} is not paired"
    nb = md.with_suffix(".ipynb")
    assert nb.exists(), f"missing paired notebook {nb.name}"
    shutil.copy(md, tmp_path / "x.md")
    shutil.copy(nb, tmp_path / "x.ipynb")
    subprocess.run([sys.executable, "-m", "jupytext", "-q", "--update", "--to", "ipynb", "x.md"],
                   cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "x.ipynb").read_bytes() == nb.read_bytes(), (
        f"{nb.name} is out of date: run `jupytext --update --to ipynb {md.relative_to(ROOT)}`")


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_notebook_is_output_free_and_installs_on_colab(md):
    nb = json.loads(md.with_suffix(".ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    first = code[0]
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert "remove-cell" in first["metadata"].get("tags", [])
    src = "".join(first["source"])
    assert '"google.colab" in sys.modules' in src and f"git+{url}" in src
