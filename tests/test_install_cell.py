"""Each chapter's first cell installs the library at the book's own version on Colab, and stops with a clear
message naming the repository and the version when the library is not there."""

import re
import tomllib
from pathlib import Path

import jupytext
import pytest
import yaml

import ntpbook_lib as nl

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
REPO = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
CHAPTERS = sorted([*(ROOT / "book").glob("[0-9][0-9]_*.md"), *(ROOT / "book").glob("appendix_*.md")])


def test_the_library_says_the_version_the_package_declares():
    assert nl.__version__ == VERSION


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_install_cell_pins_the_version_and_fails_loudly(md):
    first = next(c for c in jupytext.read(md, fmt="md:myst").cells if c.cell_type == "code")
    src = first.source
    assert 'if "google.colab" in sys.modules' in src, "installs only on Colab"
    assert re.search(rf'%pip install -q "git\+{re.escape(REPO)}@v{re.escape(VERSION)}"', src), (
        f"{md.name}: the install cell must pin git+{REPO}@v{VERSION}")
    assert "import ntpbook_lib" in src and "raise ImportError(" in src, "a failed install must stop the notebook"
    assert REPO in src.split("raise ImportError(")[1] and VERSION in src.split("raise ImportError(")[1]


def test_the_landing_page_describes_the_install_cell_at_this_version():
    intro = (ROOT / "book" / "intro.md").read_text()
    assert f"{REPO}@v{VERSION}" in intro
