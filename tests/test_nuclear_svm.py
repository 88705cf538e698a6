import cvxpy as cp
import numpy as np
import pytest

import ntpbook_lib as nl
from ntpbook_lib.separability import DataSubspace

from cvxpy_reference import ntp_svm_star_problem

SCS = dict(eps=1e-9, max_iters=200_000)


def _S(seed, V=8, m=12, smax=3):
    rng = np.random.default_rng(seed)
    return nl.random_supports(V, m, rng.integers(1, smax + 1, size=m), rng)


def _constraints(L, S):
    """(max in-support spread, min in-minus-out margin) of L."""
    inL = np.where(S > 0, L, np.nan)
    spread = np.nanmax(np.nanmax(inL, 0) - np.nanmin(inL, 0))
    out = np.where(S > 0, -np.inf, L).max(0)
    return spread, np.min(np.nanmin(inL, 0) - out)


def test_centered_support_closed_form():
    S = _S(0)
    St = nl.centered_support(S)
    V, k = S.shape[0], S.sum(0)
    np.testing.assert_allclose(St.sum(0), 0, atol=1e-14)
    np.testing.assert_allclose(St, np.where(S > 0, (V - k) / V, -k / V), atol=1e-15)


def test_centered_support_is_feasible_with_equality():
    S = _S(1)
    spread, margin = _constraints(nl.centered_support(S), S)
    assert spread == 0
    St = nl.centered_support(S)
    gaps = (St.max(0)[None, :] - St)[S == 0]
    np.testing.assert_allclose(gaps, 1.0, atol=1e-14)  # every inequality is tight
    assert margin == pytest.approx(1.0, abs=1e-14)


def test_logits_in_solves_the_log_odds_equations_in_F():
    rng = np.random.default_rng(2)
    data = nl.random_ntp_data(7, 9, rng.integers(1, 5, size=9), rng, max_count=6)
    L = nl.logits_in(data)
    for j, s in enumerate(data.supports):
        for z in s:
            for zp in s:
                assert L[z, j] - L[zp, j] == pytest.approx(np.log(data.P[z, j] / data.P[zp, j]), abs=1e-12)
    np.testing.assert_allclose(nl.project_logits_F(L, data), L, atol=1e-14)
    # independent: the log-odds solution W* of T24 with H = I_m lives in the same subspace and is unique there
    np.testing.assert_allclose(L, nl.logodds_solution(data, np.eye(data.m)), atol=1e-9)


def test_logit_projections_are_orthogonal_and_match_the_data_subspace():
    rng = np.random.default_rng(3)
    data = nl.random_ntp_data(6, 8, rng.integers(1, 6, size=8), rng, max_count=3)
    A, B = rng.standard_normal((2, 6, 8))
    PA, QB = nl.project_logits_F(A, data), nl.project_logits_F_perp(B, data)
    np.testing.assert_allclose(PA + nl.project_logits_F_perp(A, data), A, atol=1e-14)
    np.testing.assert_allclose(nl.project_logits_F(PA, data), PA, atol=1e-14)
    assert abs(np.sum(PA * QB)) < 1e-12
    np.testing.assert_allclose(PA, DataSubspace(data, np.eye(data.m)).project(A), atol=1e-10)
    np.testing.assert_allclose(nl.project_logits_F(A, data.S), PA)  # accepts S as well as data


@pytest.mark.parametrize("seed, V, m, smax", [(0, 6, 8, 3), (1, 8, 12, 3), (2, 10, 20, 4), (3, 12, 10, 6),
                                              (4, 5, 15, 2), (5, 9, 6, 5)])
def test_ntp_svm_logits_matches_scs_and_is_feasible(seed, V, m, smax):
    S = _S(seed, V, m, smax)
    L, info = nl.ntp_svm_logits(S, return_info=True)
    spread, margin = _constraints(L, S)
    assert spread <= 1e-6 and margin >= 1 - 1e-6
    status, value, _ = ntp_svm_star_problem(S, **SCS)
    assert status == cp.OPTIMAL
    nuc = np.linalg.svd(L, compute_uv=False).sum()
    assert nuc == pytest.approx(value, rel=1e-4)
    assert info.converged and info.relative_gap <= 1e-6
    assert nuc == pytest.approx(info.objective, rel=1e-12)


def test_reported_dual_certifies_the_gap():
    S = _S(7, 30, 16, 5)  # the size of Z24 §5.1; the proxy is not optimal here
    L, info = nl.ntp_svm_logits(S, return_info=True)
    assert not info.certified_by_proxy and info.iterations > 0
    C = info.C
    assert np.linalg.norm(C, 2) <= 1 + 1e-12
    np.testing.assert_allclose(C.sum(0), 0, atol=1e-12)
    assert C[S == 0].max() <= 0
    dual = float(np.sum(S * C))
    assert dual == pytest.approx(info.dual_objective, rel=1e-12)
    nuc = np.linalg.svd(L, compute_uv=False).sum()
    assert dual <= nuc and (nuc - dual) / nuc <= 1e-6  # weak duality, and the gap it certifies


def test_repeated_columns_are_solved_exactly():
    base = _S(8, 7, 6, 3)
    S = base[:, [0, 0, 0, 1, 2, 2, 3, 4, 5, 5, 5, 5]]
    L, info = nl.ntp_svm_logits(S, return_info=True)
    assert info.distinct_supports == len(np.unique(base.T, axis=0))
    _, value, _ = ntp_svm_star_problem(S, **SCS)
    assert np.linalg.svd(L, compute_uv=False).sum() == pytest.approx(value, rel=1e-4)
    np.testing.assert_array_equal(L[:, 0], L[:, 2])  # equal supports, equal columns


@pytest.mark.parametrize("seed", range(12))
def test_certificate_implies_proxy_is_optimal(seed):
    """Z24 Prop. 3: if the sign test holds, no feasible L has a smaller nuclear norm than S̃."""
    S = _S(100 + seed, 6, 8, 3)
    cert = nl.certificate(S)
    L = nl.ntp_svm_logits(S)
    nuc, nuc_proxy = (np.linalg.svd(X, compute_uv=False).sum() for X in (L, nl.centered_support(S)))
    assert nuc <= nuc_proxy * (1 + 1e-9)
    if cert:
        assert nuc == pytest.approx(nuc_proxy, rel=1e-6)
        np.testing.assert_allclose(L, nl.centered_support(S), atol=1e-12)
    U, sv, Vt = np.linalg.svd(nl.centered_support(S))  # Prop. 3's A, recomputed from a full SVD
    r = int(np.sum(sv > 1e-10))
    A = U[:, :r] @ Vt[:r]
    assert cert.max_off_support == pytest.approx(A[S == 0].max(), abs=1e-12)
    assert cert.holds == (A[S == 0].max() < 0)


def test_certificate_can_fail_and_then_the_proxy_is_beaten():
    S = _S(7, 30, 16, 5)
    assert not nl.certificate(S)
    L = nl.ntp_svm_logits(S)
    _, value, _ = ntp_svm_star_problem(S, **SCS)
    assert np.linalg.svd(nl.centered_support(S), compute_uv=False).sum() > value * (1 + 1e-3)
    assert np.linalg.svd(L, compute_uv=False).sum() == pytest.approx(value, rel=1e-4)


def test_mm_embeddings_balanced_factorisation_lemma1():
    rng = np.random.default_rng(9)
    L = nl.centered_support(_S(9))  # centred columns: 1ᵀL = 0
    W, H = nl.mm_embeddings(L)
    np.testing.assert_allclose(W @ H, L, atol=1e-12)
    nuc = np.linalg.svd(L, compute_uv=False).sum()
    assert (np.sum(W**2) + np.sum(H**2)) / 2 == pytest.approx(nuc, rel=1e-12)  # Lemma 1's minimum
    np.testing.assert_allclose(W.sum(0), 0, atol=1e-12)  # centred word embeddings
    np.testing.assert_allclose((W @ W.T) @ (W @ W.T), L @ L.T, atol=1e-10)  # W Wᵀ = U Σ Uᵀ
    np.testing.assert_allclose((H.T @ H) @ (H.T @ H), L.T @ L, atol=1e-10)  # Hᵀ H = V Σ Vᵀ
    for _ in range(5):  # any other factorisation costs at least as much
        G = rng.standard_normal((W.shape[1], W.shape[1]))
        W2, H2 = W @ G, np.linalg.solve(G, H)
        assert (np.sum(W2**2) + np.sum(H2**2)) / 2 >= nuc * (1 - 1e-12)


@pytest.mark.parametrize("V, k", [(5, 1), (5, 2), (6, 3), (7, 2), (8, 5)])
def test_symmetric_design_matches_prop5(V, k):
    S = nl.symmetric_supports(V, k)
    L, info = nl.ntp_svm_logits(S, return_info=True)
    np.testing.assert_allclose(L, nl.centered_support(S), atol=1e-12)  # Prop. 2
    assert info.certified_by_proxy
    g = nl.symmetric_geometry(V, k)
    W, H = nl.mm_embeddings(L)
    cw = nl.corr(W.T)
    np.testing.assert_allclose(cw[~np.eye(V, dtype=bool)], g.cos_words, atol=1e-12)
    ch, overlap = nl.corr(H), (S.T @ S).astype(int)
    for o in range(k + 1):
        np.testing.assert_allclose(ch[overlap == o], g.cos_contexts[o], atol=1e-12)
    cwh = (W / np.linalg.norm(W, axis=1, keepdims=True)) @ (H / np.linalg.norm(H, axis=0))
    np.testing.assert_allclose(cwh[S > 0], g.cos_in, atol=1e-12)
    np.testing.assert_allclose(cwh[S == 0], g.cos_out, atol=1e-12)
    ratio = np.linalg.norm(W, axis=1)[:, None] ** 2 / np.linalg.norm(H, axis=0)[None, :] ** 2
    np.testing.assert_allclose(ratio, g.norm_ratio, rtol=1e-12)


@pytest.mark.parametrize("V, k", [(5, 1), (6, 3), (7, 2)])
def test_measured_symmetric_geometry_matches_closed_forms(V, k):
    m, L = nl.measure_symmetric_geometry(V, k)
    g = nl.symmetric_geometry(V, k)
    np.testing.assert_allclose(L, nl.centered_support(nl.symmetric_supports(V, k)), atol=1e-12)
    for f in ("cos_words", "cos_in", "cos_out", "norm_ratio"):
        assert getattr(m, f) == pytest.approx(getattr(g, f), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(m.cos_contexts[:k], g.cos_contexts[:k], atol=1e-12)  # overlap k: same context
    assert np.isnan(m.cos_contexts[k])


def test_symmetric_k1_is_neural_collapse():
    g = nl.symmetric_geometry(6, 1)
    assert g.cos_contexts[0] == pytest.approx(-1 / 5)  # distinct contexts form the same simplex ETF
    assert g.cos_in == pytest.approx(1.0) and g.norm_ratio == pytest.approx(1.0)  # self-duality


@pytest.mark.parametrize("S, msg", [
    (np.array([[1, 0], [0.5, 1]]), "binary"),
    (np.array([[1, 0], [0, 0], [0, 0]]), "no support"),
    (np.ones((3, 4)), "whole vocabulary"),
    (np.ones(3), "V×m"),
    (np.zeros((0, 3)), "V×m"),
])
def test_malformed_support_raises(S, msg):
    with pytest.raises(ValueError, match=msg):
        nl.ntp_svm_logits(S)
    with pytest.raises(ValueError, match=msg):
        nl.certificate(S)


def test_full_support_column_is_valid():
    S = np.array([[1, 1, 0], [0, 1, 1], [0, 1, 0]], dtype=float)
    L = nl.ntp_svm_logits(S)
    spread, margin = _constraints(L, S)
    assert spread <= 1e-9 and margin >= 1 - 1e-9
    _, value, _ = ntp_svm_star_problem(S, **SCS)
    assert np.linalg.svd(L, compute_uv=False).sum() == pytest.approx(value, rel=1e-4)


def test_symmetric_geometry_rejects_k_equal_V():
    with pytest.raises(ValueError, match="k < V"):
        nl.symmetric_geometry(4, 4)


def test_torch_device_path_is_certified_and_matches_scs():
    """device= runs the same iteration in torch: its answer is feasible, certified, and SCS's optimum."""
    S = _S(7, 30, 16, 5)
    L, info = nl.ntp_svm_logits(S, return_info=True, device="cpu")
    assert isinstance(L, np.ndarray) and info.converged and info.relative_gap <= 1e-6
    spread, margin = _constraints(L, S)
    assert spread <= 1e-9 and margin >= 1 - 1e-9
    C = info.C
    assert np.linalg.norm(C, 2) <= 1 + 1e-12 and C[S == 0].max() <= 0
    np.testing.assert_allclose(C.sum(0), 0, atol=1e-12)
    nuc = np.linalg.svd(L, compute_uv=False).sum()
    assert float(np.sum(S * C)) <= nuc and (nuc - float(np.sum(S * C))) / nuc <= 1e-6
    _, value, _ = ntp_svm_star_problem(S, **SCS)
    assert nuc == pytest.approx(value, rel=1e-4)
    L_np = nl.ntp_svm_logits(S)
    assert nuc == pytest.approx(np.linalg.svd(L_np, compute_uv=False).sum(), rel=2e-6)


def test_merging_equal_columns_by_packed_bits():
    """The packed-bit merge finds the same classes of equal columns as a row-wise np.unique."""
    from ntpbook_lib.nuclear_svm import _merge_equal_columns

    rng = np.random.default_rng(11)
    base = nl.random_supports(70, 30, rng.integers(1, 6, size=30), rng)  # V = 70: keys longer than 8 bytes
    S = base[:, rng.integers(0, 30, size=200)]
    uniq, inverse, counts = _merge_equal_columns(S)
    ref, ref_inverse, ref_counts = np.unique(S.T, axis=0, return_inverse=True, return_counts=True)
    assert uniq.shape[1] == ref.shape[0]
    np.testing.assert_array_equal(uniq[:, inverse], S)  # every column is its class representative
    assert sorted(counts.tolist()) == sorted(ref_counts.tolist())
    assert np.array_equal(inverse[:, None] == inverse[None, :], ref_inverse.ravel()[:, None] == ref_inverse.ravel()[None, :])


@pytest.mark.parametrize("seed", range(3))
def test_feasible_set_projection_matches_cvxpy(seed):
    """ADMM's projection onto {x_S = a·1, x_v ≤ a − b_j off S} (Newton passes) against a QP solved by CVXPY."""
    from ntpbook_lib.nuclear_svm import project_feasible as _project_feasible

    rng = np.random.default_rng(seed)
    S = _S(20 + seed, 7, 6, 3) > 0
    X, b = 2 * rng.standard_normal(S.shape), rng.uniform(0.5, 2.0, S.shape[1])
    P = _project_feasible(X, S, S.sum(0).astype(float), b)
    for j in range(S.shape[1]):
        x, a = cp.Variable(S.shape[0]), cp.Variable()
        cons = [x[np.flatnonzero(S[:, j])] == a]
        if (~S[:, j]).any():
            cons.append(x[np.flatnonzero(~S[:, j])] <= a - b[j])
        cp.Problem(cp.Minimize(cp.sum_squares(x - X[:, j])), cons).solve(solver=cp.CLARABEL, tol_gap_abs=1e-12,
                                                                           tol_gap_rel=1e-12, tol_feas=1e-12)
        np.testing.assert_allclose(P[:, j], x.value, atol=1e-7)
