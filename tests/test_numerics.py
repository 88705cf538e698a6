"""The shared kernels, each run on NumPy arrays and on torch tensors (CPU): one implementation, same answers."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ntpbook_lib.nuclear_svm import dual_point, project_feasible
from ntpbook_lib.numerics import (
    array_namespace,
    center_on_support,
    cosine,
    nuclear_norm,
    polar,
    project_columns,
    spectral_norm,
    spread_and_margin,
    svt,
    svt_gram,
)

BACKENDS = ["numpy", "torch"]


def _as(backend, *arrays):
    if backend == "numpy":
        return arrays
    return tuple(torch.as_tensor(a) for a in arrays)


def _np(X):
    return X.numpy() if isinstance(X, torch.Tensor) else X


def _problem(seed, V=7, m=9):
    rng = np.random.default_rng(seed)
    off = rng.random((V, m)) < 0.5
    off[rng.integers(V, size=m), np.arange(m)] = False  # every column keeps a token in its support
    return rng.standard_normal((V, m)) * 3, off


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6))
def test_project_columns_lands_in_the_cone_and_is_a_projection(backend, seed):
    Y, off = _problem(seed)
    n_in = (~off).sum(0).astype(float)
    C = _np(project_columns(*_as(backend, Y, off, n_in)))
    np.testing.assert_allclose(C.sum(0), 0.0, atol=1e-12)
    assert np.all(C[off] <= 1e-15)
    np.testing.assert_allclose(_np(project_columns(*_as(backend, C, off, n_in))), C, atol=1e-12)  # idempotent
    # optimality: Y − C is normal to the cone at C, so ⟨Y − C, D − C⟩ ≤ 0 for every D in the cone
    D = project_columns(np.random.default_rng(seed + 1).standard_normal(Y.shape), off, n_in)
    assert np.sum((Y - C) * (D - C)) <= 1e-9
    np.testing.assert_allclose(C, project_columns(Y, off, n_in), rtol=0, atol=1e-12)  # both backends agree


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6))
def test_project_feasible_meets_the_margin_constraints_and_is_idempotent(backend, seed):
    X, off = _problem(seed)
    S = ~off
    b = np.random.default_rng(seed).random(X.shape[1]) + 0.5
    n_in = S.sum(0).astype(float)
    L = _np(project_feasible(*_as(backend, X, S, n_in, b)))
    spread, margin, low = spread_and_margin(L, off)
    assert spread <= 1e-12
    assert np.all(L[off] <= (low - b)[np.nonzero(off)[1]] + 1e-12)
    np.testing.assert_allclose(_np(project_feasible(*_as(backend, L, S, n_in, b))), L, atol=1e-12)
    np.testing.assert_allclose(L, project_feasible(X, S, n_in, b), rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(5, 8), (8, 5)])
def test_spectral_kernels(backend, shape):
    Y = np.random.default_rng(sum(shape)).standard_normal(shape)
    (Yb,) = _as(backend, Y)
    s = np.linalg.svd(Y, compute_uv=False)
    np.testing.assert_allclose(spectral_norm(Yb), s[0], rtol=1e-12)
    np.testing.assert_allclose(nuclear_norm(Yb), s.sum(), rtol=1e-12)
    A, nuc = polar(Yb)
    np.testing.assert_allclose(np.linalg.svd(_np(A), compute_uv=False)[: min(shape)], 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.sum(_np(A) * Y), nuc, rtol=1e-12)  # ⟨U Qᵀ, Y⟩ = ‖Y‖_*
    tau = float(np.median(s))
    np.testing.assert_allclose(_np(svt_gram(Yb, tau)), svt(Y, tau)[0], atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dual_point_is_dual_feasible(backend):
    G, off = _problem(3)
    n_in = (~off).sum(0).astype(float)
    C = _np(dual_point(*_as(backend, 10 * G, off, n_in)))
    np.testing.assert_allclose(C.sum(0), 0.0, atol=1e-10)
    assert np.all(C[off] <= 1e-15) and np.linalg.norm(C, 2) <= 1.0 + 1e-12


def test_array_namespace_and_small_kernels():
    assert array_namespace(np.zeros(2)) is array_namespace(np.ones(3))
    assert array_namespace(torch.zeros(2)) is not array_namespace(np.zeros(2))
    assert np.isnan(cosine(np.zeros((2, 2)), np.ones((2, 2))))
    np.testing.assert_allclose(cosine(np.ones((2, 2)) * 1e-300, np.ones((2, 2)) * 1e300), 1.0)
    L = np.array([[1.0, 2.0], [3.0, 5.0], [0.0, 7.0]])
    S = np.array([[True, True], [True, False], [False, True]])
    np.testing.assert_allclose(center_on_support(L, S), [[-1.0, -2.5], [1.0, 0.0], [0.0, 2.5]])


def test_data_kernels_agree_with_their_checked_twins():
    import ntpbook_lib as nl
    from ntpbook_lib.geometry import check_reference, geometry_record
    from ntpbook_lib.loss import kl_terms
    from ntpbook_lib.nuclear_svm import log_odds_in, support_of
    from ntpbook_lib.numerics import center_columns, log_p_on_support, ntp_margin_of_logits, softmax_minus_P
    from ntpbook_lib.svm import svm_residuals

    data = nl.random_ntp_data(5, 6, 2, rng=np.random.default_rng(0), max_count=4)
    L = np.random.default_rng(1).standard_normal((data.V, data.m))
    S = data.S > 0
    np.testing.assert_allclose(kl_terms(L, data), nl.ce_decomposition(L, data).kl, rtol=0, atol=0)
    np.testing.assert_array_equal(log_odds_in(data), nl.logits_in(data))
    np.testing.assert_array_equal(support_of(data), data.S)
    np.testing.assert_array_equal(center_columns(data.S), nl.centered_support(data.S))
    np.testing.assert_array_equal(log_p_on_support(data.P, S)[S], np.log(data.P[S]))
    H = np.eye(data.m)
    assert ntp_margin_of_logits(L, S) == nl.ntp_margin(L, data, H)
    G = softmax_minus_P(torch.as_tensor(L), torch.as_tensor(data.P), torch.as_tensor(S)).numpy()
    Q = np.exp(nl.log_softmax(L))
    np.testing.assert_allclose(G, Q - data.P, atol=1e-15)
    ref = nl.ufm_reference(data)
    assert check_reference(ref, data) is ref
    W, Hh = np.random.default_rng(2).standard_normal((data.V, 3)), np.random.default_rng(3).standard_normal((3, data.m))
    assert geometry_record(W, Hh, data, ref) == nl.geometry_metrics(W, Hh, data, ref)
    W_mm, info = nl.ntp_svm(data, nl.gaussian_embeddings(8, data.m, rng=np.random.default_rng(4)), return_info=True)
    eq, mv, comp = svm_residuals(info.C @ (nl.gaussian_embeddings(8, data.m, rng=np.random.default_rng(4)).T
                                           @ nl.gaussian_embeddings(8, data.m, rng=np.random.default_rng(4))),
                                 info.C, data.S == 0)
    assert max(eq, mv, comp) <= 1e-8


def test_the_pair_helpers_list_every_constraint_once():
    import ntpbook_lib as nl
    from ntpbook_lib.separability import in_support_pairs, margin_pairs, require_margin_constraints

    data = nl.random_ntp_data(5, 6, 2, rng=np.random.default_rng(0), max_count=4)
    j, z, a = in_support_pairs(data)
    assert j.size == int(np.sum(data.support_sizes - 1)) and np.all(data.S[z, j] == 1) and np.all(z > a)
    jm, am, vm = margin_pairs(data)
    assert jm.size == int(np.sum(data.V - data.support_sizes)) and np.all(data.S[vm, jm] == 0)
    require_margin_constraints(data)
    with pytest.raises(ValueError, match="whole vocabulary"):
        require_margin_constraints(nl.NTPData(np.full((2, 1), 0.5), np.ones(1)))


def test_anderson_iterates_find_the_fixed_point_of_a_contraction():
    from ntpbook_lib.acceleration import anderson_iterates

    A = np.array([[0.5, 0.2], [0.1, 0.4]])
    c = np.array([1.0, 2.0])
    fixed = np.linalg.solve(np.eye(2) - A, c)
    for k, (z,) in zip(range(30), anderson_iterates(lambda z: (A @ z + c, z), np.zeros(2))):
        pass
    np.testing.assert_allclose(z, fixed, rtol=1e-10)
