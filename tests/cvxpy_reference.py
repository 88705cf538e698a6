"""Independent CVXPY formulations of the papers' problems, shared by the tests (CVXPY is a test dependency)."""

import cvxpy as cp
import numpy as np


def ntp_svm_problem(data, H, **solver_options):
    """The NTP-SVM QP (T24 Def. 3) over W ∈ R^{V×d}, every pair written out; returns (status, W or None).

    Feasible iff the data is NTP-separable (T24 Def. 2)."""
    W = cp.Variable((data.V, H.shape[0]))
    L = W @ H
    cons = []
    for j, s in enumerate(data.supports):
        out = np.setdiff1d(np.arange(data.V), s)
        cons += [L[z, j] == L[s[0], j] for z in s[1:]]
        cons += [L[z, j] - L[v, j] >= 1 for z in s for v in out]
    prob = cp.Problem(cp.Minimize(cp.sum_squares(W)), cons)
    prob.solve(solver=cp.CLARABEL, **solver_options)
    return prob.status, W.value


def ntp_svm_star_problem(S, solver=cp.SCS, **solver_options):
    """The NTP-SVM★ (Z24 Def. 3, eqs. 9–10) as a generic SDP over L ∈ R^{V×m}; returns (status, value, L)."""
    V, m = S.shape
    L = cp.Variable((V, m))
    cons = []
    for j in range(m):
        s, out = np.flatnonzero(S[:, j]), np.flatnonzero(S[:, j] == 0)
        cons += [L[s[1:], j] == L[s[0], j]] if s.size > 1 else []
        cons += [L[s[0], j] - L[out, j] >= 1] if out.size else []
    prob = cp.Problem(cp.Minimize(cp.normNuc(L)), cons)
    prob.solve(solver=solver, **solver_options)
    return prob.status, prob.value, L.value


def nuclear_regularized_problem(data, lam, solver=cp.SCS, **solver_options):
    """Z24 eq. (8), min CE(L) + λ‖L‖_*, with log-sum-exp and the nuclear norm; returns (status, value, L)."""
    L = cp.Variable((data.V, data.m))
    ce = sum(data.pi[j] * (cp.log_sum_exp(L[:, j]) - data.P[:, j] @ L[:, j]) for j in range(data.m))
    prob = cp.Problem(cp.Minimize(ce + lam * cp.normNuc(L)))
    prob.solve(solver=solver, **solver_options)
    return prob.status, prob.value, L.value
