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


# ------------------------------------------------------------------------------------------ numbering and references
PAGES = CHAPTERS + [ROOT / "book" / "intro.md"]
PAPER_REF = re.compile(  # a numbered object of one of the papers, always named with its paper: "T24 Thm 2", "Z24 eq. (8)"
    r"\b[TZ]24(?:'s)?\s+(?:[A-Z][a-z]*\.?|§|eqs?\.|Eqs?\.|Figs?\.?|Thms?\.?|Props?\.?|Lemmas?|Cors?\.?|Defs?\.?)\s*"
    r"\(?[\dA-Z]+[a-z]?\)?(?:\s*(?:,|and|or|–|-|&)\s*\(?\d+[a-z]?\)?)*")
BARE_REF = re.compile(
    r"\b(?:definition|def\.|theorem|thm\.?|lemma|proposition|prop\.|corollary|cor\.|exercise|figure|figs?\.|"
    r"table|section|chapter|eqs?\.|equation|appendix)\s+\(?\d+(?:\.\d+)?[a-z]?\)?|§\s*\d|(?<![\w\\^_])\(\d+[a-z]?\)",
    re.I)


def _prose(md: Path) -> list[tuple[int, str]]:
    """(line number, text) of the prose of a MyST page, without code, math, roles, links' text and options."""
    out, code, math = [], False, False
    for n, line in enumerate(md.read_text().splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("```{code-cell}") or (stripped.startswith("```") and not stripped.startswith("```{") and not code and stripped != "```"):
            code = True
            continue
        if code:
            code = not stripped.startswith("```")
            continue
        if stripped.startswith("$$"):
            math = not math and not re.match(r"^\$\$.*\$\$", stripped) and stripped == "$$" or (math and False)
            if stripped != "$$":
                math = False
            continue
        if math or re.match(r"^:[\w-]+:", stripped) or stripped.startswith("|---"):
            continue
        text = re.sub(r"`[^`]*`", " ", line)                      # roles' bodies and inline code
        text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$", " ", text)        # math
        text = re.sub(r"\[[^\]]*\]\([^)]*\)", " ", text)           # links: their text is a live reference
        text = re.sub(r"<[^>]+>", " ", text)
        text = re.sub(r'"[^"\n]{1,30}"', " ", text)              # a quoted example of a name ("Theorem 3.1")
        text = PAPER_REF.sub(" ", text)
        out.append((n, text))
    return out


def bare_references(md: Path) -> list[str]:
    """In-book references typed as text instead of {numref}/{prf:ref}/{eq}/a link, and unprefixed paper numbers."""
    return [f"{md.name}:{n}: {m[0]!r}" for n, text in _prose(md) for m in BARE_REF.finditer(text)]


@pytest.mark.parametrize("md", PAGES, ids=lambda p: p.stem)
def test_every_reference_in_prose_is_a_link(md):
    found = bare_references(md)
    assert not found, "references typed by hand (use {numref}, {prf:ref}, {eq}, a link, or prefix T24/Z24):\n" + "\n".join(found)


def test_bare_reference_check(tmp_path):
    page = tmp_path / "x.md"
    page.write_text("By Lemma 1 and (8), see chapter 4, exercise 2, and Figure 3.1.\n"
                    "By T24 Thm 2, Z24 eq. (8), T24 Figs 4–5 and {prf:ref}`thm-x`, [chapter 4](04_x.md), $f(1)$.\n")
    found = " ".join(bare_references(page))
    for bad in ("Lemma 1", "(8)", "chapter 4", "exercise 2", "Figure 3.1"):
        assert repr(bad) in found, bad
    assert found.count(":2:") == 0


def _myst(tmp_path, name, body):
    md = tmp_path / name
    md.write_text("---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n---\n\n" + body)
    return md


def test_converter_numbers_as_sphinx_does(tmp_path, monkeypatch):
    """One pass: one counter per proof kind, one for exercises, equations and named figures; chapter prefix;
    unlabelled blocks count; :nonumber: does not."""
    monkeypatch.setattr(make_notebooks, "chapter_numbers", lambda: {"07_x": 7})
    md = _myst(tmp_path, "07_x.md",
               "# Title\n\n```{prf:theorem} A\n:label: thm-a\n\nx\n```\n\n```{prf:definition}\n:label: def-a\n\ny\n```\n\n"
               "```{prf:theorem}\n\nunlabelled\n```\n\n```{prf:theorem}\n:label: thm-c\n:nonumber:\n\nz\n```\n\n"
               "```{prf:theorem} B\n:label: thm-b\n\n$$\na\n$$ (eq-a)\n```\n\n"
               "```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    name: fig-a\n    caption: The {prf:ref}`thm-b` curve.\n---\n"
               "plt.show()\n```\n\n"
               "See {prf:ref}`thm-b`, {eq}`eq-a`, {numref}`fig-a`, {numref}`Fig. %s <fig-a>`, ``{eq}`not-a-role` ``, "
               "``{prf:ref}`x` `` and {prf:ref}`def-a`.\n\n```python\n{numref}`in-code`\n```\n")
    labels = make_notebooks.Numbers(__import__("jupytext").read(md, fmt="md:myst").cells, 7, md.name).labels
    assert labels == {"thm-a": "Theorem 7.1", "def-a": "Definition 7.1", "thm-c": "Theorem", "thm-b": "Theorem 7.3",
                      "eq-a": "(7.1)", "fig-a": "Figure 7.1"}
    nb = make_notebooks.notebook(md)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert text.startswith("# 7. Title")
    assert "> **Theorem 7.3** (B)" in text and "> **Theorem 7.2**" in text and "\\tag{7.1}" in text
    assert "[Theorem 7.3](#thm-b)" in text and "[(7.1)](#eq-a)" in text and "[Figure 7.1](#fig-a)" in text
    assert "[Fig. 7.1](#fig-a)" in text and "``{eq}`not-a-role` ``" in text and "``{prf:ref}`x` ``" in text
    assert "{numref}`in-code`" in text  # code blocks are code
    assert '<a id="fig-a"></a>' in text and "**Figure 7.1.** The [Theorem 7.3](#thm-b) curve." in text
    kinds = [c.cell_type for c in nb.cells]
    assert kinds[kinds.index("code") + 1] == "markdown"  # the caption sits under its figure


def test_converter_links_references_to_other_chapters_and_rejects_unknown_labels(tmp_path):
    book = make_notebooks.book_numbers()
    label, shown = next((k, v) for k, v in book[CHAPTERS[0].stem].labels.items() if k.startswith(("thm-", "def-")))
    md = _myst(tmp_path, "98_y.md", f"# T\n\nBy {{prf:ref}}`{label}`.\n")
    text = "".join(c.source for c in make_notebooks.notebook(md).cells if c.cell_type == "markdown")
    assert f"[{shown}]({make_notebooks.book_url()}book/{CHAPTERS[0].stem}.html#{label})" in text
    upper = _myst(tmp_path, "96_u.md", "# T\n\n$$\na\n$$ (eq-Upper)\n")
    with pytest.raises(make_notebooks.ConversionError, match="lower-case"):
        make_notebooks.notebook(upper)
    bad = _myst(tmp_path, "97_z.md", "# T\n\nBy {prf:ref}`thm-nowhere`.\n")
    with pytest.raises(make_notebooks.ConversionError, match="thm-nowhere"):
        make_notebooks.notebook(bad)


def test_labels_are_unique_book_wide():
    seen: dict[str, str] = {}
    for stem, numbers in make_notebooks.book_numbers().items():
        for label in numbers.labels:
            assert label not in seen, f"{label} in {seen.get(label)} and {stem}"
            seen[label] = stem


def test_chapter_titles_carry_no_typed_number():
    for md in CHAPTERS:
        title = next(line for line in md.read_text().splitlines() if line.startswith("# "))
        assert not re.match(r"^# (?:\d+|[A-Z])\.\s", title) or md.stem not in make_notebooks.chapter_numbers(), (
            f"{md.name}: the numbered TOC numbers the chapter; its title must not ({title!r})")


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_no_result_depends_on_the_python_release(md):
    """The manual topics of `load_text("python-docs")` change with every Python release: chapters compute on the
    shipped corpus (*Alice*) or on TinyStories, and name "python-docs" at most as an alternative in a comment."""
    code = "\n".join(line.split("#")[0] for line in md.read_text().splitlines())
    assert "python-docs" not in code, f"{md.name} computes on load_text('python-docs')"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_title_has_no_quote_marks(md):
    """sphinx-proof finds a result's chapter in the PDF by matching the section's name with its title; smart quotes
    turn ' and " in the title into ’ and ” after the name is made, so every definition and theorem of such a chapter
    loses its number and its label in the PDF (printed as "Definition  (…)" and "??")."""
    title = next(line for line in md.read_text().splitlines() if line.startswith("# "))
    assert not set("'\"") & set(title), title
