"""Sphinx extension: the header buttons a page offers match what exists for it.

- The launch (Colab) button only on pages that have a generated Colab notebook ``book/NAME.ipynb``: the
  landing page, the bibliography and the status page are not notebooks a reader can run.
- The download menu offers the whole book as a PDF (``ntpbook.pdf`` at the site's root, made from the same
  build by the LaTeX builder; see the README), beside the browser's print dialog for the page alone.
"""

from pathlib import Path


def _page_buttons(app, pagename, templatename, context, doctree):
    buttons = context.get("header_buttons")
    if not buttons:
        return
    has_notebook = (Path(app.srcdir) / pagename).with_suffix(".ipynb").exists()
    if not has_notebook:
        buttons[:] = [b for b in buttons if b.get("label") != "launch-buttons"]
    for group in buttons:
        if group.get("label") != "download-buttons":
            continue
        for b in group["buttons"]:
            if b.get("label") == "download-pdf-button":
                b["text"], b["tooltip"] = "print page", "Print this page (to PDF)"
        group["buttons"].append({
            "type": "link",
            "url": context["pathto"]("ntpbook.pdf", 1),
            "text": "book .pdf",
            "tooltip": "Download the whole book as a PDF",
            "icon": "fas fa-book",
            "label": "download-book-pdf-button",
        })


def setup(app):
    app.connect("html-page-context", _page_buttons, priority=900)  # after the theme has made its buttons
    return {"parallel_read_safe": True, "parallel_write_safe": True}
