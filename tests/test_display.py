import numpy as np
import pytest

import ntpbook_lib as nl


def test_table_formats_each_float_column_one_way_and_keeps_other_columns():
    df = nl.table([{"a": 1, "b": 0.123456789, "c": "x"}, {"a": 2, "b": 3e-9, "c": "y"}], index="a", digits=3)
    assert list(df.index) == [1, 2]
    assert list(df["b"]) == ["1.23×10⁻¹", "3.00×10⁻⁹"]  # magnitudes too far apart for fixed decimals
    assert list(df["c"]) == ["x", "y"]
    fixed = nl.table({"k": [1, 2, 3], "v": [0.5, 0.123456, 2.0]}, digits=3)
    assert list(fixed["v"]) == ["0.500", "0.123", "2.000"]  # one number of decimals per column
    missing = nl.table([{"a": 1, "b": 0.5}, {"a": 2}], index="a")
    assert list(missing["b"]) == ["0.5000", "–"]
    assert list(nl.table({"k": ["x"], "v": [-0.25]})["v"]) == ["−0.2500"]
    assert list(nl.table({"k": ["x", "y"], "n": [3.0, 40.0]})["n"]) == ["3", "40"]
    per = nl.table({"k": [1, 2], "u": [0.5, 0.25], "w": [0.5, 0.25]}, digits={"u": 2})
    assert list(per["u"]) == ["0.50", "0.25"] and list(per["w"]) == ["0.5000", "0.2500"]


def test_table_html_has_one_header_row_no_dummy_index_and_math_headers():
    df = nl.table({"$k$": [1, 2], "‖W‖": [0.5, 3.358e-7]})
    html = df._repr_html_()
    assert html.count("<tr>") == 3  # one header row, two body rows
    assert '<th scope="col"><span class="math notranslate nohighlight">\\(k\\)</span></th>' in html
    assert "<th" not in html.split("<tbody>")[1]  # no 0..n index column
    labelled = nl.table({"$k$": [1, 2], "v": [0.5, 0.25]}, index="$k$")._repr_html_()
    assert labelled.count("<tr>") == 3 and '<th scope="row">1</th>' in labelled
    assert "$" not in html
    assert '<td class="num">3.358×10⁻⁷</td>' in html  # numbers are set unwrapped (book/_static/ntpbook.css)
    assert "<tr>" in df.T._repr_html_()


def test_table_rejects_empty_and_unknown_index():
    with pytest.raises(ValueError, match="at least one row"):
        nl.table([])
    with pytest.raises(ValueError, match="'z'"):
        nl.table([{"a": 1}], index="z")
    with pytest.raises(ValueError, match="does not have"):
        nl.table([{"a": 1, "b": 0.5}], digits={"c": 2})


def test_glue_prints_without_myst_nb(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    nl.glue("value", np.float64(0.123456))
    assert capsys.readouterr().out == "value = 0.1235\n"
    with pytest.raises(ValueError, match="identifier"):
        nl.glue("not a name", 1)


def test_build_environment_lists_the_stack():
    env = nl.build_environment()
    assert env.loc["ntpbook_lib", "version"] == nl.__version__
    assert {"Python", "numpy", "torch", "machine"} <= set(env.index)


def test_tables_have_a_latex_form_for_the_pdf():
    t = nl.table({"$d$": [4, 12], "err": [1.5e-7, 0.25], "note": ["x & y_1", "$\\|W\\|$ ok"]}, index="$d$", digits=3)
    assert isinstance(t, nl.display.Table)
    tex = t._repr_latex_()
    assert tex.startswith("\\begin{tabular}{lrr}") and tex.rstrip().endswith("\\end{tabular}")
    assert "\\textbf{$d$}" in tex and "x \\& y\\_1" in tex and "$\\|W\\|$ ok" in tex
    assert "$1.50\\times 10^{-7}$" in tex
    assert tex.count("\\\\") == 3  # one header row and two body rows
