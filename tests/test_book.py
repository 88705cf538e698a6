"""The book's own invariants: chapters and appendices in the TOC, each with a generated, output-free Colab notebook that
shows plain Markdown (no MyST-only markup) and installs the library on Colab."""

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "book" / "make_notebooks.py")
make_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_notebooks)
CHAPTERS = make_notebooks.chapters()  # the numbered chapters and the appendices

MYST_ONLY = re.compile(r"\{(?:prf:|exercise|solution|cite|eq\}|glue|numref|ref\}|doc\})|^```\{|^\(\S+\)=\s*$|^\$\$\s*\(", re.M)


def test_there_are_chapters():
    assert CHAPTERS, "no chapters found in book/"


def test_toc_lists_every_chapter():
    toc = (ROOT / "_toc.yml").read_text()
    listed = set(re.findall(r"file:\s*book/(\d\d_\w+|appendix_\w+)", toc))
    assert listed == {p.stem for p in CHAPTERS}


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_colab_notebook_is_up_to_date(md):
    nb = md.with_suffix(".ipynb")
    assert nb.exists(), f"missing notebook {nb.name}: run `python book/make_notebooks.py`"
    assert nb.read_text() == make_notebooks.render(md), (
        f"{nb.name} is out of date: run `python book/make_notebooks.py`")


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_colab_notebook_is_plain_markdown(md):
    nb = json.loads(md.with_suffix(".ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            assert not MYST_ONLY.search(text), f"MyST-only markup left for Colab: {MYST_ONLY.search(text)[0]!r}"
            assert text.count("<details>") == text.count("</details>")
    source = md.read_text()
    shown = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert shown.count("<details>") == source.count("{solution-start}"), "every solution collapsed"
    assert shown.count("> **Exercise ") == source.count("```{exercise}")
    if "{cite:" in source:
        assert "## Works cited" in shown


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_code_cells_are_the_chapters(md):
    import jupytext

    src = [c.source for c in jupytext.read(md, fmt="md:myst").cells if c.cell_type == "code"]
    nb = json.loads(md.with_suffix(".ipynb").read_text())
    assert ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"] == src


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


def test_converter_renders_myst_for_colab(tmp_path, monkeypatch):
    md = tmp_path / "99_x.md"
    md.write_text('---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n---\n\n'
                  "# T\n\n```{prf:theorem} Bound\n:label: thm-b\n\nText $x$.\n\n$$\na = b\n$$ (eq-a)\n```\n\n"
                  "By {prf:ref}`thm-b` and {eq}`eq-a`, see {cite:t}`zhao2024implicit` and "
                  "{glue:text}`val:.2f`.\n\n```{exercise}\n:label: ex-1\n\nDo it.\n```\n\n"
                  "```{solution-start} ex-1\n:class: dropdown\n```\n\nDone.\n\n```{solution-end}\n```\n")
    text = "".join("".join(c.source) for c in make_notebooks.notebook(md).cells if c.cell_type == "markdown")
    assert "> **Theorem 1** (Bound)" in text and "\\tag{1}" in text
    assert "[Theorem 1](#thm-b)" in text and "(1)" in text
    assert "Zhao et al. (2024)" in text and "`val`" in text
    assert "> **Exercise 1**" in text and "<details>" in text and "</details>" in text
    assert "## Works cited" in text and "Implicit Geometry of Next-token Prediction" in text
    bad = tmp_path / "98_y.md"
    bad.write_text("# T\n\n{foo}`bar`\n")
    with pytest.raises(make_notebooks.ConversionError, match="foo"):
        make_notebooks.notebook(bad)
