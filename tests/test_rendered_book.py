"""The built book as a reader sees it (run after `jupyter-book build .`; see tests/rendered.py).

Skipped when there is no build, unless NTPBOOK_CHECK_BUILD=1 (as in CI), which makes a missing build, or a
missing browser, a failure."""

import os
from pathlib import Path

import pytest

import rendered

BUILD = Path(__file__).resolve().parents[1] / "_build"
REQUIRED = os.environ.get("NTPBOOK_CHECK_BUILD") == "1"
HAVE_BUILD = (BUILD / "html" / "index.html").exists()

if not HAVE_BUILD:
    if REQUIRED:
        raise RuntimeError("NTPBOOK_CHECK_BUILD=1 but there is no _build/html: run `jupyter-book build .` first")
    pytest.skip("no built book in _build (run `jupyter-book build .`)", allow_module_level=True)

PAGES = rendered.all_pages(BUILD)
CHAPTER_NAMES = [p.stem for p in rendered.chapter_pages(BUILD)]


def _by_page(problems):
    out = {}
    for p in problems:
        out.setdefault(p.page.split(" [")[0], []).append(str(p))
    return out


def test_every_chapter_page_was_built():
    sources = sorted(p.stem for p in (BUILD.parent / "book").glob("[0-9][0-9]_*.md"))
    assert set(sources) <= set(CHAPTER_NAMES)


def test_every_drawing_cell_has_its_figure():
    assert not rendered.check_figures(BUILD), "\n".join(map(str, rendered.check_figures(BUILD)))


def test_no_error_output():
    assert not rendered.check_errors(BUILD), "\n".join(map(str, rendered.check_errors(BUILD)))


def test_no_raw_markup_in_rendered_text():
    problems = rendered.check_raw_markup(BUILD)
    assert not problems, "\n".join(map(str, problems))


def test_internal_links_resolve():
    problems = rendered.check_links(BUILD)
    assert not problems, "\n".join(map(str, problems))


@pytest.fixture(scope="module")
def browser_problems():
    missing = rendered.browser_available()
    if missing:
        if REQUIRED:
            pytest.fail(f"the browser pass needs {missing}")
        pytest.skip(f"browser pass needs {missing}")
    return _by_page(rendered.browser_checks(BUILD))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(BUILD / "html").as_posix())
def test_page_in_a_browser(page, browser_problems):
    """MathJax typesets without error, nothing is wider than the text column, images load, text is readable,
    in the light and the dark theme."""
    problems = browser_problems.get(page.relative_to(BUILD / "html").as_posix(), [])
    assert not problems, "\n".join(problems)


def test_every_figure_reads_at_nine_px_with_colour_scales():
    """Smallest text >= 9 CSS px in the column, <= 3 panels (2 heatmaps) per row, a colour scale on every
    heatmap: measured by ntpbook_lib.plotting when the figure was drawn, read back from the PNG."""
    problems = rendered.check_figure_sizes(BUILD)
    assert not problems, "\n".join(map(str, problems))


def test_every_figure_is_numbered_and_captioned():
    problems = rendered.check_captions(BUILD)
    assert not problems, "\n".join(map(str, problems))


def test_numbers_are_the_same_on_the_web_and_on_colab():
    """Every labelled definition, theorem, exercise, equation and figure: the number the web page shows is the
    number the Colab notebook shows."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", BUILD.parent / "book" / "make_notebooks.py")
    make_notebooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_notebooks)
    differ = []
    for md in make_notebooks.chapters():
        page = BUILD / "html" / "book" / f"{md.stem}.html"
        web = rendered.web_numbers(page)
        for label, colab in make_notebooks.numbers_of(md).items():
            if web.get(label) != colab:
                differ.append(f"{md.stem}: {label}: web {web.get(label)!r}, Colab {colab!r}")
    assert not differ, "\n".join(differ)


def test_the_ipynb_download_is_the_colab_notebook():
    for md in sorted((BUILD.parent / "book").glob("[0-9][0-9]_*.md")):
        download = BUILD / "html" / "_sources" / "book" / f"{md.stem}.ipynb"
        assert download.read_text() == md.with_suffix(".ipynb").read_text(), download


def test_no_empty_general_index_and_a_titled_proof_index():
    assert not (BUILD / "html" / "genindex.html").exists()
    proofs = (BUILD / "html" / "prf-prf.html").read_text()
    assert "Theorem 1.1" in proofs and ">thm-" not in proofs
