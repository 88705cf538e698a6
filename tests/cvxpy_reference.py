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
