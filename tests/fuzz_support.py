"""Shared helpers of the property and contract tests: extreme but valid data, corruptions, small models."""

import numpy as np
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import ntpbook_lib as nl
from ntpbook_lib import NTPData

torch.set_num_threads(1)

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BAD_SCALARS = [0, -1, -0.5, 1.5, float("nan"), float("inf"), -float("inf"), 1e300, "3", None, True, 2**70]
BAD_ARRAY_KINDS = ["nan", "inf", "complex", "shape", "strings", "ragged"]
CLEAN = (ValueError, TypeError)
COVERED: set[str] = set()


def covers(*names):
    """Record which public callables a test exercises (checked by the meta-test)."""
    def mark(f):
        COVERED.update(names)
        return f
    return mark


def outcome(f, *args, **kw):
    """The result of a call, or None if it raised ValueError/TypeError (any other exception propagates)."""
    try:
        return f(*args, **kw)
    except CLEAN:
        return None


def make_data(kind: int, seed: int) -> NTPData:
    """Valid but extreme data: V = 2 and m = 1, one-hot and full supports, tiny probabilities, huge counts."""
    rng = np.random.default_rng(seed)
    if kind == 0:
        return nl.random_ntp_data(6, 5, 2, rng, max_count=4)
    if kind == 1:
        return NTPData.from_counts(np.array([[1.0], [0.0]]))
    if kind == 2:
        return nl.random_ntp_data(5, 4, 1, rng, max_count=3)
    if kind == 3:
        S = nl.random_supports(5, 4, 2, rng)
        S[:, 0] = 1.0
        return nl.random_ntp_data(5, 4, 2, rng, max_count=5, S=S)
    if kind == 4:
        return NTPData.from_counts(np.array([[1e15, 1.0, 0.0], [1.0, 0.0, 3.0], [0.0, 1e12, 1.0], [0.0, 0.0, 0.0]]))
    if kind == 5:
        return NTPData.from_counts(rng.integers(0, 2, (4, 3)) * 1e200 + np.eye(4, 3))
    return nl.random_ntp_data(4, 6, 2, rng, max_count=3)


def make_H(data: NTPData, kind: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    m = data.m
    if kind == 0:
        return rng.standard_normal((m + 2, m))  # full column rank
    if kind == 1:
        return rng.standard_normal((max(1, m // 2), m))  # d < m
    return rng.standard_normal((3, 1)) @ rng.standard_normal((1, m))  # rank 1


def corrupt(A: np.ndarray, how: str):
    A = np.array(A, dtype=np.float64)
    if how in ("nan", "inf"):
        A.flat[A.size // 2] = np.nan if how == "nan" else -np.inf
        return A
    if how == "complex":
        return A + 1j
    if how == "shape":
        return np.zeros((A.shape[0] + 1, A.shape[-1] + 1))
    if how == "strings":
        return np.full(A.shape, "a")
    return [[1.0, 2.0], [3.0]]


datas = st.builds(make_data, st.integers(0, 6), st.integers(0, 10**6))
instances = st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 10**6)).map(
    lambda t: (make_data(t[0], t[2]), make_H(make_data(t[0], t[2]), t[1], t[2])))
exponents = st.integers(-250, 250)


def has_off_support(data: NTPData) -> bool:
    return bool(np.any(data.support_sizes < data.V))


_CACHE: dict = {}


def _lang():
    """Synthetic sentences (m = 16, V = 30, every S_j = 3: 8 pairs of contexts with equal supports)."""
    if "lang" not in _CACHE:
        _CACHE["lang"] = nl.synthetic_sentences(np.random.default_rng(0))
    return _CACHE["lang"]


def _ref(data: NTPData):
    """The NTP-UFM reference of data, computed once per data set."""
    key = ("ref", data.P.tobytes(), data.pi.tobytes())
    if key not in _CACHE:
        _CACHE[key] = nl.ufm_reference(data)
    return _CACHE[key]


def _tiny(kind: str = "transformer", V: int = 30, t: int = 5):
    """A network of tiny width, seeded."""
    g = torch.Generator().manual_seed(0)
    if kind == "transformer":
        return nl.TinyTransformer(V, d=4, n_layers=1, n_heads=2, generator=g)
    if kind == "mlp":
        return nl.ContextMLP(V, t, d=4, n_layers=2, generator=g)
    return nl.ContextLSTM(V, d=4, generator=g)


def _train(model=None, steps=1, **kw):
    lang = _lang()
    kw = {"ref": _ref(lang.data), "progress": False, "n_records": 2, **kw}
    return nl.train_model(_tiny() if model is None else model, lang.data, lang.contexts, steps=steps, **kw)


_WORDS = {"det": ["the", "a"], "adj": ["big", "small", "red"], "noun": ["cat", "dog", "boy", "girl"],
          "verb": ["sees", "likes", "eats"], "obj": ["ball", "fish", "cake", "tree"]}


def make_text(seed: int, n_lines: int = 40) -> str:
    """Short text of template sentences (one per line): repeated contexts, words of a few roles."""
    rng = np.random.default_rng(seed)
    pick = lambda role: _WORDS[role][rng.integers(len(_WORDS[role]))]  # noqa: E731
    return "\n".join(f"{pick('det')} {pick('adj')} {pick('noun')} {pick('verb')} the {pick('obj')} ."
                     for _ in range(n_lines))


def assert_margin_constraints(L: np.ndarray, S: np.ndarray, tol: float) -> None:
    """(6a)/(10): equal in-support logits; (6b): in-support at least 1 above out-of-support."""
    S = S > 0
    low = np.where(S, L, np.inf).min(axis=0)
    top = np.where(S, L, -np.inf).max(axis=0)
    out = np.where(S, -np.inf, L).max(axis=0)
    assert np.max(top - low) <= tol * max(1.0, np.abs(L).max())
    assert np.min(low - out) >= 1 - tol
