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
import latexcodec  # noqa: F401  (registers the "ulatex" codec; listed in requirements.txt)
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
def chapter_numbers() -> dict[str, int]:
    """Chapter number by page stem: the order of the numbered part of ``_toc.yml`` (as Sphinx numbers it)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) if part.get("numbered")
             for c in part.get("chapters", [])]
    return {Path(f).stem: i for i, f in enumerate(files, start=1)}


def _fence_mask(lines: list[str]) -> list[bool]:
    """True for the lines of plain (non-directive) code fences, whose text is code, not markup."""
    mask, stack = [], []  # stack of (fence, is_directive)
    for line in lines:
        stripped = line.strip()
        if stack and not stack[-1][1]:  # inside a plain code fence: only its own fence closes it
            mask.append(True)
            if stripped == stack[-1][0]:
                stack.pop()
            continue
        if stack and stripped == stack[-1][0]:
            stack.pop()
            mask.append(False)
        elif (m := OPEN.match(stripped)):
            stack.append((m["fence"], True))
            mask.append(False)
        elif (m := re.match(r"^(`{3,}|~{3,})", stripped)):
            stack.append((m[1], False))
            mask.append(True)
        else:
            mask.append(False)
    return mask


class Numbers:
    """One numbering pass over a chapter, in reading order, giving what Sphinx gives on the web: one counter
    per kind of proof-like block (sphinx-proof), one for exercises (sphinx-exercise), one for labelled display
    equations, one for named figures; each number prefixed by the chapter's ("Theorem 3.1", "(3.2)")."""

    def __init__(self, cells: list, chapter: int | None = None, page: str = ""):
        self.page = page
        self.prefix = f"{chapter}." if chapter else ""
        self.labels: dict[str, str] = {}   # label -> what a reference shows: "Theorem 3.1", "(3.2)", "Figure 3.1"
        self.kinds: dict[str, str] = {}    # label -> "prf" | "exercise" | "eq" | "fig" | "section"
        self.blocks: list[tuple[str, str]] = []  # (directive, number shown in its title) in reading order
        self.figures: dict[int, str] = {}  # code cell index -> "Figure 3.1"
        counts: dict[str, int] = {}

        def count(kind: str) -> str:
            counts[kind] = counts.get(kind, 0) + 1
            return f"{self.prefix}{counts[kind]}"

        for index, cell in enumerate(cells):
            if cell.cell_type == "code":
                fig = ((cell.metadata.get("mystnb") or {}).get("figure") or {})
                if fig.get("name"):
                    self.figures[index] = f"Figure {count('figure')}"
                    self._add(fig["name"], self.figures[index], "fig")
                continue
            lines = cell.source.splitlines()
            code = _fence_mask(lines)
            pending_label = None
            for i, line in enumerate(lines):
                if code[i]:
                    continue
                if (m := LABEL_LINE.match(line)):
                    pending_label = m["label"]
                    continue
                if pending_label and (h := re.match(r"^#+\s+(.*)$", line)):
                    self._add(pending_label, h[1].strip(), "section")
                pending_label = None
                if (m := MATH_LABEL.match(line)):
                    self._add(m["label"], f"({count('equation')})", "eq")
                if (m := OPEN.match(line)) is None:
                    continue
                name, opts = m["name"], _options(lines, i + 1)[0]
                label = opts.get("label")
                if name.startswith("prf:") and name != "prf:proof":
                    kind = name.split(":", 1)[1]
                    shown = "" if "nonumber" in opts else count(kind)
                    title = f"{PRF_TITLES.get(kind, kind.title())} {shown}".strip()
                elif name == "exercise":
                    shown = "" if "nonumber" in opts else count("exercise")
                    title = f"Exercise {shown}".strip()
                else:
                    continue
                self.blocks.append((name, title))
                if label:
                    self._add(label, title, "exercise" if name == "exercise" else "prf")

    def _add(self, label: str, shown: str, kind: str) -> None:
        if label in self.labels:
            raise ConversionError(f"{self.page}: the label {label!r} is defined twice")
        self.labels[label], self.kinds[label] = shown, kind


_BOOK_NUMBERS: dict[tuple, dict[str, Numbers]] = {}


def book_numbers() -> dict[str, Numbers]:
    """Every chapter's numbers, by page stem (a reference may point to another chapter)."""
    pages = chapters()
    key = tuple((p, p.stat().st_mtime_ns) for p in pages) + ((ROOT / "_toc.yml").stat().st_mtime_ns,)
    if key not in _BOOK_NUMBERS:
        numbered = chapter_numbers()
        _BOOK_NUMBERS.clear()
        _BOOK_NUMBERS[key] = {p.stem: Numbers(jupytext.read(p, fmt="md:myst").cells, numbered.get(p.stem), p.name)
                              for p in pages}
    return _BOOK_NUMBERS[key]


def numbers_of(md: Path) -> dict[str, str]:
    """What each label of a chapter is called on Colab ("Theorem 3.1", "(3.2)", "Figure 3.1")."""
    n = book_numbers()[md.stem]
    return {k: v for k, v in n.labels.items() if n.kinds[k] != "section"}


def _options(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    """The ``:key: value`` options of a directive starting at ``lines[start]``, and the index after them."""
    opts, i = {}, start
    while i < len(lines) and (m := re.match(r"^:([\w-]+):\s*(.*)$", lines[i])):
        opts[m[1]] = m[2].strip()
        i += 1
    return opts, i


# ------------------------------------------------------------------------------------------ markdown
TOKEN = re.compile(r"(?P<role>\{(?P<name>[\w:-]+)\}`(?P<body>[^`]*)`)|(?P<code>(?P<ticks>`+).+?(?P=ticks))")
REF_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<label>[\w-]+)>$")


class Converter:
    def __init__(self, numbers: Numbers, bib: Bibliography, book: dict[str, Numbers] | None = None):
        self.numbers, self.bib = numbers, bib
        self.book = book or {numbers.page: numbers}
        self.blocks = iter(numbers.blocks)

    def _target(self, label: str) -> tuple[str, str]:
        """(what the reference shows, the link) of a label in this chapter or another."""
        if label in self.numbers.labels:
            return self.numbers.labels[label], f"#{label}"
        for stem, n in self.book.items():
            if label in n.labels:
                return n.labels[label], f"{book_url()}book/{stem}.html#{label}"
        raise ConversionError(f"{self.numbers.page}: reference to unknown label {label!r}")

    def reference(self, role: str, body: str) -> str:
        m = REF_TARGET.match(body)
        text, label = (m["text"], m["label"]) if m else ("", body.strip())
        shown, url = self._target(label)
        if role == "eq":
            return f"[{shown}]({url})"
        if text:
            number = re.sub(r"^\D*", "", shown).strip("()")
            shown = text.replace("%s", number).replace("{number}", number)
        return f"[{shown}]({url})"

    def roles(self, text: str) -> str:
        def replace(m: re.Match) -> str:
            if m["code"]:  # inline code is shown as written, roles and all
                return m["code"]
            role, body = m["name"], m["body"]
            keys = [k.strip() for k in body.split(",") if k.strip()]
            if role == "cite:t":
                return self.bib.cite_t(keys)
            if role in ("cite:p", "cite"):
                return self.bib.cite_p(keys)
            if role in ("eq", "prf:ref", "ref", "numref"):
                return self.reference(role, body)
            if role in ("glue:text", "glue", "glue:md"):
                return f"`{body.split(':', 1)[0]}`"
            if role == "math":
                return f"${body}$"
            if role == "doc":
                return f"[{body}]({book_url()}book/{Path(body).stem}.html)"
            raise ConversionError(f"the role {{{role}}} has no Colab rendering; teach book/make_notebooks.py")
        return TOKEN.sub(replace, text)

    def links(self, text: str) -> str:
        def replace(m: re.Match) -> str:
            page = Path(m["target"]).stem
            return f"]({book_url()}book/{page}.html{m['anchor'] or ''})"
        return LINK.sub(replace, text)

    def inline(self, text: str) -> str:
        return self.links(self.roles(text))

    def block(self, name: str, title_number: str, arg: str, opts: dict[str, str], body: list[str]) -> list[str]:
        anchor = [f'<a id="{opts["label"]}"></a>', ""] if "label" in opts else []
        if name == "prf:proof":
            return anchor + ["*Proof.*", ""] + body[:-1] + [body[-1] + " $\\blacksquare$"]
        if name.startswith("prf:") or name == "exercise":
            title = f"**{title_number}**" + (f" ({arg})" if arg else "")
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
        code = _fence_mask(lines)
        while i < len(lines):
            line = lines[i]
            if code[i]:
                out.append(line)
                i += 1
                continue
            if (m := LABEL_LINE.match(line)):
                out.append(f'<a id="{m["label"]}"></a>')
                i += 1
                continue
            if (m := MATH_LABEL.match(line)):
                out += [f"\\tag{{{self.numbers.labels[m['label']].strip('()')}}}", "$$", f'<a id="{m["label"]}"></a>']
                i += 1
                continue
            if (m := OPEN.match(line)):
                opts, j = _options(lines, i + 1)
                end = next((k for k in range(j, len(lines)) if lines[k].strip() == m["fence"]), None)
                if end is None:
                    raise ConversionError(f"directive {{{m['name']}}} is not closed in the same Markdown cell")
                title = ""
                if (m["name"].startswith("prf:") and m["name"] != "prf:proof") or m["name"] == "exercise":
                    name, title = next(self.blocks)  # the one numbering pass, in the same reading order
                    assert name == m["name"], (name, m["name"])
                body = self.markdown("\n".join(lines[j:end])).strip("\n").splitlines()
                out += self.block(m["name"], title, self.roles(m["arg"].strip()), opts, body)
                i = end + 1
                continue
            out.append(self.inline(line))
            i += 1
        return "\n".join(out)

    def figure_caption(self, index: int, cell) -> str:
        """The numbered caption that the web page shows under a figure cell, for Colab."""
        fig = cell.metadata["mystnb"]["figure"]
        caption = self.inline(" ".join(str(fig.get("caption", "")).split()))
        return f'<a id="{fig["name"]}"></a>\n\n**{self.numbers.figures[index]}.** {caption}'


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
    book = book_numbers()
    numbers = book[md.stem] if md.parent == BOOK and md.stem in book else Numbers(
        src.cells, chapter_numbers().get(md.stem), md.name)
    book = {**book, md.stem: numbers}
    conv = Converter(numbers, Bibliography(BOOK / "references.bib"), book)
    chapter = chapter_numbers().get(md.stem)
    page = f"{book_url()}book/{md.stem}.html"
    cells = []
    for index, c in enumerate(src.cells):
        if c.cell_type == "markdown":
            text = _expand_macros(conv.markdown(c.source), macros)
            if not cells:  # under the title: where the rendered chapter lives
                if chapter:
                    text = re.sub(r"^# ", f"# {chapter}. ", text, count=1)
                text += (f"\n\n*This notebook runs the chapter of the book* The Implicit Geometry of Next-Token "
                         f"Prediction; *the rendered chapter is at <{page}>. T24 and Z24 are the two papers the "
                         f"book teaches, Thrampoulidis (2024) and Zhao et al. (2024); see Works cited at the end.*")
            cells.append(nbformat.v4.new_markdown_cell(text))
        elif c.cell_type == "code":
            meta = {k: v for k, v in c.metadata.items() if k in ("tags",)}
            cells.append(nbformat.v4.new_code_cell(c.source, metadata=meta))
            if index in numbers.figures:
                cells.append(nbformat.v4.new_markdown_cell(_expand_macros(conv.figure_caption(index, c), macros)))
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
