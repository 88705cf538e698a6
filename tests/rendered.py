"""Checks that read the built book (``_build``) as a reader gets it: static HTML checks and a real-browser pass.

Static checks (BeautifulSoup): every drawing cell has its image, no error output, no raw MyST or ``$`` in the
rendered text, every internal link and anchor resolves.  Browser pass (Playwright driving Debian's ``chromium``,
MathJax 3 served from a local copy): no MathJax or JavaScript error, no display equation, output block or table
wider than the text column, every image loaded, and readable text contrast, in the light and the dark theme.

Run after ``jupyter-book build .``::

    python -m tests.rendered _build --screenshots /tmp/shots     # prints every problem; exit 1 if any

The browser pass needs ``pip install playwright``, a Chromium (``apt-get install chromium``; or set
``NTPBOOK_CHROMIUM``) and MathJax 3 (``npm install mathjax@3``; or set ``NTPBOOK_MATHJAX`` to its
``es5/tex-mml-chtml.js``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}   # a phone: figures keep their design width and scroll inside their box
THEMES = ("light", "dark")
MIN_CONTRAST = 3.0  # WCAG's minimum for large text; body text sits far above it in both themes
RAW_MARKUP = [
    (re.compile(r"\{(?:cite|eq|prf|ref|numref|doc|glue|math|term)[\w:-]*\}`"), "unrendered MyST role"),
    (re.compile(r"^\s*```"), "unrendered code fence"),
    (re.compile(r"\?\?\?"), "'???' (a reference that did not resolve)"),
    (re.compile(r"\$"), "raw '$' (math that MathJax will not typeset)"),
    (re.compile(r"\(eq-[\w-]+\)"), "equation label shown as text"),
]


@dataclass(frozen=True)
class Problem:
    page: str
    what: str

    def __str__(self) -> str:
        return f"{self.page}: {self.what}"


def chapter_pages(build: Path) -> list[Path]:
    return sorted((build / "html" / "book").glob("*.html"))


def all_pages(build: Path) -> list[Path]:
    """Every page of the built book, except redirects (``index.html`` points to the first page)."""
    return sorted(p for p in (build / "html").rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts
                  and 'http-equiv="refresh"' not in p.read_text()[:2000].lower())


# ------------------------------------------------------------------------------------------ static checks
def drawing_cells(nb: dict) -> int:
    """Code cells of an executed notebook whose source draws a figure."""
    return sum(1 for c in nb["cells"] if c["cell_type"] == "code" and "plt.show()" in "".join(c["source"]))


def image_outputs(nb: dict) -> list[int]:
    """Per drawing cell, the number of images it output."""
    return [sum("image/png" in o.get("data", {}) for o in c.get("outputs", []))
            for c in nb["cells"] if c["cell_type"] == "code" and "plt.show()" in "".join(c["source"])]


def check_figures(build: Path) -> list[Problem]:
    problems = []
    for page in chapter_pages(build):
        executed = build / "jupyter_execute" / "book" / f"{page.stem}.ipynb"
        if not executed.exists():
            continue  # a page that is not a notebook
        nb = json.loads(executed.read_text())
        per_cell = image_outputs(nb)
        blind = [i for i, n in enumerate(per_cell) if n == 0]
        if blind:
            problems.append(Problem(page.name, f"{len(blind)} of {len(per_cell)} drawing cells have no image output"))
        soup = BeautifulSoup(page.read_text(), "html.parser")
        imgs = soup.select("div.cell_output img")
        if len(imgs) < sum(per_cell):
            problems.append(Problem(page.name, f"{len(imgs)} images in the page for {sum(per_cell)} figures computed"))
        for img in imgs:
            if not (page.parent / unquote(img["src"])).exists():
                problems.append(Problem(page.name, f"image file missing: {img['src']}"))
    return problems


MIN_TEXT_PX = 9.0        # the smallest figure text a reader may be asked to read, CSS px (ntpbook_lib.plotting)
MAX_PANELS_PER_ROW, MAX_HEATMAPS_PER_ROW = 3, 2


def figure_reports(nb: dict) -> list[tuple[int, dict | None]]:
    """(cell index, the report ``ntpbook_lib.plotting`` wrote into the PNG, or None) for every figure output."""
    import base64
    import io

    from PIL import Image

    out = []
    for i, c in enumerate(nb["cells"]):
        for o in c.get("outputs", []):
            data = o.get("data", {}).get("image/png")
            if data is None:
                continue
            text = Image.open(io.BytesIO(base64.b64decode("".join(data)))).text.get("ntpbook")
            out.append((i, json.loads(text) if text else None))
    return out


def check_figure_sizes(build: Path) -> list[Problem]:
    """Every figure drawn with the book's style, its smallest text >= 9 CSS px in the column, at most 3 panels
    (2 heatmaps) per row, a colour scale on every heatmap."""
    problems = []
    for executed in sorted((build / "jupyter_execute").rglob("*.ipynb")):
        for i, report in figure_reports(json.loads(executed.read_text())):
            where = f"cell {i}"
            if report is None:
                problems.append(Problem(executed.name, f"{where}: figure not drawn with ntpbook_lib.plotting.set_style()"))
                continue
            if report["min_text_px"] is not None and report["min_text_px"] < MIN_TEXT_PX:
                problems.append(Problem(executed.name, f"{where}: smallest text {report['min_text_px']} px "
                                        f"({report['min_text']!r}) < {MIN_TEXT_PX} px in the column"))
            if report["panels_per_row"] > MAX_PANELS_PER_ROW:
                problems.append(Problem(executed.name, f"{where}: {report['panels_per_row']} panels per row "
                                        f"(at most {MAX_PANELS_PER_ROW})"))
            if report["heatmaps_per_row"] > MAX_HEATMAPS_PER_ROW:
                problems.append(Problem(executed.name, f"{where}: {report['heatmaps_per_row']} heatmaps per row "
                                        f"(at most {MAX_HEATMAPS_PER_ROW})"))
            for title in report["heatmaps_without_colour_scale"]:
                problems.append(Problem(executed.name, f"{where}: heatmap {title!r} has no colour scale"))
    return problems


def check_captions(build: Path) -> list[Problem]:
    """Every figure of a chapter numbered and captioned (MyST-NB figure metadata), with alt text."""
    problems = []
    for page in chapter_pages(build):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        for img in soup.select("div.cell_output img"):
            fig = img.find_parent("figure")
            number = fig.select_one("figcaption .caption-number") if fig else None
            if number is None:
                problems.append(Problem(page.name, f"figure without a number and caption: {img.get('src')}"))
            alt = (img.get("alt") or "").strip()
            if not alt or alt.endswith(".png") or "/" in alt:
                problems.append(Problem(page.name, f"figure without alt text: {img.get('src')}"))
    return problems


def web_numbers(page: Path) -> dict[str, str]:
    """What the web page numbers each labelled object: {"thm-x": "Theorem 3.1", "eq-y": "(3.2)", "fig-z": "Figure 3.1"}."""
    soup = BeautifulSoup(page.read_text(), "html.parser")
    out = {}
    for div in soup.select("div.proof[id], div.exercise[id], div.admonition[id]"):
        title = div.select_one("p.admonition-title")
        if title is not None:
            m = re.match(r"^\s*([A-Z][a-z]+(?:\s+[\d.]+)?)", title.get_text(" ", strip=True))
            if m:
                out[div["id"]] = m[1].strip()
    for div in soup.select("div.math[id^=equation-]"):
        eqno = div.select_one("span.eqno")
        if eqno is not None:
            out[div["id"][len("equation-"):]] = eqno.get_text(strip=True).rstrip("#").strip()
    for fig in soup.select("figure[id]"):
        number = fig.select_one(".caption-number")
        if number is not None:
            out[fig["id"]] = number.get_text(strip=True).rstrip(".").strip()
    return out


def check_errors(build: Path) -> list[Problem]:
    problems = []
    for executed in sorted((build / "jupyter_execute").rglob("*.ipynb")):
        nb = json.loads(executed.read_text())
        for i, c in enumerate(nb["cells"]):
            for o in c.get("outputs", []):
                text = "".join(o.get("text", "")) if o.get("output_type") == "stream" else ""
                if o.get("output_type") == "error":
                    problems.append(Problem(executed.name, f"cell {i}: error output {o.get('ename')}"))
                elif o.get("name") == "stderr" and re.search(r"Traceback|Error|Warning", text):
                    problems.append(Problem(executed.name, f"cell {i}: stderr shows {text.strip()[:120]!r}"))
    return problems


def _reader_text(soup: BeautifulSoup) -> str:
    main = soup.select_one("article") or soup
    for tag in main.select("pre, code, script, style, .math, div.cell_input, div.cell_output, .highlight, "
                           "span.math, div.MathJax, mjx-container, .bibliography"):
        tag.decompose()
    return main.get_text(" ")


def check_raw_markup(build: Path) -> list[Problem]:
    problems = []
    for page in all_pages(build):
        text = _reader_text(BeautifulSoup(page.read_text(), "html.parser"))
        for pattern, what in RAW_MARKUP:
            for m in pattern.finditer(text):
                snippet = text[max(0, m.start() - 40): m.end() + 40].replace("\n", " ")
                problems.append(Problem(page.relative_to(build / "html").as_posix(), f"{what}: …{snippet}…"))
    return problems


def check_links(build: Path) -> list[Problem]:
    html = build / "html"
    ids: dict[Path, set[str]] = {}

    def anchors(path: Path) -> set[str]:
        if path not in ids:
            soup = BeautifulSoup(path.read_text(), "html.parser")
            ids[path] = {t["id"] for t in soup.select("[id]")} | {t["name"] for t in soup.select("a[name]")}
        return ids[path]

    problems = []
    for page in all_pages(build):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        for a in soup.select("article a[href]"):
            url = urlparse(a["href"])
            if url.scheme or a["href"].startswith("//"):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            name = page.relative_to(html).as_posix()
            if not target.exists():
                problems.append(Problem(name, f"link to a missing file: {a['href']}"))
            elif url.fragment and target.suffix == ".html" and url.fragment not in anchors(target):
                problems.append(Problem(name, f"link to a missing anchor: {a['href']}"))
    return problems


def static_checks(build: Path) -> list[Problem]:
    return (check_figures(build) + check_figure_sizes(build) + check_captions(build) + check_errors(build)
            + check_raw_markup(build) + check_links(build))


# ------------------------------------------------------------------------------------------ browser pass
def chromium_path() -> str | None:
    names = ("chromium", "chromium-browser", "google-chrome")
    return os.environ.get("NTPBOOK_CHROMIUM") or next((p for p in map(shutil.which, names) if p), None)


def mathjax_path() -> Path | None:
    candidates = [os.environ.get("NTPBOOK_MATHJAX", "")]
    candidates += [str(p / "node_modules/mathjax/es5/tex-mml-chtml.js") for p in (ROOT, Path.cwd(), Path.home())]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def browser_available() -> str | None:
    """None when the browser pass can run, else what is missing."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package (pip install playwright)"
    if chromium_path() is None:
        return "a Chromium binary (apt-get install chromium, or set NTPBOOK_CHROMIUM)"
    if mathjax_path() is None:
        return "MathJax 3 (npm install mathjax@3, or set NTPBOOK_MATHJAX to es5/tex-mml-chtml.js)"
    return None


# Runs in the page after MathJax has typeset it; returns what a reader would find wrong.
_MEASURE = r"""
() => {
  const out = [];
  const col = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
  const cs = getComputedStyle(col);
  const colWidth = col.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const describe = (el) => (el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 80);
  const narrow = window.innerWidth <= 720;  // at 390 px only the figures and the page width are judged
  for (const e of document.querySelectorAll("mjx-merror, [data-mjx-error]"))
    out.push(`MathJax error: ${e.getAttribute("data-mjx-error") || describe(e)}`);
  for (const e of narrow ? [] : col.querySelectorAll('mjx-container[display="true"]')) {
    const w = (e.querySelector("mjx-math") || e).getBoundingClientRect().width;
    if (w > colWidth + 1) out.push(`display equation ${Math.round(w)} px wide in a ${Math.round(colWidth)} px column: ${describe(e)}`);
  }
  for (const e of narrow ? [] : col.querySelectorAll("div.cell_output pre, div.output pre")) {
    if (e.scrollWidth > e.clientWidth + 1) out.push(`output ${e.scrollWidth} px wide in ${e.clientWidth} px: ${describe(e)}`);
  }
  for (const e of narrow ? [] : col.querySelectorAll("div.cell_output table, div.output table")) {
    const w = e.getBoundingClientRect().width;
    if (w > colWidth + 1) out.push(`table ${Math.round(w)} px wide in a ${Math.round(colWidth)} px column: ${describe(e)}`);
  }
  for (const e of document.querySelectorAll("img")) {
    if (!e.complete || e.naturalWidth === 0) out.push(`image not loaded: ${e.getAttribute("src")}`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1)
    out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in a ${window.innerWidth} px window`);
  for (const e of col.querySelectorAll("div.cell_output img")) {
    const shown = e.getBoundingClientRect().width, design = Number(e.getAttribute("width")) || 0;
    const want = narrow ? design : Math.min(design, colWidth);  // phones: the design width, scrolled sideways
    if (design && shown < 0.98 * want) out.push(`figure shown ${Math.round(shown)} px wide, drawn for ${design} px: ${e.getAttribute("src")}`);
  }
  const lum = (c) => {
    const v = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((x) => x / 255)
      .map((x) => (x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4));
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  };
  const alpha = (c) => { const v = c.match(/[\d.]+/g); return v.length > 3 ? Number(v[3]) : 1; };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage && s.backgroundImage !== "none") return null;  // gradients, images: not judged
      if (alpha(s.backgroundColor) > 0.5) return s.backgroundColor;
    }
    return getComputedStyle(document.body).backgroundColor;
  };
  const seen = new Set();
  for (const el of document.querySelectorAll("main *, .bd-main *")) {
    if (el.closest("mjx-container, svg, .highlight, img")) continue;
    const direct = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!direct) continue;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (s.visibility === "hidden" || s.display === "none" || r.width === 0 || r.height === 0) continue;
    const bg = background(el);
    if (bg === null) continue;
    const [a, b] = [lum(s.color) + 0.05, lum(bg) + 0.05];
    const ratio = Math.max(a, b) / Math.min(a, b);
    const key = `${el.tagName}.${el.className}`;
    if (ratio < __MIN_CONTRAST__ && !seen.has(key)) {
      seen.add(key);
      out.push(`text contrast ${ratio.toFixed(2)}:1 (${s.color} on ${bg}) in <${el.tagName.toLowerCase()} class="${el.className}">: ${describe(el)}`);
    }
  }
  return out;
}
""".replace("__MIN_CONTRAST__", str(MIN_CONTRAST))


def browser_checks(build: Path, pages: list[Path] | None = None, screenshots: Path | None = None) -> list[Problem]:
    """Open every page in headless Chromium in both themes; MathJax from a local copy."""
    from playwright.sync_api import sync_playwright

    build = build.resolve()
    html = build / "html"
    es5 = mathjax_path().parent

    def serve_mathjax(route):
        local = es5 / route.request.url.split("/mathjax@3/es5/", 1)[1].split("?")[0]
        if not local.is_file():
            return route.abort()
        kind = "application/javascript" if local.suffix == ".js" else "font/woff2" if local.suffix == ".woff2" else None
        route.fulfill(body=local.read_bytes(), content_type=kind)

    problems: list[Problem] = []
    if screenshots:
        screenshots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        for theme, viewport in [(t, VIEWPORT) for t in THEMES] + [("light", NARROW)]:
            narrow = viewport is NARROW
            context = browser.new_context(viewport=viewport)
            context.add_init_script(f"localStorage.setItem('theme', '{theme}'); localStorage.setItem('mode', '{theme}');")
            # Routes match newest first: everything remote is refused, except MathJax, served from the local copy.
            context.route(re.compile(r"^https?://.*"), lambda route: route.abort())
            context.route(re.compile(r"^https?://.*/mathjax@3/es5/.*"), serve_mathjax)
            for page_path in pages or all_pages(build):
                name = f"{page_path.relative_to(html).as_posix()} [{theme}{', 390 px' if narrow else ''}]"
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(f"JavaScript error: {exc}"))
                page.on("console", lambda msg, errors=errors: errors.append(f"console error: {msg.text}")
                        if msg.type == "error" and msg.location.get("url", "").startswith("file:") else None)
                page.goto(page_path.as_uri(), wait_until="load")
                if page.evaluate("() => !!document.querySelector('.math, mjx-container')"):
                    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                           timeout=30_000)
                    page.evaluate("() => MathJax.startup.promise")
                if page.evaluate("() => document.documentElement.dataset.theme") != theme:
                    errors.append(f"the page did not switch to the {theme} theme")
                errors += page.evaluate(_MEASURE)
                problems += [Problem(name, e) for e in errors]
                if screenshots:
                    shot = screenshots / f"{page_path.stem}-{theme}{'-390' if narrow else ''}.png"
                    page.screenshot(path=str(shot), full_page=True)
                page.close()
            context.close()
        browser.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the built book as a reader sees it.")
    parser.add_argument("build", nargs="?", default=str(ROOT / "_build"), type=Path)
    parser.add_argument("--screenshots", type=Path, help="save a full-page screenshot of every page and theme")
    parser.add_argument("--static-only", action="store_true")
    args = parser.parse_args(argv)
    args.build = args.build.resolve()
    problems = static_checks(args.build)
    if not args.static_only:
        missing = browser_available()
        if missing:
            print(f"browser pass not run: missing {missing}", file=sys.stderr)
            return 2
        problems += browser_checks(args.build, screenshots=args.screenshots)
    for p in problems:
        print(p)
    print(f"{len(problems)} problems in {len(all_pages(args.build))} pages")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
