"""Sphinx extension: each page loads each script once.

Jupyter Book 1 registers sphinx-thebe's inline configuration script twice, and a page that declares
``const THEBE_JS_URL`` twice stops with a JavaScript error. This keeps the first of scripts that differ only in priority or in an empty against a missing file name."""


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts, seen = context.get("script_files"), set()
    if not scripts:
        return
    unique = []
    for script in sorted(scripts, key=lambda js: getattr(js, "priority", 500)):
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
