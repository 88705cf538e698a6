"""Chapter 6's API under random and bad input: the NTP-SVM under other norms, its metrics, the optimizers and the
mini-batch trainer answer or refuse cleanly."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import ntpbook_lib as nl

from fuzz_support import BAD_SCALARS, CLEAN, FAST, assert_margin_constraints, covers, outcome


# ------------------------------------------------------------------------------ chapter 6: margins and optimizers
@covers("ntp_svm_norm", "matrix_norm", "margin_references", "margin_metrics")
@FAST
@given(seed=st.integers(0, 2**32 - 1), V=st.integers(2, 6), m=st.integers(1, 5), d=st.integers(1, 8),
       norm=st.sampled_from(["fro", "max", "spectral"]), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_margins_random(seed, V, m, d, norm, scale):
    rng = np.random.default_rng(seed)
    data = nl.random_ntp_data(V, m, rng.integers(1, V + 1, size=m), rng, n=10 * V * m)
    H = scale * rng.standard_normal((d, m))
    got = outcome(nl.ntp_svm_norm, data, H, norm, tol=1e-5, max_iter=20_000, return_info=True)
    if got is None:  # refused: not separable, or every context fully supported
        return
    W, cert = got
    assert_margin_constraints(W @ H, data.S, 1e-6)
    np.testing.assert_allclose(nl.matrix_norm(W, norm), cert.objective, rtol=1e-9)
    assert cert.dual_objective <= cert.objective * (1 + 1e-9)
    f = nl.margin_metrics(data, H, {norm: W})
    np.testing.assert_allclose(f[f"margin_{norm}"](W), 1 / cert.objective, rtol=1e-6)
    assert nl.margin_references(data, H, (norm,), tol=1e-5)[norm].shape == W.shape


@covers("ntp_svm_norm", "matrix_norm", "optimizer", "SteepestDescent", "SignDescent", "Muon", "ScheduledAdam",
        "newton_schulz", "train_minibatch")
@pytest.mark.parametrize("bad", BAD_SCALARS)
def test_margins_and_optimizers_bad_scalars(bad):
    data = nl.random_ntp_data(4, 3, 2, np.random.default_rng(0), n=40)
    H = np.random.default_rng(1).standard_normal((5, 3))
    for call in (lambda: nl.ntp_svm_norm(data, H, "max", tol=bad), lambda: nl.ntp_svm_norm(data, H, bad),
                 lambda: nl.matrix_norm(np.eye(2), bad), lambda: nl.optimizer(bad),
                 lambda: nl.SteepestDescent([torch.zeros(2, 2)], bad),
                 lambda: nl.SignDescent([torch.zeros(2, 2)], 0.1, decay=bad),
                 lambda: nl.Muon([torch.zeros(2, 2)], 0.1, momentum=bad),
                 lambda: nl.ScheduledAdam([torch.zeros(2, 2)], 0.1, decay=bad),
                 lambda: nl.train_minibatch(data, H, nl.optimizer("sign"), bad, 2)):
        outcome(call)  # an answer or a clean refusal: any other exception fails
        if bad is None or isinstance(bad, str) or (isinstance(bad, float) and np.isnan(bad)):
            with pytest.raises(CLEAN):
                call()
    X = nl.newton_schulz(torch.zeros(2, 3))  # a zero matrix stays zero (no division by zero)
    assert torch.all(X == 0)
