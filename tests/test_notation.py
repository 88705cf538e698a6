"""Every page follows the notation table of the landing page (book/intro.md): the retired symbols are gone.

Prose, math, figure labels and the strings code cells print are all searched (a table header or a legend is
read like prose); the chapters' own variable names in code are not."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "book").glob("*.md"))

RETIRED = [
    (re.compile(r"\b[LPS]\[\s*z\s*,\s*j\s*\]"), "token-first entry L[z, j]: write L_{zj} (= ℓ_{j,z}) or P_{zj} = p̂_{j,z}"),
    (re.compile(r"\\hat\s*p_\{?\s*z\s*,\s*j|\\ell_\{?\s*z\s*,\s*j"), "token-first p̂_{z,j} / ℓ_{z,j}: context first, p̂_{j,z}"),
    (re.compile("★"), "★: NTP-SVM⋆ is written NTP-SVM$_\\star$; 'Beyond the paper:' replaces the ★ marker"),
    (re.compile(r"NTP-SVM\s*(?:\$\s*)?\^|NTP-SVM\s*\$\^\\star\$"), "NTP-SVM^⋆: Z24's nuclear-norm SVM is NTP-SVM$_\\star$"),
    (re.compile(r"\bV\s*\^\s*\{?\s*(?:\\top|T\b|\\intercal)|(?<![A-Za-z])Vᵀ|(?:U|V)\s*(?:\\Sigma|Σ)\s*(?:\^\{?1/2\}?\s*)?V(?![A-Za-z0-9_])"),
     "V as a singular-vector factor: an SVD is U Σ Q^⊤ (V is the vocabulary size)"),
    (re.compile(r"\$?\bL\$?-smooth|smoothness (?:constant )?\$L\$|\\frac\{1\}\{2?\s*L\}|\b1\s*/\s*\(?2?\s*L\b\)?"),
     "L as a smoothness constant: it is β (T24 writes L)"),
    (re.compile(r"W\^\{?\*|(?<![*\w])W\*(?![*\w])"), "W* : T24's log-odds solution is W^⋆"),
]


def _checked_text(md: Path) -> list[tuple[int, str]]:
    """(line number, text) of what a reader reads: Markdown lines, and string literals and comments of code cells."""
    out, in_code = [], False
    for n, line in enumerate(md.read_text().splitlines(), start=1):
        if line.startswith("```{code-cell}"):
            in_code = True
            continue
        if in_code and line.startswith("```"):
            in_code = False
            continue
        if in_code:
            strings = re.findall(r"(?:[rfbu]{0,2})(\"[^\"\n]*\"|'[^'\n]*')", line)
            code = re.sub(r"\"[^\"\n]*\"|'[^'\n]*'", "", line)
            comment = code[code.index("#") + 1:] if "#" in code else ""
            text = " ".join([s[1:-1] for s in strings] + [comment]).strip()
            if text:
                out.append((n, text))
        else:
            out.append((n, line))
    return out


def retired_symbols(md: Path) -> list[str]:
    found = []
    for n, text in _checked_text(md):
        for pattern, why in RETIRED:
            for m in pattern.finditer(text):
                found.append(f"{md.name}:{n}: {m[0]!r} — {why}")
    return found


@pytest.mark.parametrize("md", PAGES, ids=lambda p: p.stem)
def test_no_retired_symbols(md):
    found = retired_symbols(md)
    assert not found, "\n".join(found)


def test_the_check_finds_each_retired_symbol(tmp_path):
    page = tmp_path / "x.md"
    page.write_text("$L[z, j]$ and NTP-SVM★ and NTP-SVM$^\\star$ and $U\\Sigma V^\\top$ and $L$-smooth\n"
                    "```{code-cell} ipython3\nW_star = 1\nprint(\"‖W*‖\")\nW, H = f(L)  # W Wᵀ = UΣUᵀ, HᵀH = VΣVᵀ\n```\n")
    found = " ".join(retired_symbols(page))
    for what in ("token-first", "★", "NTP-SVM^⋆", "singular-vector", "smoothness", "W^⋆", "'VΣV'"):
        assert what in found, what
    assert "W_star" not in found


@pytest.mark.parametrize("module", sorted((ROOT / "ntpbook_lib").glob("*.py")), ids=lambda p: p.stem)
def test_library_docstrings_use_the_books_notation(module):
    """The API page renders the library's docstrings: no ★, V never a singular-vector factor, W^⋆ for T24's
    log-odds solution.  (Array indexing such as ``S[z, j]`` is code there, so that rule is not applied.)"""
    rules = [(p, why) for p, why in RETIRED if why.startswith(("★", "V as a singular-vector", "W* "))]
    assert len(rules) == 3
    found = [f"{module.name}:{n}: {m[0]!r} — {why}" for n, line in enumerate(module.read_text().splitlines(), start=1)
             for p, why in rules for m in p.finditer(line)]
    assert not found, "\n".join(found)
