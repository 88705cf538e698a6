import numpy as np
import pytest
import torch

import ntpbook_lib as nl

from cvxpy_reference import nuclear_regularized_problem


def _data(seed, V=5, m=7, smax=3):
    rng = np.random.default_rng(seed)
    return nl.random_ntp_data(V, m, rng.integers(1, smax + 1, size=m), rng, max_count=4)


def test_corr_is_the_cosine_matrix():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 6))
    X[:, 2] = 0
    C = nl.corr(X)
    for a in range(6):
        for b in range(6):
            na, nb = np.linalg.norm(X[:, a]), np.linalg.norm(X[:, b])
            want = X[:, a] @ X[:, b] / (na * nb) if na * nb > 0 else 0.0
            assert C[a, b] == pytest.approx(want, abs=1e-14)


def test_sim_is_the_ssim_structure_term():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((2, 5, 5))
    assert nl.sim(X, X) == pytest.approx(1.0, abs=1e-12)
    assert nl.sim(X, 3 * X - 2) == pytest.approx(1.0, abs=1e-12)
    assert nl.sim(X, -X) == pytest.approx(-1.0, abs=1e-7)
    assert nl.sim(X, Y) == pytest.approx(np.corrcoef(X.ravel(), Y.ravel())[0, 1], abs=1e-7)
    with pytest.raises(ValueError, match="one shape"):
        nl.sim(X, Y[:, :4])


@pytest.mark.parametrize("n", [3, 10, 30])
def test_sim_with_ddof_1_is_the_code_convention(n):
    """ddof=1: standard deviations over N − 1 (np.std(ddof=1)), covariance over N (np.mean), as in Z24's code."""
    rng = np.random.default_rng(n)
    X, Y = rng.standard_normal((2, n, n))
    x, y = X.ravel(), Y.ravel()
    want = (np.mean((x - x.mean()) * (y - y.mean())) + 1e-5) / (np.std(x, ddof=1) * np.std(y, ddof=1) + 1e-5)
    assert nl.sim(X, Y, 1e-5, ddof=1) == pytest.approx(want, rel=1e-12)
    assert nl.sim(X, X, 0.0, ddof=1) == pytest.approx((n * n - 1) / (n * n), rel=1e-12)
    assert nl.sim(X, X, 0.0) == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(ValueError, match="ddof"):
        nl.sim(X, Y, ddof=2)


def _genie_data(seed, V=6, m=9):
    rng = np.random.default_rng(seed)
    return nl.random_ntp_data(V, m, rng.integers(1, V, size=m), rng, max_count=4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_genie_bound_holds_and_matches_the_exact_excess(seed):
    data = _genie_data(seed)
    g = nl.genie_bound(data)
    Rs = np.array([0.0, 0.5, 2.0, 8.0, 25.0])
    # CE − H as the π̂-weighted KL terms: CE and H agree to 11 digits at R = 25, so their difference cancels
    excess = np.array([nl.ce_decomposition(g.logits(R), data).excess for R in Rs])
    assert np.all(excess <= g.excess_bound(Rs) * (1 + 1e-9))
    # the derivation's identity: CE − H = Σ_j π̂_j log(1 + GM_j Σ_{v∉S_j} e^{−R(a_j − L^mm[v,j])})
    S = data.S > 0
    a = np.where(S, g.L_mm, -np.inf).max(axis=0)
    gm = np.exp(np.where(S, np.log(np.where(S, data.P, 1.0)), 0).sum(axis=0) / data.support_sizes)
    for R, e in zip(Rs, excess):
        tail = np.where(S, 0.0, np.exp(-R * (a - g.L_mm))).sum(axis=0)
        assert e == pytest.approx(data.pi @ np.log1p(gm * tail), rel=1e-9, abs=1e-15)


def test_genie_bound_is_tight_when_every_margin_is_active():
    data = _genie_data(5)
    g = nl.genie_bound(data, nl.centered_support(data.S))  # S̃ meets every margin with equality
    ratios = [(nl.ce_loss(g.logits(R), data) - data.entropy) / g.excess_bound(R) for R in (2.0, 6.0, 12.0)]
    assert ratios[0] < ratios[1] < ratios[2] < 1 and ratios[2] == pytest.approx(1, rel=1e-4)  # log(1+x)/x → 1


def test_genie_objective_bound_is_above_the_optimum_of_8():
    data = _genie_data(3)
    g = nl.genie_bound(data)
    for lam in (3e-2, 3e-3, 3e-4):
        r = nl.nuclear_regularized_logits(data, lam, tol=1e-8)
        assert r.excess + lam * r.nuclear_norm <= g.objective_bound(lam) + 1e-12
        # the closed form is the minimum over R of a function that the exact genie objective never exceeds
        Rs = np.linspace(0, 30, 3001)
        f = g.excess_bound(Rs) + lam * (g.nuclear_in + Rs * g.nuclear_mm)
        assert g.objective_bound(lam) == pytest.approx(f.min(), rel=1e-5)
        exact = min(nl.ce_loss(g.logits(R), data) - data.entropy
                    + lam * np.linalg.svd(g.logits(R), compute_uv=False).sum() for R in Rs[::50])
        assert r.excess + lam * r.nuclear_norm <= exact + 1e-9 <= g.objective_bound(lam) + 1e-6


def test_genie_bound_rejects_an_infeasible_L_mm():
    data = _genie_data(4)
    with pytest.raises(ValueError, match="not feasible"):
        nl.genie_bound(data, 0.5 * nl.centered_support(data.S))
    with pytest.raises(ValueError, match="V×m"):
        nl.genie_bound(data, np.zeros((2, 2)))
    assert nl.genie_bound(data, nl.centered_support(data.S)).nuclear_mm >= nl.genie_bound(data).nuclear_mm - 1e-6


@pytest.mark.parametrize("seed, lam", [(0, 1e-2), (1, 3e-3), (2, 3e-2)])
def test_nuclear_regularized_logits_matches_scs(seed, lam):
    data = _data(seed)
    r = nl.nuclear_regularized_logits(data, lam, tol=1e-9)
    _, value, L_ref = nuclear_regularized_problem(data, lam, eps=1e-10, max_iters=200_000)
    obj = data.entropy + r.excess + lam * r.nuclear_norm
    assert r.converged
    assert obj == pytest.approx(value, rel=1e-7)
    assert obj - r.gap <= value + 1e-9  # the certified lower bound is below the independent optimum
    np.testing.assert_allclose(r.L, L_ref, atol=1e-3 * np.abs(L_ref).max())


def test_nuclear_regularized_logits_optimality_conditions():
    data = _data(3)
    lam = 1e-3
    r = nl.nuclear_regularized_logits(data, lam, tol=1e-10)
    G = (np.exp(nl.log_softmax(r.L)) - data.P) * data.pi  # ∇CE
    assert np.linalg.norm(G, 2) <= lam * (1 + 1e-4)  # −∇CE ∈ λ ∂‖L‖_*
    assert -np.sum(G * r.L) == pytest.approx(lam * r.nuclear_norm, rel=1e-4)
    np.testing.assert_allclose(r.L.sum(0), 0, atol=1e-6)  # centred logits


def test_large_lambda_gives_zero():
    data = _data(4)
    G0 = (np.full((data.V, data.m), 1 / data.V) - data.P) * data.pi
    r = nl.nuclear_regularized_logits(data, 1.01 * np.linalg.norm(G0, 2))
    assert np.all(r.L == 0) and r.converged


def test_regularization_path_trends_thms_1_to_3():
    data = _data(5, V=6, m=10)
    path = nl.nuclear_regularization_path(data, np.geomspace(1e-2, 1e-5, 7))
    assert np.all(np.diff(path.excess) < 0) and np.all(np.diff(path.nuclear_norm) > 0)
    assert np.all(np.diff(path.dist_in) < 0) and np.all(np.diff(path.dist_mm) < 0)
    assert path.dist_in[-1] < 0.1 * path.dist_in[0]
    assert path.cos_mm[-1] > 0.95


def test_ufm_gd_step_is_the_autograd_step():
    data, d, lam, lr = _data(6), 4, 1e-2, 0.7
    h = nl.train_ufm(data, d, lam, "gd", lr, 1, rng=np.random.default_rng(0), init_scale=0.5, snapshots=[0, 1])
    W0, H0 = (torch.tensor(x, requires_grad=True) for x in h.snapshots[0])
    loss = nl.ce_loss(W0 @ H0, data) + lam / 2 * (W0.pow(2).sum() + H0.pow(2).sum())
    gW, gH = torch.autograd.grad(loss, (W0, H0))
    np.testing.assert_allclose(h.snapshots[1][0], (W0 - lr * gW).detach().numpy(), atol=1e-13)
    np.testing.assert_allclose(h.snapshots[1][1], (H0 - lr * gH).detach().numpy(), atol=1e-13)
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(h.snapshots[0][0], 0.5 * rng.standard_normal((data.V, d)))


def test_ufm_full_batch_sgd_is_gd():
    data = _data(7)
    a = nl.train_ufm(data, 5, 1e-3, "gd", 2.0, 50, rng=np.random.default_rng(1))
    b = nl.train_ufm(data, 5, 1e-3, "sgd", 2.0, 50, rng=np.random.default_rng(1), batch_size=data.m)
    np.testing.assert_allclose(a.W, b.W, atol=1e-12)


def test_ufm_converges_to_problem_8_lemma1():
    """Z24 Lemma 1: with d ≥ V, NTP-UFM with weight decay λ and the convex problem (8) share their optimum."""
    data, lam = _data(8, V=4, m=6), 2e-2
    r = nl.nuclear_regularized_logits(data, lam, tol=1e-10)
    h = nl.train_ufm(data, 4, lam, "gd", 1.0, 20_000, rng=np.random.default_rng(2), n_records=5)
    L = h.W @ h.H
    np.testing.assert_allclose(L, r.L, atol=1e-4 * np.abs(r.L).max())
    ufm_obj = nl.ce_loss(L, data) + lam / 2 * (np.sum(h.W**2) + np.sum(h.H**2))
    assert ufm_obj == pytest.approx(data.entropy + r.excess + lam * r.nuclear_norm, rel=1e-8)
    np.testing.assert_allclose(h.W.sum(0), 0, atol=1e-6)  # centred word embeddings at the optimum


def test_ufm_records_theory_metrics():
    rng = np.random.default_rng(9)
    data = nl.random_ntp_data(6, 12, 2, rng, max_count=3, uniform_pi=True)
    h = nl.train_ufm(data, 6, 1e-6, "gd", 1.0, 3000, rng=rng, n_records=20)
    assert h.excess[-1] < 1e-2 * h.excess[0]
    assert h.cos_mm[-1] > h.cos_mm[0] and h.cos_mm[-1] > 0.9
    assert h.dist_in[-1] < h.dist_in[0]
    assert h.sim_W_theory[-1] > 0.9 and h.sim_H_theory[-1] > 0.9
    assert set(h.final()) >= {"excess", "sim_H_proxy"}


def test_ufm_adam_and_factory_run():
    data = _data(10)
    h = nl.train_ufm(data, 5, 1e-4, "adam", 1e-2, 200, rng=np.random.default_rng(3))
    assert h.excess[-1] < h.excess[0]
    g = nl.train_ufm(data, 5, 1e-4, lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), 1.0, 200,
                     rng=np.random.default_rng(3))
    assert g.excess[-1] < g.excess[0]


@pytest.mark.parametrize("kw, msg", [
    (dict(method="sgd"), "batch_size"),
    (dict(method="lbfgs"), "method"),
    (dict(d=0), "d must be positive"),
    (dict(lr=-1.0), "lr > 0"),
])
def test_ufm_bad_arguments(kw, msg):
    args = dict(d=3, weight_decay=1e-3, method="gd", lr=1.0, steps=5, rng=np.random.default_rng(0))
    args.update(kw)
    with pytest.raises(ValueError, match=msg):
        nl.train_ufm(_data(11), **args)


def test_nuclear_regularized_logits_bad_lambda():
    with pytest.raises(ValueError, match="positive"):
        nl.nuclear_regularized_logits(_data(12), 0.0)
