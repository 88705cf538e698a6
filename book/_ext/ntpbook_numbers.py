"""Sphinx extension: the book's numbering, shown as readers need it.

- Definitions, theorems, exercises, equations and figures are numbered per chapter by Sphinx itself (the
  numbered chapters in ``_toc.yml``, ``numfig`` with ``numfig_secnum_depth: 1``): "Theorem 3.1", "(4.2)",
  "Figure 5.1".  sphinx-proof and sphinx-exercise use Sphinx's figure numbers, one counter per kind.
- The proof index (``prf-prf.html``) lists each object by its number and title ("Theorem 3.1 (Convergence)")
  instead of its internal label, in reading order.
- The ``.ipynb`` download of each chapter is the generated Colab notebook (``book/NN_name.ipynb``: plain Markdown,
  output-free), not the executed MyST notebook, whose Markdown cells show raw MyST roles in Jupyter.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from docutils import nodes


_TEX = [(r"\\mathcal\s*\{?([A-Za-z])\}?", r"\1"), (r"\\rm\s*", ""), (r"\^\{?\\star\}?", "⋆"),
        (r"_\{?\\star\}?", "⋆"), (r"\\star", "⋆"), (r"\\tilde\s*\{?([A-Za-z])\}?", "\\1\u0303"),
        (r"\\[A-Za-z]+\s*", ""), (r"[{}$]", "")]


def _plain(text: str) -> str:
    """A title's inline TeX as plain text for the index ("NTP$_{\\mathcal H}$" → "NTP_H")."""
    import re

    for pattern, replacement in _TEX:
        text = re.sub(pattern, replacement, text)
    return text


def _titles(app, doctree):
    """Remember each proof-like block's title (the directive's argument) by label."""
    env = app.env
    titles = getattr(env, "ntpbook_prf_titles", {})
    proofs = getattr(env, "proof_list", {})
    for node in doctree.findall(nodes.Element):
        for label in node.get("ids", []):
            if label in proofs and proofs[label]["docname"] == env.docname:
                title = next(iter(node.findall(nodes.title)), None)
                text = _plain(title.astext().strip()) if title is not None else ""
                titles[label] = text[1:-1].strip() if text.startswith("(") and text.endswith(")") else text
    env.ntpbook_prf_titles = titles


def _merge(app, env, docnames, other):
    env.ntpbook_prf_titles = {**getattr(env, "ntpbook_prf_titles", {}), **getattr(other, "ntpbook_prf_titles", {})}


def _purge(app, env, docname):
    titles = getattr(env, "ntpbook_prf_titles", {})
    proofs = getattr(env, "proof_list", {})
    for label in [k for k in titles if proofs.get(k, {}).get("docname") == docname]:
        del titles[label]


def number_of(env, label: str) -> str:
    """The displayed number of a proof-like block ("3.1"), as Sphinx assigned it."""
    entry = env.proof_list[label]
    if entry.get("nonumber"):
        return ""
    return ".".join(map(str, env.toc_fignumbers.get(entry["docname"], {}).get(entry["countertype"], {}).get(label, ())))


def _generate(self, docnames=None):
    """Proof index entries named "Theorem 3.1 (title)", grouped by kind, in reading order."""
    from sphinx_proof.domain import translate

    env = self.domain.env
    proofs = getattr(env, "proof_list", {})
    titles = getattr(env, "ntpbook_prf_titles", {})
    groups: dict[str, list] = {}

    def key(item):
        label, values = item
        number = number_of(env, label)
        parts = tuple(int(x) if x.isdigit() else 0 for x in number.split(".")) if number else (10**6,)
        return parts if len(parts) > 1 else (10**5,) + parts  # unnumbered pages (the appendix) last

    for label, values in sorted(proofs.items(), key=key):
        kind = translate(values["realtype"].title())
        number = number_of(env, label)
        name = f"{kind} {number}".strip() + (f" ({titles[label]})" if titles.get(label) else "")
        groups.setdefault(kind + "s", []).append((name, 0, values["docname"], label, "", "", ""))
    return sorted(groups.items()), False


def _colab_downloads(app, exception):
    """Replace each chapter's downloadable notebook by its generated Colab notebook."""
    if exception is not None or app.builder.format != "html":
        return
    sources = Path(app.outdir) / "_sources"
    for docname in app.env.found_docs:
        colab = Path(app.srcdir) / f"{docname}.ipynb"
        target = sources / f"{docname}.ipynb"
        if colab.is_file() and target.is_file():
            shutil.copyfile(colab, target)


def setup(app):
    from sphinx_proof.domain import ProofIndex

    ProofIndex.generate = _generate
    ProofIndex.localname = "Index of definitions and results"
    app.connect("doctree-read", _titles)
    app.connect("env-merge-info", _merge)
    app.connect("env-purge-doc", _purge)
    app.connect("build-finished", _colab_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
