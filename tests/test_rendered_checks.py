"""The rendered-book checks themselves: each finds the defect it is written for, on a tiny fake build."""

import json

import rendered


def _fake_build(tmp_path, *, image: bool, body: str, stderr: str = ""):
    html, execute = tmp_path / "html" / "book", tmp_path / "jupyter_execute" / "book"
    html.mkdir(parents=True)
    execute.mkdir(parents=True)
    outputs = [{"output_type": "display_data", "data": {"image/png": "iVBOR"}, "metadata": {}}] if image else []
    if stderr:
        outputs.append({"output_type": "stream", "name": "stderr", "text": stderr})
    nb = {"cells": [{"cell_type": "code", "source": "plt.plot([1])\nplt.show()", "outputs": outputs}]}
    (execute / "01_x.ipynb").write_text(json.dumps(nb))
    (tmp_path / "html" / "_images").mkdir()
    (tmp_path / "html" / "_images" / "a.png").write_bytes(b"png")
    img = '<div class="cell_output"><img src="../_images/a.png"></div>' if image else ""
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
