"""The rendered-book checks themselves: each finds the defect it is written for, on a tiny fake build."""

import json

import rendered


def _styled_png() -> str:
    from ntpbook_lib import plotting

    plotting.set_style()
    fig, ax = plotting.subplots(1, 1)
    ax[0, 0].plot([1, 2])
    return plotting._png(fig)[0]


def _fake_build(tmp_path, *, image: bool, body: str, stderr: str = "", captioned: bool = True):
    html, execute = tmp_path / "html" / "book", tmp_path / "jupyter_execute" / "book"
    html.mkdir(parents=True)
    execute.mkdir(parents=True)
    outputs = [{"output_type": "display_data", "data": {"image/png": _styled_png()}, "metadata": {}}] if image else []
    if stderr:
        outputs.append({"output_type": "stream", "name": "stderr", "text": stderr})
    nb = {"cells": [{"cell_type": "code", "source": "plt.plot([1])\nplt.show()", "outputs": outputs}]}
    (execute / "01_x.ipynb").write_text(json.dumps(nb))
    (tmp_path / "html" / "_images").mkdir()
    (tmp_path / "html" / "_images" / "a.png").write_bytes(b"png")
    img = ('<div class="cell_output"><figure id="fig-a"><img src="../_images/a.png" alt="A line."><figcaption><p>'
           '<span class="caption-number">Figure 1.1 </span>A line.</p></figcaption></figure></div>') if captioned else (
        '<div class="cell_output"><img src="../_images/a.png"></div>')
    img = img if image else ""
    (html / "01_x.html").write_text(f'<html><body><article id="top">{body}{img}</article></body></html>')
    return tmp_path


def test_a_clean_page_passes(tmp_path):
    build = _fake_build(tmp_path, image=True, body='<p>Fine <span class="math">$x$</span> <a href="#top">up</a></p>')
    assert rendered.static_checks(build) == []


def test_a_drawing_cell_without_its_image_fails(tmp_path):
    build = _fake_build(tmp_path, image=False, body="<p>text</p>")
    assert any("no image output" in p.what for p in rendered.check_figures(build))


def test_raw_markup_fails(tmp_path):
    build = _fake_build(tmp_path, image=True, body="<p>see {cite:p}`x` and $a$ and ??? and (eq-ce)</p>")
    found = " ".join(p.what for p in rendered.check_raw_markup(build))
    for what in ("MyST role", "raw '$'", "'???'", "equation label"):
        assert what in found


def test_broken_links_and_anchors_fail(tmp_path):
    build = _fake_build(tmp_path, image=True, body='<a href="missing.html">a</a> <a href="#nowhere">b</a>')
    found = " ".join(p.what for p in rendered.check_links(build))
    assert "missing file" in found and "missing anchor" in found


def test_errors_and_warnings_in_outputs_fail(tmp_path):
    build = _fake_build(tmp_path, image=True, body="<p>x</p>", stderr="RuntimeWarning: overflow in exp")
    assert any("stderr" in p.what for p in rendered.check_errors(build))


def _figure_build(tmp_path, fig):
    from ntpbook_lib import plotting

    data, _ = plotting._png(fig)
    execute = tmp_path / "jupyter_execute" / "book"
    execute.mkdir(parents=True)
    nb = {"cells": [{"cell_type": "code", "source": "plt.show()",
                     "outputs": [{"output_type": "display_data", "data": {"image/png": data}, "metadata": {}}]}]}
    (execute / "01_x.ipynb").write_text(json.dumps(nb))
    return tmp_path


def test_small_figure_text_and_missing_colour_scales_fail(tmp_path):
    import numpy as np

    from ntpbook_lib import plotting

    plotting.set_style()
    fig, ax = plotting.subplots(1, 4)
    plotting.heatmap(ax[0, 0], np.eye(2), "bare", cbar=False)
    ax[0, 1].set_xlabel("tiny", fontsize=4)
    found = " ".join(p.what for p in rendered.check_figure_sizes(_figure_build(tmp_path, fig)))
    assert "smallest text" in found and "'tiny'" in found
    assert "4 panels per row" in found and "'bare' has no colour scale" in found


def test_a_readable_figure_passes(tmp_path):
    import numpy as np

    from ntpbook_lib import plotting

    plotting.set_style()
    fig, ax = plotting.subplots(1, 2)
    plotting.heatmap(ax[0, 0], np.eye(2), "M")
    ax[0, 1].plot([1, 2])
    assert rendered.check_figure_sizes(_figure_build(tmp_path, fig)) == []


def test_figures_without_caption_or_alt_fail(tmp_path):
    build = _fake_build(tmp_path, image=True, body="<p>x</p>", captioned=False)
    found = " ".join(p.what for p in rendered.check_captions(build))
    assert "without a number and caption" in found and "without alt text" in found


def test_web_numbers_are_read_from_the_page(tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<div class="proof theorem admonition" id="thm-a"><p class="admonition-title">Theorem 3.1 (A)</p></div>'
                    '<div class="math notranslate nohighlight" id="equation-eq-a"><span class="eqno">(3.2)<a>#</a></span></div>'
                    '<figure id="fig-a"><img/><figcaption><p><span class="caption-number">Figure 3.1 </span></p></figcaption></figure>')
    assert rendered.web_numbers(page) == {"thm-a": "Theorem 3.1", "eq-a": "(3.2)", "fig-a": "Figure 3.1"}
