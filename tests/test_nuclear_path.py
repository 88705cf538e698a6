"""Problem (8) and its path, the genie bound and the proxy quality on extreme data."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ntpbook_lib as nl

from fuzz_support import covers, datas, has_off_support


@covers("nuclear_regularized_logits", "nuclear_regularization_path")
@settings(max_examples=6, deadline=None)
@given(datas)
def test_problem_8_stays_finite_and_above_the_entropy(data):
    if not has_off_support(data):
        return
    r = nl.nuclear_regularized_logits(data, 0.05, max_iter=300)
    assert np.all(np.isfinite(r.L)) and r.excess >= 0 and r.gap >= -1e-12 and r.iterations <= 300
    path = nl.nuclear_regularization_path(data, [0.3, 0.1], max_iter=300)
    assert np.all(path.excess >= 0) and np.all(np.isfinite(path.nuclear_norm))


@covers("genie_bound", "proxy_quality")
@settings(max_examples=10, deadline=None)
@given(datas, st.integers(-100, 100))
def test_genie_bound_holds_and_proxy_quality_is_scale_free(data, k):
    if not has_off_support(data):
        with pytest.raises(ValueError, match="whole vocabulary"):
            nl.genie_bound(data)
        return
    g = nl.genie_bound(data)
    for R in (0.0, 1.0, 5.0, 20.0):
        assert nl.ce_decomposition(g.logits(R), data).excess <= g.excess_bound(R) * (1 + 1e-3) + 1e-300
    assert g.objective_bound(0.1) >= 0
    q = nl.proxy_quality(data.S, g.L_mm)
    assert q.relative_gap >= -1e-4 and 1 <= q.effective_rank_mm and 1 <= q.rank_mm
    assert all(np.isfinite(v) for v in q)
    qc = nl.proxy_quality(data.S, g.L_mm * 10.0**k)
    assert qc.nuclear_mm == pytest.approx(q.nuclear_mm * 10.0**k, rel=1e-9)
    for f in ("direction_distance", "cos", "sim_words", "sim_contexts", "effective_rank_mm"):
        assert getattr(qc, f) == pytest.approx(getattr(q, f), abs=1e-7), f
    assert qc.rank_mm == q.rank_mm and qc.certificate == q.certificate
