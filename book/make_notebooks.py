"""Generate each chapter's Colab notebook, ``book/NN_name.ipynb``, from its MyST source ``book/NN_name.md``.

The web book renders MyST directives and roles; Colab renders only Markdown, HTML and MathJax.  The code cells
are copied unchanged; the Markdown is rewritten so that a reader on Colab sees what the book shows:

- ``{prf:definition}``, ``{prf:theorem}``, ... become titled, numbered quote blocks; ``{prf:proof}`` an italic
  *Proof.* paragraph; ``{exercise}`` a numbered exercise; ``{solution-start}``/``{solution-end}`` a collapsed
  ``<details>`` block;
- labelled display equations get ``\\tag{N}`` and ``{eq}`` references become ``(N)``; ``{prf:ref}`` becomes
  "Theorem N"; ``{cite:t}``/``{cite:p}`` become author–year text, with the works cited listed at the end;
- ``{glue:text}`` values are named (the cell that computes them prints ``name = value`` on Colab);
- links to other pages of the book point to the published book.

Usage: ``python book/make_notebooks.py`` rewrites every notebook; ``--check`` only reports stale ones (exit 1).
"""

from __future__ import annotations

import argparse
import codecs
import hashlib
import json
import re
import sys
from pathlib import Path

import jupytext
import latexcodec  # noqa: F401  (registers the "ulatex" codec; comes with pybtex)
import nbformat
import yaml
from pybtex.database import parse_file

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
CHAPTER_GLOBS = ("[0-9][0-9]_*.md", "appendix_*.md")  # pages with a Colab notebook

PRF_TITLES = {"definition": "Definition", "theorem": "Theorem", "lemma": "Lemma", "proposition": "Proposition",
              "corollary": "Corollary", "remark": "Remark", "example": "Example", "conjecture": "Conjecture",
              "assumption": "Assumption", "property": "Property", "observation": "Observation",
              "algorithm": "Algorithm", "axiom": "Axiom", "criterion": "Criterion"}
ADMONITIONS = {"note", "tip", "warning", "important", "caution", "attention", "hint", "seealso"}
OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}\s*(?P<arg>.*)$")
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<body>[^`]*)`")
LABEL_LINE = re.compile(r"^\((?P<label>[\w-]+)\)=\s*$")
MATH_LABEL = re.compile(r"^\$\$\s*\((?P<label>[\w-]+)\)\s*$")
LINK = re.compile(r"\]\((?P<target>(?!https?:|#|mailto:)[^)\s]+?\.(?:md|ipynb))(?P<anchor>#[\w-]+)?\)")


class ConversionError(ValueError):
    """MyST markup the converter does not know how to show on Colab."""


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def book_url() -> str:
    """The published book's base URL (``html.baseurl`` in ``_config.yml``), ending in a slash."""
    url = config()["html"]["baseurl"]
    return url if url.endswith("/") else url + "/"


# ------------------------------------------------------------------------------------------ citations
PAPER_KEYS = {"thrampoulidis2024implicit": "T24", "zhao2024implicit": "Z24"}  # how the chapters name the two papers


def _plain(latex: str) -> str:
    """BibTeX text as plain Unicode: ``Hinterm{\\"u}ller`` → ``Hintermüller``."""
    latex = re.sub(r"\\url\{([^}]*)\}", r"<\1>", latex)  # a link stays a link
    return codecs.decode(latex, "ulatex").replace("{", "").replace("}", "")


def _last_names(persons) -> list[str]:
    return [_plain(" ".join(p.last_names)) for p in persons]


def _authors_short(entry) -> str:
    names = _last_names(entry.persons.get("author", []))
    if not names:
        return entry.fields.get("title", "?")
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def _full_reference(key: str, entry) -> str:
    people = entry.persons.get("author", [])
    authors = ", ".join(_plain(" ".join(p.first_names + p.middle_names + p.last_names)) for p in people)
    f = {k: _plain(v) for k, v in entry.fields.items()}
    venue = f.get("booktitle") or f.get("journal") or f.get("publisher") or f.get("howpublished") or ""
    parts = [f"[{PAPER_KEYS[key]}] " if key in PAPER_KEYS else ""]
    parts[0] += f"{authors} ({f.get('year', 'n.d.')}). *{f.get('title', key)}*."
    if venue:
        parts.append(f"{venue}.")
    if f.get("note"):
        parts.append(f"{f['note']}.")
    return " ".join(parts)


class Bibliography:
    def __init__(self, path: Path):
        self.entries = parse_file(str(path)).entries
        self.cited: list[str] = []

    def _entry(self, key: str):
        if key not in self.entries:
            raise ConversionError(f"citation key {key!r} is not in {self.entries and 'references.bib'}")
        if key not in self.cited:
            self.cited.append(key)
        return self.entries[key]

    def cite_t(self, keys: list[str]) -> str:
        return "; ".join(f"{_authors_short(e)} ({e.fields.get('year', 'n.d.')})" for e in map(self._entry, keys))

    def cite_p(self, keys: list[str]) -> str:
        return "(" + "; ".join(f"{_authors_short(e)}, {e.fields.get('year', 'n.d.')}" for e in map(self._entry, keys)) + ")"

    def works_cited(self) -> str:
        lines = ["## Works cited", ""]
        lines += [f"- {_full_reference(k, self.entries[k])}" for k in self.cited]
        lines += ["", f"The book's full bibliography: <{book_url()}book/bibliography.html>."]
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------ numbering
class Numbers:
    """Numbers of the chapter's equations, proof-like blocks and exercises, in order of appearance."""

    def __init__(self, markdown: list[str]):
        self.eq: dict[str, int] = {}
        self.block: dict[str, str] = {}
        self.exercises = 0
        counts: dict[str, int] = {}
        for text in markdown:
            lines = text.splitlines()
            for i, line in enumerate(lines):
                if (m := MATH_LABEL.match(line)):
                    self.eq[m["label"]] = len(self.eq) + 1
                if (m := OPEN.match(line)) is None:
                    continue
                name, label = m["name"], _options(lines, i + 1)[0].get("label")
                if name.startswith("prf:") and name != "prf:proof":
                    kind = name.split(":", 1)[1]
                    counts[kind] = counts.get(kind, 0) + 1
                    if label:
                        self.block[label] = f"{PRF_TITLES.get(kind, kind.title())} {counts[kind]}"
                elif name == "exercise":
                    self.exercises += 1
                    if label:
                        self.block[label] = f"Exercise {self.exercises}"


def _options(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    """The ``:key: value`` options of a directive starting at ``lines[start]``, and the index after them."""
    opts, i = {}, start
    while i < len(lines) and (m := re.match(r"^:([\w-]+):\s*(.*)$", lines[i])):
        opts[m[1]] = m[2].strip()
        i += 1
    return opts, i


# ------------------------------------------------------------------------------------------ markdown
class Converter:
    def __init__(self, numbers: Numbers, bib: Bibliography):
        self.numbers, self.bib = numbers, bib
        self.counts: dict[str, int] = {}
        self.exercise = 0
        self.in_solution = False

    def roles(self, text: str) -> str:
        def replace(m: re.Match) -> str:
            role, body = m["role"], m["body"]
            keys = [k.strip() for k in body.split(",") if k.strip()]
            if role == "cite:t":
                return self.bib.cite_t(keys)
            if role in ("cite:p", "cite"):
                return self.bib.cite_p(keys)
            if role == "eq":
                if body not in self.numbers.eq:
                    raise ConversionError(f"{{eq}} reference to unknown equation {body!r}")
                return f"({self.numbers.eq[body]})"
            if role in ("prf:ref", "ref", "numref"):
                if body not in self.numbers.block:
                    return f"[{body}](#{body})"
                return f"[{self.numbers.block[body]}](#{body})"
            if role in ("glue:text", "glue", "glue:md"):
                return f"`{body.split(':', 1)[0]}`"
            if role == "math":
                return f"${body}$"
            if role == "doc":
                return f"[{body}]({book_url()}book/{Path(body).stem}.html)"
            raise ConversionError(f"the role {{{role}}} has no Colab rendering; teach book/make_notebooks.py")
        return ROLE.sub(replace, text)

    def links(self, text: str) -> str:
        def replace(m: re.Match) -> str:
            page = Path(m["target"]).stem
            return f"]({book_url()}book/{page}.html{m['anchor'] or ''})"
        return LINK.sub(replace, text)

    def block(self, name: str, arg: str, opts: dict[str, str], body: list[str]) -> list[str]:
        anchor = [f'<a id="{opts["label"]}"></a>', ""] if "label" in opts else []
        if name == "prf:proof":
            return anchor + ["*Proof.*", ""] + body[:-1] + [body[-1] + " $\\blacksquare$"]
        if name.startswith("prf:"):
            kind = name.split(":", 1)[1]
            self.counts[kind] = self.counts.get(kind, 0) + 1
            title = f"**{PRF_TITLES.get(kind, kind.title())} {self.counts[kind]}**" + (f" ({arg})" if arg else "")
            return anchor + _quote([title, ""] + body)
        if name == "exercise":
            self.exercise += 1
            title = f"**Exercise {self.exercise}**" + (f" ({arg})" if arg else "")
            return anchor + _quote([title, ""] + body)
        if name == "solution-start":
            return ["<details>", "<summary><b>Solution</b> (click to show)</summary>", ""]
        if name == "solution-end":
            return ["", "</details>"]
        if name in ADMONITIONS or name == "admonition":
            title = arg if name == "admonition" else name.title()
            return _quote([f"**{title}.**", ""] + body)
        raise ConversionError(f"the directive {{{name}}} has no Colab rendering; teach book/make_notebooks.py")

    def markdown(self, text: str) -> str:
        lines, out, i = text.splitlines(), [], 0
        while i < len(lines):
            line = lines[i]
            if (m := LABEL_LINE.match(line)):
                out.append(f'<a id="{m["label"]}"></a>')
                i += 1
                continue
            if (m := MATH_LABEL.match(line)):
                out += [f"\\tag{{{self.numbers.eq[m['label']]}}}", "$$"]
                i += 1
                continue
            if (m := OPEN.match(line)):
                opts, j = _options(lines, i + 1)
                end = next((k for k in range(j, len(lines)) if lines[k].strip() == m["fence"]), None)
                if end is None:
                    raise ConversionError(f"directive {{{m['name']}}} is not closed in the same Markdown cell")
                body = self.markdown("\n".join(lines[j:end])).strip("\n").splitlines()
                out += self.block(m["name"], self.roles(m["arg"].strip()), opts, body)
                i = end + 1
                continue
            out.append(self.links(self.roles(line)))
            i += 1
        return "\n".join(out)


def _quote(lines: list[str]) -> list[str]:
    """A block quote; each display equation on one line, since renderers that take ``$$ … $$`` out before
    parsing Markdown would otherwise pass the quote's ``>`` markers to TeX."""
    joined, math = [], None
    for x in lines:
        if math is None and x.strip() == "$$":
            math = []
        elif math is not None and x.strip() == "$$":
            joined.append("$$ " + " ".join(m.strip() for m in math) + " $$")
            math = None
        elif math is not None:
            math.append(x)
        else:
            joined.append(x)
    if math is not None:
        raise ConversionError("a display equation inside a block is not closed")
    return [f"> {x}" if x.strip() else ">" for x in joined]


def _expand_macros(text: str, macros: dict[str, str]) -> str:
    for name, expansion in macros.items():
        text = re.sub(rf"\\{name}(?![A-Za-z])", lambda _m, e=expansion: e, text)
    return text


def _cell_id(index: int, source: str) -> str:
    return hashlib.sha1(f"{index}\n{source}".encode()).hexdigest()[:12]


def notebook(md: Path) -> nbformat.NotebookNode:
    """The Colab notebook of one chapter."""
    src = jupytext.read(md, fmt="md:myst")
    macros = (config()["sphinx"]["config"].get("mathjax3_config", {}).get("tex", {}).get("macros", {}))
    markdown = [c.source for c in src.cells if c.cell_type == "markdown"]
    conv = Converter(Numbers(markdown), Bibliography(BOOK / "references.bib"))
    page = f"{book_url()}book/{md.stem}.html"
    cells = []
    for c in src.cells:
        if c.cell_type == "markdown":
            text = _expand_macros(conv.markdown(c.source), macros)
            if not cells:  # under the title: where the rendered chapter lives
                text += (f"\n\n*This notebook runs the chapter of the book* The Implicit Geometry of Next-Token "
                         f"Prediction; *the rendered chapter is at <{page}>. T24 and Z24 are the two papers the "
                         f"book teaches, Thrampoulidis (2024) and Zhao et al. (2024); see Works cited at the end.*")
            cells.append(nbformat.v4.new_markdown_cell(text))
        elif c.cell_type == "code":
            meta = {k: v for k, v in c.metadata.items() if k in ("tags",)}
            cells.append(nbformat.v4.new_code_cell(c.source, metadata=meta))
        else:
            raise ConversionError(f"{md.name}: unexpected {c.cell_type} cell")
    if conv.bib.cited:
        cells.append(nbformat.v4.new_markdown_cell(conv.bib.works_cited()))
    for i, cell in enumerate(cells):
        cell["id"] = _cell_id(i, cell.source)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"},
                   "colab": {"provenance": [], "toc_visible": True}}
    return nb


def render(md: Path) -> str:
    return json.dumps(notebook(md), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def chapters() -> list[Path]:
    """The chapters and appendices, in reading order."""
    return [p for pattern in CHAPTER_GLOBS for p in sorted(BOOK.glob(pattern))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale notebooks instead of writing them")
    args = parser.parse_args(argv)
    stale = []
    for md in chapters():
        text, nb = render(md), md.with_suffix(".ipynb")
        if nb.exists() and nb.read_text() == text:
            continue
        stale.append(nb)
        if not args.check:
            nb.write_text(text)
    for nb in stale:
        print(("stale: " if args.check else "wrote ") + str(nb.relative_to(ROOT)))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
