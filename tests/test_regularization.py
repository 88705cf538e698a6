import cvxpy as cp
import numpy as np
import pytest
import torch

import ntpbook_lib as nl
from ntpbook_lib.regularization import genie_excess, regularization_path, ridge_solution


def _instance(seed, V=6, m=8, s=3, d=10):
    rng = np.random.default_rng(seed)
    return nl.random_ntp_data(V, m, s, rng, max_count=4), nl.gaussian_embeddings(d, m, rng)


@pytest.mark.parametrize("mu", [1.0, 1e-2, 1e-5])
def test_ridge_solution_is_stationary(mu):
    data, H = _instance(0)
    W = ridge_solution(data, H, mu)
    Wt = torch.tensor(W, requires_grad=True)
    (nl.ce_loss(Wt @ torch.tensor(H), data) + 0.5 * mu * (Wt**2).sum()).backward()  # autograd gradient
    assert np.abs(Wt.grad.numpy()).max() <= 1e-10


def test_path_point_is_the_ball_minimiser():
    """Ŵ_B against an independent exponential-cone solve of min CE(W H) s.t. ‖W‖ ≤ B."""
    data, H = _instance(1, V=5, m=6, d=7)
    B = 3.0
    path = regularization_path(data, H, np.array([B]))
    W = cp.Variable((data.V, H.shape[0]))
    L = W @ H
    ce = sum(data.pi[j] * (cp.log_sum_exp(L[:, j]) - data.P[:, j] @ L[:, j]) for j in range(data.m))
    prob = cp.Problem(cp.Minimize(ce), [cp.norm(W, "fro") <= B])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    np.testing.assert_allclose(np.linalg.norm(path.W[0]), B, rtol=1e-9)
    np.testing.assert_allclose(path.W[0], W.value, atol=1e-5 * B)


def test_theorem_1_trend_and_genie_comparison():
    data, H = _instance(2, V=8, m=10, d=14)
    ref = nl.implicit_bias_reference(data, H)
    radii = np.geomspace(0.5, 25, 8)
    path = regularization_path(data, H, radii, ref)
    np.testing.assert_allclose(np.linalg.norm(path.W, axis=(1, 2)), radii, rtol=1e-8)
    assert np.all(np.diff(path.excess) < 0)
    assert path.cos_shift_mm[-1] > 0.98 and path.cos_shift_mm[-1] > path.cos_shift_mm[0]
    assert path.dist_F[-1] < 0.05 * path.dist_F[0]
    # the genie point W* + R W^mm of the same norm is feasible for the ball, so it cannot beat Ŵ_B
    ok = radii > np.linalg.norm(ref.W_star)
    R = np.sqrt(radii[ok] ** 2 - np.sum(ref.W_star**2)) / np.linalg.norm(ref.W_mm)
    genie, bound, C = genie_excess(data, H, R, ref)
    assert np.all(path.excess[ok] <= genie + 1e-12)
    assert np.all(genie <= bound) and C > 0


def test_bad_radii():
    data, H = _instance(3)
    with pytest.raises(ValueError, match="increasing"):
        regularization_path(data, H, np.array([2.0, 1.0]))
    with pytest.raises(ValueError, match="float64"):
        regularization_path(data, H, np.array([1e4]))
