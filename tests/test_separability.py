import cvxpy as cp
import numpy as np
import pytest

import ntpbook_lib as nl
from ntpbook_lib import NTPData
from ntpbook_lib.separability import DataSubspace

from cvxpy_reference import ntp_svm_problem


def _instance(seed, V=6, m=8, s=2, d=5):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, s + 1, size=m) if s > 1 else s
    return nl.random_ntp_data(V, m, sizes, rng, max_count=4), nl.gaussian_embeddings(d, m, rng)


def _all_generators(data, H):
    """Every (e_z − e_z') h_jᵀ for z ≠ z' ∈ S_j, not only the anchored ones."""
    eye = np.eye(data.V)
    return [np.outer(eye[z] - eye[w], H[:, j]) for j, s in enumerate(data.supports) for z in s for w in s if z < w]


def _cvxpy_separable(data, H):
    """Independent decision: feasibility of (6a)–(6b) over W ∈ R^{V×d}, with every pair written out."""
    status, _ = ntp_svm_problem(data, H)
    assert status in (cp.OPTIMAL, cp.INFEASIBLE), status
    return status == cp.OPTIMAL


@pytest.mark.parametrize("seed", range(6))
def test_projections(seed):
    data, H = _instance(seed, s=3)
    F = nl.data_subspace(data, H)
    rng = np.random.default_rng(seed)
    W1, W2 = rng.standard_normal((2, data.V, H.shape[0]))
    np.testing.assert_allclose(F.project(W1) + F.project_perp(W1), W1, atol=1e-12)
    np.testing.assert_allclose(F.project(F.project(W1)), F.project(W1), atol=1e-10)  # idempotent
    np.testing.assert_allclose(F.project_perp(F.project_perp(W1)), F.project_perp(W1), atol=1e-10)
    assert abs(np.sum(F.project(W1) * F.project_perp(W2))) < 1e-10  # orthogonal
    assert np.sum(F.project(W1) * W2) == pytest.approx(np.sum(W1 * F.project(W2)), abs=1e-10)  # self-adjoint
    gens = _all_generators(data, H)
    for g in gens:
        np.testing.assert_allclose(F.project(g), g, atol=1e-10)
    rank = np.linalg.matrix_rank(np.array([g.ravel() for g in gens])) if gens else 0
    assert F.dim == rank
    B = F.basis.reshape(F.dim, -1)
    np.testing.assert_allclose(B @ B.T, np.eye(F.dim), atol=1e-10)


@pytest.mark.parametrize("seed, d", [(0, 2), (1, 3), (2, 4), (3, 8), (4, 12), (5, 1)])
def test_compatibility_against_least_squares(seed, d):
    data, H = _instance(seed, s=3, d=d)
    res = nl.is_compatible(data, H)
    # independent: solve every log-odds equation (all pairs) by dense least squares over vec(W)
    rows, rhs = [], []
    eye = np.eye(data.V)
    for j, s in enumerate(data.supports):
        for z in s:
            for w in s:
                if z < w:
                    rows.append(np.outer(eye[z] - eye[w], H[:, j]).ravel())
                    rhs.append(np.log(data.P[z, j] / data.P[w, j]))
    A, b = np.array(rows), np.array(rhs)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    consistent = np.linalg.norm(A @ x - b) <= 1e-8 * (1 + np.linalg.norm(b))
    assert bool(res) == consistent
    if res:
        np.testing.assert_allclose(A @ res.W.ravel(), b, atol=1e-8)
        F = DataSubspace(data, H)
        np.testing.assert_allclose(F.project_perp(res.W), 0, atol=1e-9)  # W* lies in F
        np.testing.assert_allclose(res.W.ravel(), x, atol=1e-8)  # and is the minimum-norm solution
        np.testing.assert_allclose(nl.logodds_solution(data, H), res.W, atol=1e-12)
    else:
        assert "not NTP_H-compatible" in res.message


@pytest.mark.parametrize("seed", range(16))
def test_separability_agrees_with_cvxpy(seed):
    rng = np.random.default_rng(100 + seed)
    V, m = int(rng.integers(3, 7)), int(rng.integers(4, 10))
    data = nl.random_ntp_data(V, m, rng.integers(1, V, size=m), rng, max_count=3)
    H = nl.gaussian_embeddings(int(rng.integers(1, m + 2)), m, rng)
    res = nl.is_separable(data, H)
    assert bool(res) == _cvxpy_separable(data, H)
    F = DataSubspace(data, H)
    if res:
        L = res.W @ H
        for j, s in enumerate(data.supports):  # (6a) and (6b) on every pair, to 1e-8
            out = np.setdiff1d(np.arange(V), s)
            assert np.ptp(L[s, j]) < 1e-8
            assert np.min(L[s, j][:, None] - L[out, j][None, :], initial=np.inf) >= 1 - 1e-8
        np.testing.assert_allclose(F.project(res.W), 0, atol=1e-8)
        assert nl.ntp_margin(res.W, data, H) == pytest.approx(1.0, abs=1e-10)
    else:
        # the Farkas certificate: a non-negative combination of lifted points that lies in F
        assert res.certificate
        eye = np.eye(V)
        combo = sum(lam * np.outer(eye[z] - eye[v], H[:, j]) for j, z, v, lam in res.certificate)
        assert all(c[3] > 0 for c in res.certificate)
        assert np.linalg.norm(F.project_perp(combo)) <= 1e-6 * sum(c[3] for c in res.certificate) * np.abs(H).max()


def test_lemma1_overparameterised():
    rng = np.random.default_rng(7)
    data = nl.random_ntp_data(10, 20, 4, rng, max_count=4)
    H = nl.gaussian_embeddings(25, 20, rng)
    Wp, Wd = nl.lemma1_witnesses(data, H)
    Lp, Ld = Wp @ H, Wd @ H
    for j, s in enumerate(data.supports):
        out = np.setdiff1d(np.arange(10), s)
        np.testing.assert_allclose(Lp[s, j] - Lp[s[0], j], np.log(data.P[s, j] / data.P[s[0], j]), atol=1e-10)
        np.testing.assert_allclose(Ld[s, j], 1.0, atol=1e-10)
        np.testing.assert_allclose(Ld[out, j], 0.0, atol=1e-10)
    assert nl.is_separable(data, H) and nl.is_compatible(data, H)
    with pytest.raises(ValueError, match="full column rank"):
        nl.lemma1_witnesses(data, H[:10])


def test_prop1_loss_approaches_entropy_along_witness():
    rng = np.random.default_rng(3)
    data = nl.random_ntp_data(8, 10, 3, rng, max_count=4)
    H = nl.gaussian_embeddings(12, 10, rng)
    Wp, Wd = nl.is_compatible(data, H).W, nl.is_separable(data, H).W
    excess = [nl.ce_loss((Wp + g * Wd) @ H, data) - data.entropy for g in (0, 2, 4, 8, 16)]
    assert np.all(np.diff(excess) < 0) and excess[-1] < 1e-5 and min(excess) > 0


def test_one_hot_reduces_to_multiclass():
    rng = np.random.default_rng(5)
    data = nl.random_ntp_data(4, 12, 1, rng, max_count=2)
    assert nl.data_subspace(data, nl.gaussian_embeddings(3, 12, rng)).dim == 0
    for d in (1, 2, 3, 6):
        H = nl.gaussian_embeddings(d, 12, rng)
        assert nl.is_compatible(data, H)
        y = np.array([s[0] for s in data.supports])
        W = cp.Variable((4, d))  # multiclass separability: (e_y − e_v)ᵀ W h_j ≥ 1
        cons = [(W[y[j]] - W[v]) @ H[:, j] >= 1 for j in range(12) for v in range(4) if v != y[j]]
        prob = cp.Problem(cp.Minimize(cp.sum_squares(W)), cons)  # the multiclass SVM
        prob.solve(solver=cp.CLARABEL)
        assert prob.status in (cp.OPTIMAL, cp.INFEASIBLE), prob.status
        assert bool(nl.is_separable(data, H)) == (prob.status == cp.OPTIMAL)


def test_phase_transition_runs_and_thresholds():
    pt = nl.separability_phase_transition(2, 12, 1, np.array([0.1, 0.5, 1.0, 1.5]), 8, np.random.default_rng(0))
    assert pt.separable[0] <= pt.separable[-1] and pt.separable[-1] == 1.0
    assert np.all(pt.compatible == 1.0)
    assert 0.1 <= pt.threshold(pt.separable) <= 1.0
    with pytest.raises(ValueError, match="support size"):
        nl.separability_phase_transition(4, 5, 4, np.array([1.0]), 1, np.random.default_rng(0))


def test_bad_input():
    data, H = _instance(0)
    with pytest.raises(ValueError, match="d×m"):
        nl.is_separable(data, H[:, :-1])
    with pytest.raises(ValueError, match="d×m"):
        nl.is_compatible(data, H.T)
    full = NTPData.from_counts(np.ones((3, 4)))
    with pytest.raises(ValueError, match="whole vocabulary"):
        nl.is_separable(full, np.eye(4))
    with pytest.raises(ValueError, match="V×d"):
        nl.ntp_margin(np.zeros((2, 2)), data, H)


def test_a_fully_supported_context_is_fine():
    C = np.array([[1.0, 2.0], [1.0, 0.0], [1.0, 0.0]])  # context 0 sees every token, context 1 one
    data = NTPData.from_counts(C)
    res = nl.is_separable(data, np.eye(2))
    assert res and nl.ntp_margin(res.W, data, np.eye(2)) == pytest.approx(1.0)


def test_cover_probability_against_monte_carlo_and_symmetry():
    # closed form: exactly 1/2 at d = m/2, 1 for d ≥ m
    assert nl.cover_probability(20, 10) == pytest.approx(0.5)
    assert nl.cover_probability(5, 5) == 1.0 and nl.cover_probability(5, 0) == 0.0
    # independent check: the fraction of random binary one-hot problems our LP finds separable
    rng = np.random.default_rng(0)
    m, d, trials = 12, 4, 200
    hits = 0
    for _ in range(trials):
        data = nl.random_ntp_data(2, m, 1, rng, max_count=1)
        hits += bool(nl.is_separable(data, nl.gaussian_embeddings(d, m, rng), explain=False))
    p = nl.cover_probability(m, d)
    assert abs(hits / trials - p) < 4 * np.sqrt(p * (1 - p) / trials)
