import numpy as np
import pytest

import ntpbook_lib as nl


def test_table_formats_floats_and_keeps_other_columns():
    df = nl.table([{"a": 1, "b": 0.123456789, "c": "x"}, {"a": 2, "b": 3e-9, "c": "y"}], index="a", digits=3)
    assert list(df.index) == [1, 2]
    assert list(df["b"]) == ["0.123", "3e-09"]
    assert list(df["c"]) == ["x", "y"]
    missing = nl.table([{"a": 1, "b": 0.5}, {"a": 2}], index="a")
    assert list(missing["b"]) == ["0.5", "–"]
    columns = nl.table({"k": [1, 2], "v": [0.5, 0.25]})
    assert list(columns["v"]) == ["0.5", "0.25"]


def test_table_rejects_empty_and_unknown_index():
    with pytest.raises(ValueError, match="at least one row"):
        nl.table([])
    with pytest.raises(ValueError, match="'z'"):
        nl.table([{"a": 1}], index="z")


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
