"""The support geometry of Z24 on extreme supports: S̃ is feasible, the NTP-SVM★ meets its constraints."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ntpbook_lib as nl

from fuzz_support import assert_margin_constraints, covers, datas, has_off_support


@covers("centered_support", "certificate", "ntp_svm_logits", "logits_in", "project_logits_F",
        "project_logits_F_perp", "mm_embeddings", "ufm_reference")
@settings(max_examples=12, deadline=None)
@given(datas, st.integers(-300, 300))
def test_support_geometry(data, k):
    L = np.random.default_rng(0).standard_normal((data.V, data.m))
    if not has_off_support(data):
        for f in (nl.centered_support, nl.certificate, nl.ntp_svm_logits):
            with pytest.raises(ValueError, match="whole vocabulary"):
                f(data.S)
        return
    St = nl.centered_support(data.S)
    np.testing.assert_allclose(St.sum(axis=0), 0, atol=1e-12)
    assert isinstance(bool(nl.certificate(data.S)), bool)
    Lmm = nl.ntp_svm_logits(data.S, tol=1e-6)
    assert_margin_constraints(Lmm, data.S, 1e-5)
    Lin = nl.logits_in(data)
    np.testing.assert_allclose(nl.project_logits_F(Lin, data), Lin, atol=1e-12)
    PF, Pp = nl.project_logits_F(L, data), nl.project_logits_F_perp(L, data)
    np.testing.assert_allclose(PF + Pp, L, atol=1e-12)
    np.testing.assert_allclose(nl.project_logits_F(PF, data), PF, atol=1e-12)
    M = L * 10.0**k
    W, H = nl.mm_embeddings(M)
    np.testing.assert_allclose(W @ H, M, rtol=1e-9, atol=1e-9 * np.abs(M).max())
    ref = nl.ufm_reference(data, tol=1e-5)
    np.testing.assert_allclose(ref.W_mm @ ref.H_mm, ref.L_mm, atol=1e-8 * np.abs(ref.L_mm).max())
