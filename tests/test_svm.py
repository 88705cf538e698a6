import cvxpy as cp
import numpy as np
import pytest

import ntpbook_lib as nl
from ntpbook_lib.numerics import project_columns as _project_columns

from cvxpy_reference import ntp_svm_problem

TIGHT = dict(tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)


def _instance(seed, V=8, m=12, s=3, d=16, n=None):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, s + 1, size=m)
    data = nl.random_ntp_data(V, m, sizes, rng, max_count=5) if n is None else nl.random_ntp_data(V, m, s, rng, n=n)
    return data, nl.gaussian_embeddings(d, m, rng)


def _cvxpy_svm(data, H):
    """Independent NTP-SVM: (6a) for every in-support pair, (6b) for every in/out pair, over W ∈ R^{V×d}."""
    status, W = ntp_svm_problem(data, H, **TIGHT)
    assert status == cp.OPTIMAL, status
    return W


@pytest.mark.parametrize("seed, d", [(0, 16), (1, 16), (2, 30), (3, 10), (4, 8), (5, 12)])
def test_ntp_svm_matches_cvxpy(seed, d):
    data, H = _instance(seed, d=d)
    if not nl.is_separable(data, H, explain=False):
        pytest.skip("instance not separable")
    W = nl.ntp_svm(data, H)
    Wc = _cvxpy_svm(data, H)
    np.testing.assert_allclose(W, Wc, rtol=0, atol=1e-5 * np.linalg.norm(Wc))


def test_t24_size_matches_cvxpy():
    data, H = _instance(7, V=10, m=50, s=6, d=60, n=5000)
    np.testing.assert_allclose(nl.ntp_svm(data, H), _cvxpy_svm(data, H), rtol=0, atol=1e-5 * 3.0)


@pytest.mark.parametrize("seed, d", [(10, 20), (11, 9), (12, 40)])
def test_kkt_and_duality_gap(seed, d):
    data, H = _instance(seed, d=d)
    if not nl.is_separable(data, H, explain=False):
        pytest.skip("instance not separable")
    W, info = nl.ntp_svm(data, H, return_info=True)
    C, off = info.C, data.S == 0
    assert info.converged
    np.testing.assert_allclose(C.sum(axis=0), 0, atol=1e-12)  # dual feasibility
    assert np.all(C[off] <= 0)
    np.testing.assert_allclose(W, C @ H.T, atol=1e-12)  # stationarity
    F = nl.data_subspace(data, H)
    assert np.abs(F.apply(W)).max() <= 1e-7 * np.abs(W @ H).max()  # (6a): W ∈ F^⊥
    assert np.linalg.norm(F.project(W)) <= 1e-7 * np.linalg.norm(W)
    assert nl.ntp_margin(W, data, H) >= 1 - 1e-7  # (6b)
    L = W @ H
    t = np.array([L[s[0], j] for j, s in enumerate(data.supports)])
    slack = t[None, :] - L - 1
    assert abs(np.sum(C[off] * slack[off])) <= 1e-7 * np.sum(W * W)  # complementary slackness
    primal, dual = 0.5 * np.sum(W * W), -C[off].sum() - 0.5 * np.sum(W * W)
    assert abs(primal - dual) <= 1e-7 * primal  # zero duality gap
    assert abs(info.objective - primal) <= 1e-9 * primal


def test_depends_only_on_supports():
    """W^mm is a function of the support pattern and H: changing the probabilities does not move it."""
    rng = np.random.default_rng(3)
    data, H = _instance(20, d=14)
    other = nl.random_ntp_data(data.V, data.m, 1, rng, max_count=9, S=data.S)
    assert not np.allclose(other.P, data.P)
    np.testing.assert_allclose(nl.ntp_svm(data, H), nl.ntp_svm(other, H), atol=1e-7)


def test_one_hot_is_multiclass_svm():
    """With S_j = 1, F = {0} and the NTP-SVM is the hard-margin multiclass SVM (T24 §4)."""
    rng = np.random.default_rng(4)
    V, m, d = 5, 20, 12
    y = rng.integers(0, V, size=m)
    data, _ = nl.NTPData.from_pairs(list(range(m)), y, V=V)
    X = nl.gaussian_embeddings(d, m, rng)
    W = cp.Variable((V, d))
    cons = [(W[y[j]] - W[v]) @ X[:, j] >= 1 for j in range(m) for v in range(V) if v != y[j]]
    cp.Problem(cp.Minimize(cp.sum_squares(W)), cons).solve(solver=cp.CLARABEL)
    np.testing.assert_allclose(nl.ntp_svm(data, X), W.value, atol=1e-5 * np.linalg.norm(W.value))
    assert nl.data_subspace(data, X).dim == 0


def test_rejects_non_separable_and_full_support():
    data, H = _instance(30, d=1)
    assert not nl.is_separable(data, H, explain=False)
    with pytest.raises(ValueError, match="not NTP-separable"):
        nl.ntp_svm(data, H)
    full = nl.NTPData.from_counts(np.ones((3, 4)))
    with pytest.raises(ValueError, match="whole vocabulary"):
        nl.ntp_svm(full, np.eye(4))


@pytest.mark.parametrize("seed", range(5))
def test_column_projection_matches_cvxpy(seed):
    rng = np.random.default_rng(seed)
    V, m = 7, 6
    Y = 3 * rng.standard_normal((V, m))
    off = rng.uniform(size=(V, m)) < 0.6
    off[0] = False  # every column keeps a support entry
    C = _project_columns(Y, off, (~off).sum(axis=0).astype(float))
    for j in range(m):
        c = cp.Variable(V)
        cons = [cp.sum(c) == 0] + ([c[np.flatnonzero(off[:, j])] <= 0] if off[:, j].any() else [])
        cp.Problem(cp.Minimize(cp.sum_squares(c - Y[:, j])), cons).solve(solver=cp.CLARABEL, **TIGHT)
        np.testing.assert_allclose(C[:, j], c.value, atol=1e-7)


@pytest.mark.parametrize("seed, d", [(40, 16), (41, 30), (42, 12)])
def test_admm_matches_cvxpy_and_the_active_set_method(seed, d):
    """The ADMM path (used for large invertible K) against CVXPY and against the exact active-set solution."""
    data, H = _instance(seed, d=d)
    W, info = nl.ntp_svm(data, H, method="admm", return_info=True)
    assert info.method == "admm" and info.converged and info.iterations > 0
    Wc = _cvxpy_svm(data, H)
    np.testing.assert_allclose(W, Wc, rtol=0, atol=1e-5 * np.linalg.norm(Wc))
    np.testing.assert_allclose(W, nl.ntp_svm(data, H, method="active-set"), rtol=0, atol=1e-7 * np.linalg.norm(W))
    C, off = info.C, data.S == 0
    np.testing.assert_allclose(C.sum(axis=0), 0, atol=1e-12)  # dual feasibility
    assert np.all(C[off] <= 0)
    assert nl.ntp_margin(W, data, H) >= 1 - 1e-8



def test_anderson_step_solves_a_linear_fixed_point():
    """For an affine map, Anderson extrapolation with n differences reaches the fixed point (it is GMRES)."""
    from ntpbook_lib.acceleration import anderson_step

    rng = np.random.default_rng(5)
    n = 6
    A = rng.standard_normal((n, n))
    A *= 0.9 / np.abs(np.linalg.eigvals(A)).max()
    b = rng.standard_normal(n)
    fixed = np.linalg.solve(np.eye(n) - A, b)
    zs = [rng.standard_normal(n)]
    for _ in range(n):
        zs.append(A @ zs[-1] + b)  # plain iterates give the differences
    T = [A @ z + b for z in zs]
    g = [t - z for t, z in zip(T, zs)]
    dT = [T[i + 1] - T[i] for i in range(n)]
    dG = [g[i + 1] - g[i] for i in range(n)]
    z = anderson_step(T[-1], g[-1], dT, dG)
    np.testing.assert_allclose(z, fixed, atol=1e-6 * np.abs(fixed).max())
    assert np.linalg.norm(z - fixed) < 1e-3 * np.linalg.norm(T[-1] - fixed)  # far better than a plain step
