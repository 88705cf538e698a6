"""The NTP-SVM under the max and spectral norms against CVXPY, and its certificates."""

import cvxpy as cp
import numpy as np
import pytest

import ntpbook_lib as nl
from ntpbook_lib.margins import dual_norm, margin_certificate, margin_metrics, matrix_norm, ntp_svm_norm


def _cvxpy_svm(data, H, norm):
    """The same problem in logit space for CVXPY (an independent formulation); returns (status, value)."""
    W = cp.Variable((data.V, H.shape[0]))
    L = W @ H
    cons = []
    for j in range(data.m):  # one vector constraint per context and kind, in logit space
        s, out = np.flatnonzero(data.S[:, j]), np.flatnonzero(data.S[:, j] == 0)
        cons += [L[s[1:], j] == L[s[0], j]] if s.size > 1 else []
        cons += [L[s[0], j] - L[out, j] >= 1] if out.size else []
    t = cp.Variable()
    if norm == "max":
        cons += [W <= t, -W <= t]
    obj = {"fro": cp.norm(W, "fro"), "max": t, "spectral": cp.sigma_max(W)}[norm]
    prob = cp.Problem(cp.Minimize(obj), cons)
    if norm == "spectral":  # Clarabel fails on this SDP; SCS to a tight tolerance
        prob.solve(solver=cp.SCS, eps_abs=1e-9, eps_rel=1e-9, max_iters=200_000)
    else:
        prob.solve(solver=cp.CLARABEL)
    return prob.status, prob.value


def _instance(seed, V=6, m=8, d=10, s=3):
    rng = np.random.default_rng(seed)
    data = nl.random_ntp_data(V=V, m=m, support_size=s, rng=rng, n=200)
    return data, nl.gaussian_embeddings(d, m, rng)


@pytest.mark.parametrize("norm", ["fro", "max", "spectral"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_cvxpy(norm, seed):
    data, H = _instance(seed)
    status, value = _cvxpy_svm(data, H, norm)
    assert status == "optimal"
    W, cert = ntp_svm_norm(data, H, norm, tol=1e-7, return_info=True)
    assert cert.converged
    np.testing.assert_allclose(cert.objective, value, rtol=1e-5 if norm == "spectral" else 2e-6)
    np.testing.assert_allclose(matrix_norm(W, norm), cert.objective, rtol=1e-12)
    assert cert.dual_objective <= cert.objective * (1 + 1e-12)
    assert cert.gap <= 1e-7 + 1e-12
    # the solution meets (6a) and (6b): it lies in F^⊥ and has NTP margin 1
    F = nl.data_subspace(data, H)
    np.testing.assert_allclose(F.project(W), 0, atol=1e-9 * np.abs(W).max())
    np.testing.assert_allclose(nl.ntp_margin(W, data, H), 1.0, rtol=1e-9)


def test_fro_direction_is_unique_and_matches_ntp_svm():
    data, H = _instance(5)
    W = ntp_svm_norm(data, H, "fro")
    np.testing.assert_allclose(W, nl.ntp_svm(data, H), atol=1e-10)


def test_spectral_is_rescaled_like_one_over_H():
    data, H = _instance(3)
    W1 = ntp_svm_norm(data, H, "spectral", tol=1e-7)
    W2 = ntp_svm_norm(data, 1000.0 * H, "spectral", tol=1e-7)
    np.testing.assert_allclose(matrix_norm(W2, "spectral") * 1000.0, matrix_norm(W1, "spectral"), rtol=1e-6)


def test_dispatch_and_errors():
    data, H = _instance(4)
    np.testing.assert_allclose(matrix_norm(nl.ntp_svm(data, H, norm="max"), "max"),
                               matrix_norm(ntp_svm_norm(data, H, "max"), "max"), rtol=1e-9)
    with pytest.raises(ValueError, match="norm"):
        nl.ntp_svm(data, H, norm="nuclear")
    with pytest.raises(ValueError, match="norm"):
        ntp_svm_norm(data, H, "l1")
    # d = 1 with several contexts of different supports: not NTP-separable
    rng = np.random.default_rng(0)
    bad = nl.random_ntp_data(V=6, m=12, support_size=3, rng=rng, n=200)
    Hb = np.ones((1, 12))
    for norm in ("max", "spectral"):
        with pytest.raises(ValueError, match="not NTP-separable"):
            ntp_svm_norm(bad, Hb, norm)
    full = nl.random_ntp_data(V=4, m=3, support_size=4, rng=rng, n=50)
    with pytest.raises(ValueError, match="whole vocabulary"):
        ntp_svm_norm(full, np.eye(3), "max")


def test_certificate_is_a_lower_bound_for_any_multiplier():
    data, H = _instance(6)
    rng = np.random.default_rng(1)
    for norm in ("fro", "max", "spectral"):
        W = ntp_svm_norm(data, H, norm, tol=1e-7)
        for _ in range(5):
            cert = margin_certificate(W, rng.standard_normal((data.V, data.m)), data, H, norm)
            assert cert.dual_objective <= cert.objective * (1 + 1e-12)


def test_dual_norms():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((2, 5, 7))
    for norm in ("fro", "max", "spectral"):  # Hölder: <A, B> ≤ ‖A‖ ‖B‖_*
        assert np.sum(A * B) <= matrix_norm(A, norm) * dual_norm(B, norm) + 1e-12
    np.testing.assert_allclose(dual_norm(A, "spectral"), np.linalg.norm(A, "nuc"))


def test_margin_metrics_at_the_solutions():
    data, H = _instance(7)
    refs = {n: ntp_svm_norm(data, H, n, tol=1e-7) for n in ("fro", "max", "spectral")}
    f = margin_metrics(data, H, refs)
    for n, W in refs.items():
        np.testing.assert_allclose(f[f"margin_{n}"](W), 1 / matrix_norm(W, n), rtol=1e-9)
        np.testing.assert_allclose(f[f"cos_{n}"](W), 1.0, rtol=1e-12)
        for other, Wo in refs.items():  # each solution has the largest margin in its own norm
            assert f[f"margin_{n}"](Wo) <= f[f"margin_{n}"](W) * (1 + 1e-6)
