"""The same values in many containers and dtypes, fed to every public NumPy-side entry point.

Each call's answer is compared with the answer for the same values as a float64 NumPy array, converted here
independently of the library (``value64``); every array argument is compared with a snapshot taken before the
call (sparse ``.data/.indices/.indptr`` included), and arrays of the result are checked for sharing memory with
the caller's arrays.  Scalar probes feed Python integers beyond float64 (``10**400``) to every integer and real
parameter; size probes ask for objects far beyond memory, which must be refused before work starts; extreme but
valid values must be answered, scale-free where the mathematics is; arguments that do not fit each other must
give an error naming both.

``python -m tests.container_sweep --report`` runs every case, each in a spawned worker (never forked after BLAS
or torch threads start) with a time limit and an address-space cap, and prints the count of every class.
``tests/test_containers.py`` runs a CI-sized subset in-process.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import re
import sys
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

CLASSES = ("right answer", "clean error", "error naming the wrong thing or nothing", "wrong exception type",
           "hang", "input changed in place", "result shares the caller's memory", "memory blow-up",
           "wrong answer", "valid input refused", "bad input accepted")


class NotApplicable(Exception):
    """A container that does not apply to an argument (np.matrix for a 1-D array, sparse for 1-D)."""


# ------------------------------------------------------------------------------------------ containers
def _torch(dtype_name: str, *, grad: bool = False, noncontig: bool = False):
    def make(A: np.ndarray):
        import torch
        t = torch.tensor(np.ascontiguousarray(A), dtype=getattr(torch, dtype_name))
        if noncontig:
            if A.ndim == 2:
                t = torch.tensor(np.ascontiguousarray(A.T), dtype=t.dtype).t()
            else:
                t = torch.repeat_interleave(t, 2)[::2]
            assert not t.is_contiguous() or A.size <= 1
        if grad:
            t.requires_grad_(True)
        return t
    return make


def _strided(A: np.ndarray) -> np.ndarray:
    big = np.zeros(tuple(2 * s for s in A.shape))
    big[tuple(slice(None, None, 2) for _ in A.shape)] = A
    return big[tuple(slice(None, None, 2) for _ in A.shape)]


def _readonly(A: np.ndarray) -> np.ndarray:
    B = A.copy()
    B.flags.writeable = False
    return B


def _sparse(kind: str, fmt: str):
    def make(A: np.ndarray):
        if A.ndim != 2:
            raise NotApplicable("sparse containers are 2-D")
        coo = sp.coo_array(A)
        rows, cols = np.nonzero(A == 0)
        r, c, v = coo.row, coo.col, coo.data
        if rows.size:  # a stored explicit zero
            r, c, v = np.r_[r, rows[0]], np.r_[c, cols[0]], np.r_[v, 0.0]
        M = (sp.coo_array if kind == "array" else sp.coo_matrix)((v, (r, c)), shape=A.shape)
        return M.asformat(fmt)
    return make


def _matrix(A: np.ndarray):
    if A.ndim != 2:
        raise NotApplicable("np.matrix is 2-D")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(A.copy())


def _pandas(A: np.ndarray):
    import pandas as pd
    if A.ndim == 1:
        return pd.Series(A.copy())
    if A.ndim == 2:
        return pd.DataFrame(A.copy())
    raise NotApplicable("pandas holds 1-D and 2-D data")


def _masked(mask_one: bool):
    def make(A: np.ndarray):
        mask = np.zeros(A.shape, dtype=bool)
        if mask_one and A.size:
            mask.flat[0] = True
        return np.ma.array(A.copy(), mask=mask)
    return make


def _empty(A: np.ndarray) -> np.ndarray:
    return np.zeros((0,) + A.shape[1:])


CONTAINERS: dict[str, Callable[[np.ndarray], Any]] = {
    "bool": lambda A: A.astype(bool),
    "int8": lambda A: A.astype(np.int8),
    "uint8": lambda A: A.astype(np.uint8),
    "int64": lambda A: A.astype(np.int64),
    "big-endian float64": lambda A: A.astype(">f8"),
    "big-endian int64": lambda A: A.astype(">i8"),
    "float16": lambda A: A.astype(np.float16),
    "float32": lambda A: A.astype(np.float32),
    "object": lambda A: A.astype(object),
    "nested list": lambda A: A.tolist(),
    "tuple": lambda A: tuple(map(tuple, A)) if A.ndim == 2 else tuple(A.tolist()),
    "strided view": _strided,
    "Fortran order": lambda A: np.asfortranarray(A.copy()),
    "read-only": _readonly,
    "masked (no mask)": _masked(False),
    "masked (one entry)": _masked(True),
    "np.matrix": _matrix,
    "pandas": _pandas,
    "torch float64": _torch("float64"),
    "torch float32": _torch("float32"),
    "torch float16": _torch("float16"),
    "torch bfloat16": _torch("bfloat16"),
    "torch int64": _torch("int64"),
    "torch bool": _torch("bool"),
    "torch requires_grad": _torch("float64", grad=True),
    "torch non-contiguous": _torch("float64", noncontig=True),
    "csr_array": _sparse("array", "csr"),
    "csc_array": _sparse("array", "csc"),
    "coo_array": _sparse("array", "coo"),
    "csr_matrix": _sparse("matrix", "csr"),
    "csc_matrix": _sparse("matrix", "csc"),
    "coo_matrix": _sparse("matrix", "coo"),
    "complex (zero imaginary part)": lambda A: A.astype(np.complex128),
    "zero-size": _empty,
}
REFUSED = {"masked (no mask)", "masked (one entry)", "complex (zero imaginary part)"}  # must be a clean error


def value64(obj: Any) -> np.ndarray:
    """The values of a container as a float64 NumPy array, read here without the library."""
    if sp.issparse(obj):
        return np.asarray(obj.toarray(), dtype=np.float64)
    if type(obj).__module__.startswith("torch"):
        return obj.detach().to(dtype=__import__("torch").float64).cpu().numpy().copy()
    if type(obj).__module__.startswith("pandas"):
        return obj.to_numpy(dtype=np.float64).copy()
    return np.array(np.asarray(obj), dtype=np.float64)


# ------------------------------------------------------------------------------------------ fixtures
_FIX: dict[str, Any] = {}


def fixtures() -> dict[str, Any]:
    """Small seeded problems (V = 6, m = 5, d = 7); values are half-integers, exact in float16."""
    if _FIX:
        return _FIX
    import ntpbook_lib as nl
    rng = np.random.default_rng(0)
    d0 = nl.random_ntp_data(6, 5, 2, rng, max_count=4)
    d1 = nl.random_ntp_data(6, 4, 2, rng, max_count=4)
    counts = rng.integers(0, 4, (6, 5)).astype(np.float64)
    counts[0] = 1.0
    _FIX.update(
        d0=d0, d1=d1,
        P=d0.P.copy(), pi=d0.pi.copy(), counts=counts, S=d0.S.copy(),
        H=rng.integers(-4, 5, (7, 5)) / 2.0, W=rng.integers(-4, 5, (6, 7)) / 2.0,
        L=rng.integers(-4, 5, (6, 5)) / 2.0, X=rng.integers(-4, 5, (4, 5)) / 2.0,
        Y=rng.integers(-4, 5, (4, 5)) / 2.0, v=np.array([3.0, 1.0, 2.0, 0.5]),
        tokens=np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 1], dtype=np.float64),
        sequences=np.array([[0, 1, 2, 1], [1, 2, 0, 0]], dtype=np.float64),
        sizes=np.array([1.0, 2.0, 2.0, 3.0, 1.0]), ratios=np.array([0.5, 1.0]),
        lams=np.array([2.0, 0.5]), radii=np.array([1.0, 4.0]), R=np.array([0.5, 1.0]),
        column=np.array([1.0, 2.5, 3.0]),
    )
    _FIX["W5"], _FIX["H5"] = _FIX["W"][:, :5].copy(), _FIX["H"][:5].copy()
    _FIX["ref"] = nl.ufm_reference(d0)
    _FIX["L_mm"] = _FIX["ref"].L_mm.copy()
    return _FIX


def _rng():
    return np.random.default_rng(1)


@dataclasses.dataclass
class Entry:
    """A public entry point: ``call(**array_args)`` with the fixtures' values as defaults."""
    call: Callable[..., Any]
    args: tuple[str, ...]  # the array arguments (fixture names; the parameter name in messages is `names`)
    names: dict[str, str] = dataclasses.field(default_factory=dict)  # fixture → parameter name
    ci: bool = True  # in the CI subset
    skip: dict[str, str] = dataclasses.field(default_factory=dict)  # container → why it does not apply

    def param(self, arg: str) -> str:
        return self.names.get(arg, arg)


def _entries() -> dict[str, Entry]:
    import ntpbook_lib as nl
    from ntpbook_lib import NTPData
    from ntpbook_lib.loss import kl_terms
    from ntpbook_lib.nuclear_svm import log_odds_in, support_of
    from ntpbook_lib.numerics import frobenius_norm
    from ntpbook_lib.separability import DataSubspace
    F = fixtures
    d0 = lambda: F()["d0"]  # noqa: E731
    return {
        "NTPData": Entry(lambda P, pi: NTPData(P, pi), ("P", "pi")),
        "NTPData.from_counts": Entry(lambda counts: NTPData.from_counts(counts), ("counts",)),
        "NTPData.from_pairs": Entry(lambda tokens: NTPData.from_pairs(list("abcabcabca"), tokens),
                                    ("tokens",), {"tokens": "next_tokens"}),
        "NTPData.from_tokens": Entry(lambda tokens: NTPData.from_tokens(tokens, 2), ("tokens",)),
        "NTPData.from_sequences": Entry(lambda sequences: NTPData.from_sequences(sequences), ("sequences",)),
        "random_supports": Entry(lambda sizes: nl.random_supports(6, 5, sizes, _rng()), ("sizes",)),
        "random_ntp_data": Entry(lambda S: nl.random_ntp_data(6, 5, 2, _rng(), max_count=3, S=S), ("S",)),
        "log_softmax": Entry(lambda L: nl.log_softmax(L), ("L",)),
        "ce_loss": Entry(lambda L: nl.ce_loss(L, d0()), ("L",)),
        "ce_decomposition": Entry(lambda L: nl.ce_decomposition(L, d0()), ("L",)),
        "restricted_ce_loss": Entry(lambda L: nl.restricted_ce_loss(L, d0()), ("L",)),
        "kl_terms": Entry(lambda L: kl_terms(L, d0()), ("L",)),
        "DataSubspace": Entry(lambda H, W: DataSubspace(d0(), H).project(W), ("H", "W")),
        "data_subspace": Entry(lambda H: nl.data_subspace(d0(), H).dim, ("H",)),
        "logodds_solution": Entry(lambda H: nl.logodds_solution(d0(), H), ("H",)),
        "is_compatible": Entry(lambda H: nl.is_compatible(d0(), H), ("H",)),
        "is_separable": Entry(lambda H: nl.is_separable(d0(), H), ("H",)),
        "ntp_margin": Entry(lambda W, H: nl.ntp_margin(W, d0(), H), ("W", "H")),
        "lemma1_witnesses": Entry(lambda H: nl.lemma1_witnesses(d0(), H), ("H",)),
        "lifted_points": Entry(lambda H: nl.lifted_points(d0(), H), ("H",)),
        "separability_phase_transition": Entry(
            lambda ratios: nl.separability_phase_transition(4, 3, 2, ratios, 1, _rng()), ("ratios",)),
        "ntp_svm": Entry(lambda H: nl.ntp_svm(d0(), H), ("H",)),
        "support_of": Entry(lambda S: support_of(S), ("S",), {"S": "data_or_S"}),
        "centered_support": Entry(lambda S: nl.centered_support(S), ("S",)),
        "log_odds_in": Entry(lambda P, pi: log_odds_in(NTPData(P, pi)), ("P", "pi")),
        "project_logits_F": Entry(lambda L, S: nl.project_logits_F(L, S), ("L", "S"), {"S": "data_or_S"}),
        "project_logits_F_perp": Entry(lambda L, S: nl.project_logits_F_perp(L, S), ("L", "S"),
                                       {"S": "data_or_S"}),
        "ntp_svm_logits": Entry(lambda S: nl.ntp_svm_logits(S), ("S",)),
        "certificate": Entry(lambda S: nl.certificate(S), ("S",)),
        "mm_embeddings": Entry(lambda L: nl.mm_embeddings(L), ("L",)),
        "nuclear_regularized_logits": Entry(
            lambda L: nl.nuclear_regularized_logits(d0(), 0.5, L0=L, max_iter=40, check_every=10), ("L",),
            {"L": "L0"}),
        "nuclear_regularization_path": Entry(
            lambda lams, L_mm: nl.nuclear_regularization_path(d0(), lams, L_mm=L_mm, max_iter=40),
            ("lams", "L_mm")),
        "genie_bound": Entry(lambda L_mm: nl.genie_bound(d0(), L_mm=L_mm), ("L_mm",)),
        "corr": Entry(lambda X: nl.corr(X), ("X",)),
        "sim": Entry(lambda X, Y: nl.sim(X, Y), ("X", "Y")),
        "sim_corr": Entry(lambda X, Y: nl.sim_corr(X, Y), ("X", "Y")),
        "collapse_cosines": Entry(lambda H: nl.collapse_cosines(H, d0()), ("H",)),
        "ufm_reference": Entry(lambda L_mm: nl.ufm_reference(d0(), L_mm=L_mm), ("L_mm",)),
        "proxy_quality": Entry(lambda S, L_mm: nl.proxy_quality(S, L_mm), ("S", "L_mm")),
        "geometry_metrics": Entry(lambda W5, H5: nl.geometry_metrics(W5, H5, d0(), F()["ref"]), ("W5", "H5"),
                                  {"W5": "W", "H5": "H"}),
        "frobenius_norm": Entry(lambda X: frobenius_norm(X), ("X",)),
        "ridge_solution": Entry(lambda H, W: nl.ridge_solution(d0(), H, 1.0, W0=W), ("H", "W"), {"W": "W0"}),
        "regularization_path": Entry(lambda H, radii: nl.regularization_path(d0(), H, radii), ("H", "radii")),
        "genie_excess": Entry(lambda H, R: nl.genie_excess(d0(), H, R), ("H", "R")),
        "implicit_bias_reference": Entry(lambda H: nl.implicit_bias_reference(d0(), H).W_star, ("H",)),
        "alignment": Entry(lambda W, H: nl.alignment(W, d0(), H, nl.implicit_bias_reference(d0(), H)),
                           ("W", "H")),
        "table": Entry(lambda column: str(nl.table({"x": column})), ("column",), {"column": "rows"},
                       skip={c: "a table shows booleans as True/False, not as numbers"
                             for c in ("bool", "torch bool")}),
    }


# ----------------------------------------------------------------------------- scalar, size, extreme
HUGE_INT = 10**400


def _scalar_probes() -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """name → (parameter, call taking the value)."""
    import ntpbook_lib as nl
    from ntpbook_lib import NTPData
    from ntpbook_lib.separability import DataSubspace
    F = fixtures
    d0 = lambda: F()["d0"]  # noqa: E731
    P = {
        "NTPData/atol": ("atol", lambda b: NTPData(F()["P"], F()["pi"], atol=b)),
        "NTPData/n": ("n", lambda b: NTPData(F()["P"], F()["pi"], n=b)),
        "NTPData.from_pairs/V": ("V", lambda b: NTPData.from_pairs(["a", "b"], [0, 1], V=b)),
        "NTPData.from_pairs/next_tokens": ("next_tokens", lambda b: NTPData.from_pairs(["a", "b"], [0, b])),
        "NTPData.from_tokens/context_length": ("context_length", lambda b: NTPData.from_tokens([0, 1, 2, 1], b)),
        "NTPData.from_tokens/V": ("V", lambda b: NTPData.from_tokens([0, 1, 2, 1], 1, V=b)),
        "NTPData.from_sequences/min_length": ("min_length", lambda b: NTPData.from_sequences([[0, 1, 2]],
                                                                                             min_length=b)),
        "random_supports/V": ("V", lambda b: nl.random_supports(b, 3, 1, _rng())),
        "random_supports/m": ("m", lambda b: nl.random_supports(4, b, 1, _rng())),
        "random_supports/sizes": ("sizes", lambda b: nl.random_supports(4, 3, b, _rng())),
        "random_ntp_data/V": ("V", lambda b: nl.random_ntp_data(b, 3, 1, _rng(), max_count=2)),
        "random_ntp_data/max_count": ("max_count", lambda b: nl.random_ntp_data(4, 3, 1, _rng(), max_count=b)),
        "random_ntp_data/n": ("n", lambda b: nl.random_ntp_data(4, 3, 1, _rng(), n=b)),
        "symmetric_supports/V": ("V", lambda b: nl.symmetric_supports(b, 2)),
        "symmetric_supports/k": ("k", lambda b: nl.symmetric_supports(4, b)),
        "gaussian_embeddings/d": ("d", lambda b: nl.gaussian_embeddings(b, 2, _rng())),
        "gaussian_embeddings/m": ("m", lambda b: nl.gaussian_embeddings(2, b, _rng())),
        "count_entropy_range/support_size": ("support_size", lambda b: nl.count_entropy_range(b, 2)),
        "count_entropy_range/max_count": ("max_count", lambda b: nl.count_entropy_range(2, b)),
        "dirichlet_expected_entropy/support_size": ("support_size", lambda b: nl.dirichlet_expected_entropy(b)),
        "dirichlet_expected_entropy/alpha": ("alpha", lambda b: nl.dirichlet_expected_entropy(3, b)),
        "DataSubspace/rtol": ("rtol", lambda b: DataSubspace(d0(), F()["H"], rtol=b)),
        "is_compatible/tol": ("tol", lambda b: nl.is_compatible(d0(), F()["H"], tol=b)),
        "ntp_svm/tol": ("tol", lambda b: nl.ntp_svm(d0(), F()["H"], tol=b)),
        "ntp_svm/max_iter": ("max_iter", lambda b: nl.ntp_svm(d0(), F()["H"], max_iter=b)),
        "ntp_svm_logits/tol": ("tol", lambda b: nl.ntp_svm_logits(F()["S"], tol=b)),
        "ntp_svm_logits/max_iter": ("max_iter", lambda b: nl.ntp_svm_logits(F()["S"], max_iter=b)),
        "ntp_svm_logits/check_every": ("check_every", lambda b: nl.ntp_svm_logits(F()["S"], check_every=b)),
        "mm_embeddings/rtol": ("rtol", lambda b: nl.mm_embeddings(F()["L"], rtol=b)),
        "symmetric_geometry/V": ("V", lambda b: nl.symmetric_geometry(b, 1)),
        "symmetric_geometry/k": ("k", lambda b: nl.symmetric_geometry(4, b)),
        "measure_symmetric_geometry/V": ("V", lambda b: nl.measure_symmetric_geometry(b, 1)),
        "measure_symmetric_geometry/k": ("k", lambda b: nl.measure_symmetric_geometry(4, b)),
        "separability_phase_transition/V": ("V", lambda b: nl.separability_phase_transition(b, 3, 2, [1.0], 1,
                                                                                           _rng())),
        "separability_phase_transition/trials": ("trials", lambda b: nl.separability_phase_transition(
            4, 3, 2, [1.0], b, _rng())),
        "separability_phase_transition/ratios": ("ratios", lambda b: nl.separability_phase_transition(
            4, 3, 2, [b], 1, _rng())),
        "separability_phase_transition/max_count": ("max_count", lambda b: nl.separability_phase_transition(
            4, 3, 2, [1.0], 1, _rng(), max_count=b)),
        "cover_probability/m": ("m", lambda b: nl.cover_probability(b, 2)),
        "cover_probability/d": ("d", lambda b: nl.cover_probability(5, b)),
        "nuclear_regularized_logits/lam": ("lam", lambda b: nl.nuclear_regularized_logits(d0(), b, max_iter=5)),
        "nuclear_regularized_logits/tol": ("tol", lambda b: nl.nuclear_regularized_logits(d0(), 0.5, tol=b,
                                                                                          max_iter=5)),
        "nuclear_regularized_logits/max_iter": ("max_iter", lambda b: nl.nuclear_regularized_logits(
            d0(), 0.5, max_iter=b)),
        "nuclear_regularized_logits/check_every": ("check_every", lambda b: nl.nuclear_regularized_logits(
            d0(), 0.5, check_every=b)),
        "nuclear_regularization_path/lams": ("lams", lambda b: nl.nuclear_regularization_path(
            d0(), [0.5, b], L_mm=F()["L_mm"], max_iter=5)),
        "nuclear_regularization_path/tol": ("tol", lambda b: nl.nuclear_regularization_path(
            d0(), [0.5], L_mm=F()["L_mm"], tol=b, max_iter=5)),
        "nuclear_regularization_path/max_iter": ("max_iter", lambda b: nl.nuclear_regularization_path(
            d0(), [0.5], L_mm=F()["L_mm"], max_iter=b)),
        "genie_bound/tol": ("tol", lambda b: nl.genie_bound(d0(), L_mm=F()["L_mm"], tol=b)),
        "sim/eps": ("eps", lambda b: nl.sim(F()["X"], F()["Y"], eps=b)),
        "sim/ddof": ("ddof", lambda b: nl.sim(F()["X"], F()["Y"], ddof=b)),
        "sim_corr/eps": ("eps", lambda b: nl.sim_corr(F()["X"], F()["Y"], eps=b)),
        "proxy_quality/rank_rtol": ("rank_rtol", lambda b: nl.proxy_quality(F()["S"], F()["L_mm"],
                                                                             rank_rtol=b)),
        "ridge_solution/mu": ("mu", lambda b: nl.ridge_solution(d0(), F()["H"], b)),
        "ridge_solution/tol": ("tol", lambda b: nl.ridge_solution(d0(), F()["H"], 1.0, tol=b)),
        "regularization_path/radii": ("radii", lambda b: nl.regularization_path(d0(), F()["H"], [1.0, b])),
        "regularization_path/rtol": ("rtol", lambda b: nl.regularization_path(d0(), F()["H"], [1.0], rtol=b)),
        "genie_excess/R": ("R", lambda b: nl.genie_excess(d0(), F()["H"], [b])),
        "table/digits": ("digits", lambda b: nl.table([{"a": 1.0}], digits=b)),
    }
    return P


def _size_probes() -> dict[str, Callable[[], Any]]:
    """Objects far beyond memory (or work far beyond reason): refused before work starts, or answered at once."""
    import ntpbook_lib as nl
    from ntpbook_lib import NTPData
    return {
        "random_supports(10**6, 10**6)": lambda: nl.random_supports(10**6, 10**6, 1, _rng()),
        "random_ntp_data(10**6, 10**6)": lambda: nl.random_ntp_data(10**6, 10**6, 1, _rng(), max_count=2),
        "random_ntp_data(n=2**62)": lambda: nl.random_ntp_data(4, 3, 1, _rng(), n=2**62),
        "gaussian_embeddings(10**7, 10**7)": lambda: nl.gaussian_embeddings(10**7, 10**7, _rng()),
        "symmetric_supports(10**5, 2)": lambda: nl.symmetric_supports(10**5, 2),
        "symmetric_supports(60, 30)": lambda: nl.symmetric_supports(60, 30),
        "symmetric_geometry(2**62, 2)": lambda: nl.symmetric_geometry(2**62, 2),
        "measure_symmetric_geometry(10**5, 2)": lambda: nl.measure_symmetric_geometry(10**5, 2),
        "count_entropy_range(10**9, 10**9)": lambda: nl.count_entropy_range(10**9, 10**9),
        "cover_probability(10**18, 10**17)": lambda: nl.cover_probability(10**18, 10**17),
        "separability_phase_transition(10**6, 10**6)": lambda: nl.separability_phase_transition(
            10**6, 10**6, 2, [1.0], 1, _rng()),
        "separability_phase_transition(ratio 1e9)": lambda: nl.separability_phase_transition(
            4, 3, 2, [1e9], 1, _rng()),
        "from_pairs with ids near 2**40": lambda: NTPData.from_pairs(["a", "b", "a"], [2**40, 3, 5]),
        "from_counts sparse 10**9 x 10**9": lambda: NTPData.from_counts(
            sp.coo_array(([1.0, 2.0, 1.0], ([0, 5, 10**9 - 1], [0, 1, 10**9 - 1])), shape=(10**9, 10**9))),
        "NTPData sparse 10**9 x 3": lambda: NTPData(
            sp.coo_array(([1.0, 1.0, 1.0], ([0, 5, 10**9 - 1], [0, 1, 2])), shape=(10**9, 3)),
            np.full(3, 1 / 3)).support_sizes,
        "lifted_points of 10**5 contexts": lambda: nl.lifted_points(
            NTPData.from_counts(sp.eye_array(2 * 10**5, 10**5, format="csc") + sp.eye_array(
                2 * 10**5, 10**5, k=-1, format="csc")), np.ones((3, 10**5))),
        "NTPData.from_tokens(V=2**62)": lambda: NTPData.from_tokens([0, 1, 2, 3, 0, 1, 2, 3], 1, V=2**62),
        "NTPData.from_tokens(ids 2**61)": lambda: NTPData.from_tokens([0, 2**61, 5, 0, 2**61, 5], 2),
    }


def _extreme_probes() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """name → (call on extreme but valid values, the answer it must give)."""
    import ntpbook_lib as nl
    from ntpbook_lib import NTPData
    F = fixtures
    d0 = lambda: F()["d0"]  # noqa: E731
    C = np.array([[1e300, 1e-300, 2.0], [3e300, 0.0, 2.0], [0.0, 3e-300, 0.0]])
    P_ref = np.array([[0.25, 0.25, 0.5], [0.75, 0.0, 0.5], [0.0, 0.75, 0.0]])
    pi_ref = np.array([1.0, 0.0, 1e-300])  # 4e300 : 4e-300 : 4, in float64
    tiny_P = np.array([[1.0 - 1e-300, 0.5], [1e-300, 0.5]])
    s = 1e150

    def same(f, g):
        return lambda: (f(), g())
    return {
        "from_counts 1e300 and 1e-300 columns (dense)": (
            lambda: (lambda d: (d.P, d.pi))(NTPData.from_counts(C)), lambda: (P_ref, pi_ref)),
        "from_counts 1e300 and 1e-300 columns (sparse)": (
            lambda: (lambda d: (d.P, d.pi))(NTPData.from_counts(sp.csc_array(C))), lambda: (P_ref, pi_ref)),
        "from_counts 1e-300 everywhere": (
            lambda: NTPData.from_counts(np.array([[1e-300, 2e-300], [3e-300, 2e-300]])).P,
            lambda: np.array([[0.25, 0.5], [0.75, 0.5]])),
        "NTPData with a probability of 1e-300": (lambda: NTPData(tiny_P, [0.5, 0.5]).support_sizes,
                                                 lambda: np.array([2, 2])),
        "sim (eps = 0) at scale 1e300": (lambda: nl.sim(F()["X"] * 1e300, F()["Y"], eps=0),
                                         lambda: nl.sim(F()["X"], F()["Y"], eps=0)),
        "sim (eps = 0) at scale 1e-300": (lambda: nl.sim(F()["X"] * 1e-300, F()["Y"], eps=0),
                                          lambda: nl.sim(F()["X"], F()["Y"], eps=0)),
        "corr at scale 1e300": (lambda: nl.corr(F()["X"] * 1e300), lambda: nl.corr(F()["X"])),
        "corr at scale 1e-300": (lambda: nl.corr(F()["X"] * 1e-300), lambda: nl.corr(F()["X"])),
        "sim_corr at scale 1e300": (lambda: nl.sim_corr(F()["X"] * 1e300, F()["Y"] * 1e-300),
                                    lambda: nl.sim_corr(F()["X"], F()["Y"])),
        "collapse_cosines at scale 1e300": (lambda: nl.collapse_cosines(F()["H"] * 1e300, d0()),
                                            lambda: nl.collapse_cosines(F()["H"], d0())),
        "collapse_cosines at scale 1e-300": (lambda: nl.collapse_cosines(F()["H"] * 1e-300, d0()),
                                             lambda: nl.collapse_cosines(F()["H"], d0())),
        "is_separable at scale 1e300": (lambda: bool(nl.is_separable(d0(), F()["H"] * 1e300)),
                                        lambda: bool(nl.is_separable(d0(), F()["H"]))),
        "is_compatible at scale 1e-300": (lambda: bool(nl.is_compatible(d0(), F()["H"] * 1e-300)),
                                          lambda: bool(nl.is_compatible(d0(), F()["H"]))),
        "data_subspace at scale 1e300": (lambda: nl.data_subspace(d0(), F()["H"] * 1e300).dim,
                                         lambda: nl.data_subspace(d0(), F()["H"]).dim),
        "mm_embeddings at scale 1e300": (lambda: tuple(x / s for x in nl.mm_embeddings(F()["L_mm"] * 1e300)),
                                         lambda: nl.mm_embeddings(F()["L_mm"])),
        "frobenius_norm at 1e300": (lambda: nl.numerics.frobenius_norm(F()["X"] * 1e300) / 1e300,
                                    lambda: nl.numerics.frobenius_norm(F()["X"])),
        "log_softmax shifted by 1e300": (lambda: nl.log_softmax(np.array([[1e300], [0.0]])),
                                         lambda: np.array([[0.0], [-1e300]])),
    }


def _mismatch_probes() -> dict[str, tuple[Callable[[], Any], tuple[str, ...]]]:
    """Arguments that do not fit each other: a ValueError naming both."""
    import ntpbook_lib as nl
    from ntpbook_lib import NTPData
    F = fixtures
    d0, d1 = (lambda: F()["d0"]), (lambda: F()["d1"])
    return {
        "NTPData: pi for other P": (lambda: NTPData(F()["P"], np.full(4, 0.25)), ("pi", "P")),
        "ce_loss: L for other data": (lambda: nl.ce_loss(F()["L"][:, :4], d0()), ("L", "data")),
        "ce_decomposition: L for other data": (lambda: nl.ce_decomposition(F()["L"][:, :4], d0()), ("L", "data")),
        "restricted_ce_loss: L for other data": (lambda: nl.restricted_ce_loss(F()["L"][:, :4], d0()),
                                                 ("L", "data")),
        "ntp_margin: W for other H": (lambda: nl.ntp_margin(F()["W"][:, :3], d0(), F()["H"]), ("W", "H")),
        "is_separable: H for other data": (lambda: nl.is_separable(d0(), F()["H"][:, :4]), ("H", "data")),
        "lemma1_witnesses: H for other data": (lambda: nl.lemma1_witnesses(d0(), F()["H"][:, :4]), ("H", "data")),
        "logodds_solution: F for other data": (lambda: nl.logodds_solution(
            d0(), F()["H"][:, :5], F=nl.data_subspace(d1(), F()["H"][:, :4])), ("F", "data")),
        "collapse_cosines: H for other data": (lambda: nl.collapse_cosines(F()["H"][:, :4], d0()), ("H", "data")),
        "project_logits_F: L for other S": (lambda: nl.project_logits_F(F()["L"][:, :4], F()["S"]),
                                            ("L", "data_or_S")),
        "proxy_quality: L_mm for other S": (lambda: nl.proxy_quality(F()["S"], F()["L_mm"][:, :4]),
                                            ("L_mm", "S")),
        "genie_bound: L_mm for other data": (lambda: nl.genie_bound(d0(), L_mm=F()["L_mm"][:, :4]),
                                             ("L_mm", "data")),
        "ufm_reference: L_mm for other data": (lambda: nl.ufm_reference(d0(), L_mm=F()["L_mm"][:, :4]),
                                               ("L_mm", "data")),
        "nuclear_regularized_logits: L0 for other data": (
            lambda: nl.nuclear_regularized_logits(d0(), 0.5, L0=F()["L"][:, :4]), ("L0", "data")),
        "nuclear_regularization_path: L_mm for other data": (
            lambda: nl.nuclear_regularization_path(d0(), [0.5], L_mm=F()["L"][:, :4]), ("L_mm", "data")),
        "geometry_metrics: ref for other data": (lambda: nl.geometry_metrics(
            F()["W"][:, :4], F()["H"][:4, :4], d1(), F()["ref"]), ("ref", "data")),
        "geometry_metrics: W for other H": (lambda: nl.geometry_metrics(
            F()["W"][:, :3], F()["H"][:4], d0(), F()["ref"]), ("W", "H")),
        "ridge_solution: W0 for other H": (lambda: nl.ridge_solution(d0(), F()["H"], 1.0, W0=F()["W"][:, :3]),
                                           ("W0", "H")),
        "random_ntp_data: S for other V, m": (lambda: nl.random_ntp_data(6, 4, 2, _rng(), max_count=2,
                                                                         S=F()["S"]), ("S", "m")),
        "random_supports: sizes for other m": (lambda: nl.random_supports(6, 4, F()["sizes"], _rng()),
                                               ("sizes", "m")),
        "sim: X and Y of other sizes": (lambda: nl.sim(F()["X"], F()["Y"][:, :3]), ("X", "Y")),
        "sim_corr: X and Y of other sizes": (lambda: nl.sim_corr(F()["X"], F()["Y"][:, :3]), ("X", "Y")),
    }


# ------------------------------------------------------------------------------------------ one case
def _snapshot(obj: Any) -> Any:
    if sp.issparse(obj):
        return ("sparse", type(obj), obj.shape, *(np.array(getattr(obj, a), copy=True)
                                                 for a in ("data", "indices", "indptr", "row", "col")
                                                 if hasattr(obj, a)))
    if type(obj).__module__.startswith("torch"):
        return ("torch", obj.dtype, obj.detach().clone(), obj.requires_grad, obj.grad)
    if type(obj).__module__.startswith("pandas"):
        return ("pandas", obj.copy(deep=True))
    if isinstance(obj, np.ma.MaskedArray):
        return ("masked", np.array(obj.data, copy=True), np.array(np.ma.getmaskarray(obj), copy=True))
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype, obj.flags.writeable, np.array(obj, copy=True))
    import copy
    return ("python", copy.deepcopy(obj))


def _same_snapshot(a: Any, b: Any) -> bool:
    if a[0] != b[0] or len(a) != len(b):
        return False
    for x, y in zip(a[1:], b[1:]):
        if type(x).__module__.startswith("torch") and hasattr(x, "shape"):
            if not (x.shape == y.shape and bool((x == y).all()) if x.dtype != __import__("torch").bool
                    else bool((x == y).all())):
                return False
        elif type(x).__module__.startswith("pandas"):
            if not x.equals(y):
                return False
        elif isinstance(x, np.ndarray):
            if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
                return False
        elif x != y:
            return False
    return True


def _leaves(x: Any, out: list, raw: bool = False, depth: int = 0) -> list:
    """The numbers and strings of a result, in order (arrays as float64 unless ``raw``)."""
    if depth > 6:
        return out
    from ntpbook_lib import NTPData
    if x is None or isinstance(x, str):
        out.append(x)
    elif isinstance(x, (bool, int, float, np.generic)):
        out.append(np.float64(x) if not raw else x)
    elif isinstance(x, np.ndarray):
        out.append(x if raw else np.asarray(x, dtype=np.float64))
    elif sp.issparse(x):
        out.append(x if raw else x.toarray())
    elif type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        out.append(x if raw else x.detach().double().cpu().numpy())
    elif isinstance(x, NTPData):
        _leaves((x.P_sparse, x.pi, x.n), out, raw, depth + 1)
    elif isinstance(x, dict):
        for k in sorted(x):
            _leaves(x[k], out, raw, depth + 1)
    elif isinstance(x, (tuple, list)):
        for v in x:
            _leaves(v, out, raw, depth + 1)
    elif dataclasses.is_dataclass(x):
        for f in dataclasses.fields(x):
            _leaves(getattr(x, f.name), out, raw, depth + 1)
    elif hasattr(x, "__dict__"):
        for k in sorted(vars(x)):
            if not k.startswith("__") and not callable(getattr(x, k)):
                _leaves(getattr(x, k), out, raw, depth + 1)
    else:
        out.append(repr(x))
    return out


def same_answer(a: Any, b: Any, rtol: float = 1e-6) -> bool:
    la, lb = _leaves(a, []), _leaves(b, [])
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if isinstance(x, str) or x is None or isinstance(y, str) or y is None:
            if x != y:
                return False
            continue
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            return False
        scale = max(1.0, float(np.nanmax(np.abs(y), initial=0.0))) if y.size and np.isfinite(y).any() else 1.0
        if not np.allclose(x, y, rtol=rtol, atol=1e-9 * scale, equal_nan=True):
            return False
    return True


def _outcome(f: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", f()
    except MemoryError as err:
        return "memory", err
    except Exception as err:  # noqa: BLE001 - classified by the caller
        return "err", err


def _classify_error(err: BaseException, names: tuple[str, ...]) -> str:
    if isinstance(err, MemoryError):
        return "memory blow-up"
    if not isinstance(err, (ValueError, TypeError)):
        return "wrong exception type"
    msg = str(err)
    if all(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", msg) for n in names):
        return "clean error"
    return "error naming the wrong thing or nothing"


def _shares_memory(result: Any, obj: Any) -> bool:
    base = [obj] if isinstance(obj, np.ndarray) else [getattr(obj, a) for a in ("data", "indices", "indptr")
                                                      if sp.issparse(obj) and hasattr(obj, a)]
    if not base:
        return False
    for leaf in _leaves(result, [], raw=True):
        arrs = [leaf] if isinstance(leaf, np.ndarray) else [getattr(leaf, a) for a in ("data", "indices", "indptr")
                                                             if sp.issparse(leaf) and hasattr(leaf, a)]
        for a in arrs:
            if a.flags.writeable and any(np.shares_memory(a, b) for b in base):
                return True
    return False


def run_case(case: tuple[str, ...]) -> tuple[str, str]:
    """``(class, detail)`` of one case: ``("container", entry, argument, container)``, ``("scalar", probe)``,
    ``("size", probe)``, ``("extreme", probe)`` or ``("mismatch", probe)``."""
    kind = case[0]
    if kind == "container":
        return _run_container(*case[1:])
    if kind == "scalar":
        param, call = _scalar_probes()[case[1]]
        status, res = _outcome(lambda: call(HUGE_INT))
        if status == "ok":
            return "bad input accepted", "10**400 accepted"
        return _classify_error(res, (param,)), f"{type(res).__name__}: {res}"[:200]
    if kind == "size":
        status, res = _outcome(_size_probes()[case[1]])
        if status == "ok":
            return "right answer", "answered"
        cls = _classify_error(res, ())
        return cls, f"{type(res).__name__}: {res}"[:200]
    if kind == "extreme":
        call, ref = _extreme_probes()[case[1]]
        want = ref()
        status, res = _outcome(call)
        if status == "ok":
            return ("right answer", "") if same_answer(res, want, rtol=1e-9) else ("wrong answer", repr(res)[:200])
        cls = _classify_error(res, ())
        return ("valid input refused" if cls == "clean error" else cls), f"{type(res).__name__}: {res}"[:200]
    if kind == "mismatch":
        call, names = _mismatch_probes()[case[1]]
        status, res = _outcome(call)
        if status == "ok":
            return "bad input accepted", repr(res)[:100]
        cls = _classify_error(res, names)
        if isinstance(res, TypeError) and cls == "clean error":
            cls = "wrong exception type"  # the values are of the right types; they do not fit each other
        return cls, f"{type(res).__name__}: {res}"[:200]
    raise ValueError(f"unknown case kind {kind!r}")


_EXPECTED: dict = {}


def _run_container(entry_name: str, arg: str, container: str) -> tuple[str, str]:
    entry = _entries()[entry_name]
    fix = fixtures()
    base = {a: np.array(fix[a], copy=True) for a in entry.args}
    if container in entry.skip:
        return "not applicable", entry.skip[container]
    try:
        obj = CONTAINERS[container](base[arg])
    except NotApplicable as why:
        return "not applicable", str(why)
    param = entry.param(arg)
    if container in REFUSED:
        expected = ("err", None)
    else:
        v = value64(obj)
        key = (entry_name, entry.call.__code__, arg, v.shape, v.tobytes())
        if key not in _EXPECTED:  # the float64 answer, computed once per distinct value
            _EXPECTED[key] = _outcome(lambda: entry.call(**{**base, arg: v}))
        expected = _EXPECTED[key]
    before = _snapshot(obj)
    actual = _outcome(lambda: entry.call(**{**base, arg: obj}))
    if not _same_snapshot(before, _snapshot(obj)):
        return "input changed in place", ""
    (es, ev), (st, av) = expected, actual
    detail = f"{type(av).__name__}: {av}"[:200] if st != "ok" else ""
    if st == "ok" and _shares_memory(av, obj):
        return "result shares the caller's memory", ""
    if container in REFUSED:
        return ("bad input accepted", "") if st == "ok" else (_classify_error(av, (param,)), detail)
    if es == "ok" and st == "ok":
        return ("right answer", "") if same_answer(av, ev) else ("wrong answer", repr(av)[:200])
    if es == "ok":
        cls = _classify_error(av, (param,))
        return ("valid input refused" if cls == "clean error" else cls), detail
    if st == "ok":
        return "bad input accepted", f"float64 gives {type(ev).__name__}: {ev}"[:200]
    return _classify_error(av, (param,)), detail


def all_cases(ci: bool = False) -> list[tuple[str, ...]]:
    cases: list[tuple[str, ...]] = []
    for name, entry in _entries().items():
        if ci and not entry.ci:
            continue
        for arg in entry.args:
            for container in CONTAINERS:
                cases.append(("container", name, arg, container))
    cases += [("scalar", k) for k in _scalar_probes()]
    cases += [("size", k) for k in _size_probes()]
    cases += [("extreme", k) for k in _extreme_probes()]
    cases += [("mismatch", k) for k in _mismatch_probes()]
    return cases


# ------------------------------------------------------------------------------------------ workers
def _worker(conn, cap_bytes: int) -> None:  # pragma: no cover - runs in a spawned process
    import resource
    import torch
    torch.set_num_threads(1)
    import ntpbook_lib  # noqa: F401  (imported before the cap: the cap is for the case's allocations)
    fixtures()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, hard))
    while True:
        case = conn.recv()
        if case is None:
            return
        try:
            conn.send(run_case(case))
        except BaseException as err:  # noqa: BLE001
            conn.send(("wrong exception type", f"sweep: {type(err).__name__}: {err}"[:200]))


class Pool:
    """One spawned worker at a time, restarted after a hang or a crash."""

    def __init__(self, timeout: float, cap_bytes: int) -> None:
        import multiprocessing as mp
        self.ctx, self.timeout, self.cap = mp.get_context("spawn"), timeout, cap_bytes
        self.proc = None

    def _start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.cap), daemon=True)
        self.proc.start()
        self.conn = parent

    def run(self, case: tuple[str, ...]) -> tuple[str, str]:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        self.conn.send(case)
        start = time.monotonic()
        budget = self.timeout + 60.0  # the first case waits for the worker's imports too
        while time.monotonic() - start < budget:
            if self.conn.poll(0.05):
                try:
                    return self.conn.recv()
                except EOFError:
                    break
            if not self.proc.is_alive():
                break
            if time.monotonic() - start > self.timeout and getattr(self, "_warm", False):
                self.kill()
                return "hang", f"no answer within {self.timeout:.0f} s"
        else:
            self.kill()
            return "hang", f"no answer within {self.timeout:.0f} s"
        code = self.proc.exitcode
        self.kill()
        return "memory blow-up", f"worker died (exit code {code})"

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            self.proc = None

    def warm(self) -> None:
        self._warm = True


def report(timeout: float = 20.0, cap_gib: float = 4.0, only: str | None = None, verbose: bool = False,
           out=sys.stdout) -> collections.Counter:
    cases = [c for c in all_cases() if only is None or re.search(only, " ".join(c))]
    pool = Pool(timeout, int(cap_gib * 2**30))
    counts: collections.Counter = collections.Counter()
    problems = []
    t0 = time.monotonic()
    for i, case in enumerate(cases):
        cls, detail = pool.run(case)
        pool.warm()
        if cls == "not applicable":
            continue
        counts[cls] += 1
        if cls not in ("right answer", "clean error"):
            problems.append((cls, " | ".join(case[1:]), detail))
    pool.kill()
    n = sum(counts.values())
    print(f"{n} calls on the public entry points ({time.monotonic() - t0:.0f} s, each in a spawned worker, "
          f"{timeout:.0f} s limit, {cap_gib:g} GiB address-space cap):", file=out)
    for cls in CLASSES:
        print(f"  {counts[cls]:5d}  {cls}", file=out)
    print("problems:", file=out)
    for cls, where, detail in sorted(problems):
        print(f"  [{cls}] {where}: {detail}"[:300], file=out)
    return counts


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--report", action="store_true", help="run every case in spawned workers, print the counts")
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--cap-gib", type=float, default=4.0)
    p.add_argument("--only", help="a regular expression selecting cases")
    args = p.parse_args(argv)
    if not args.report:
        p.print_help()
        return
    report(args.timeout, args.cap_gib, args.only)


if __name__ == "__main__":
    main()
