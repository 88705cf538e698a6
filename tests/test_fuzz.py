"""The whole public API under random, malformed and extreme input.

For any input each public callable either gives the right answer (checked against the defining constraints or an
invariance, such as rescaling H) or raises ``ValueError``/``TypeError``; any other exception fails the test.
"""

import inspect

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
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


# ------------------------------------------------------------------------------ meta-test: coverage
def test_every_public_callable_is_fuzzed():
    public = {n for n in nl.__all__ if callable(getattr(nl, n)) and not inspect.ismodule(getattr(nl, n))}
    public |= {f"NTPData.{c}" for c in ("from_counts", "from_pairs", "from_tokens", "from_sequences")}
    public |= {f"plotting.{n}" for n in nl.plotting.__all__}
    assert public <= COVERED, f"not fuzzed: {sorted(public - COVERED)}"


# ------------------------------------------------------------------------------ wrong Python types
DATA_FUNCS = {
    "ce_loss": lambda d: nl.ce_loss(np.zeros((2, 1)), d),
    "ce_decomposition": lambda d: nl.ce_decomposition(np.zeros((2, 1)), d),
    "data_subspace": lambda d: nl.data_subspace(d, np.eye(1)),
    "is_compatible": lambda d: nl.is_compatible(d, np.eye(1)),
    "is_separable": lambda d: nl.is_separable(d, np.eye(1)),
    "logodds_solution": lambda d: nl.logodds_solution(d, np.eye(1)),
    "ntp_margin": lambda d: nl.ntp_margin(np.zeros((2, 1)), d, np.eye(1)),
    "lemma1_witnesses": lambda d: nl.lemma1_witnesses(d, np.eye(1)),
    "lifted_points": lambda d: nl.lifted_points(d, np.eye(1)),
    "ntp_svm": lambda d: nl.ntp_svm(d, np.eye(1)),
    "implicit_bias_reference": lambda d: nl.implicit_bias_reference(d, np.eye(1)),
    "alignment": lambda d: nl.alignment(np.zeros((2, 1)), d, np.eye(1), None),
    "train_linear": lambda d: nl.train_linear(d, np.eye(1), steps=1),
    "train_logits": lambda d: nl.train_logits(d, 1),
    "logits_in": lambda d: nl.logits_in(d),
    "project_logits_F": lambda d: nl.project_logits_F(np.zeros((2, 1)), d),
    "project_logits_F_perp": lambda d: nl.project_logits_F_perp(np.zeros((2, 1)), d),
    "nuclear_regularized_logits": lambda d: nl.nuclear_regularized_logits(d, 0.1),
    "nuclear_regularization_path": lambda d: nl.nuclear_regularization_path(d, [0.1]),
    "ufm_reference": lambda d: nl.ufm_reference(d),
    "train_ufm": lambda d: nl.train_ufm(d, 2, steps=1, rng=np.random.default_rng(0)),
    "restricted_ce_loss": lambda d: nl.restricted_ce_loss(np.zeros((2, 1)), d),
    "collapse_cosines": lambda d: nl.collapse_cosines(np.eye(1), d),
    "genie_bound": lambda d: nl.genie_bound(d),
    "geometry_metrics": lambda d: nl.geometry_metrics(np.eye(2), np.eye(2), d, None),
    "LanguageData": lambda d: nl.LanguageData(d, np.zeros((1, 1), dtype=np.int64)),
    "train_model": lambda d: nl.train_model(_tiny(), d, np.zeros((1, 1), dtype=np.int64), steps=1,
                                            progress=False),
}


@covers(*DATA_FUNCS)
@pytest.mark.parametrize("name", sorted(DATA_FUNCS))
@pytest.mark.parametrize("not_data", [None, "data", 3, np.eye(2)], ids=["None", "str", "int", "array"])
def test_anything_but_NTPData_is_a_TypeError(name, not_data):
    with pytest.raises((TypeError, ValueError), match="data|S|V×m|shape"):
        DATA_FUNCS[name](not_data)


RNG_FUNCS = {
    "random_supports": lambda r: nl.random_supports(4, 3, 2, r),
    "random_ntp_data": lambda r: nl.random_ntp_data(4, 3, 2, r, max_count=2),
    "gaussian_embeddings": lambda r: nl.gaussian_embeddings(2, 3, r),
    "separability_phase_transition": lambda r: nl.separability_phase_transition(4, 3, 2, [1.0], 1, r),
    "train_ufm": lambda r: nl.train_ufm(make_data(0, 0), 2, steps=1, rng=r),
    "train_linear": lambda r: nl.train_linear(make_data(0, 0), np.eye(5), init="lecun", rng=r, steps=1),
    "resample_counts": lambda r: nl.resample_counts(_lang(), r),
    "synthetic_sentences": lambda r: nl.synthetic_sentences(r),
    "simplified_language": lambda r: nl.simplified_language(r, text=make_text(0)),
}


@covers(*RNG_FUNCS)
@pytest.mark.parametrize("name", sorted(RNG_FUNCS))
@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)], ids=["None", "int", "RandomState"])
def test_rng_must_be_a_generator(name, rng):
    with pytest.raises((TypeError, ValueError), match="rng"):
        RNG_FUNCS[name](rng)


# ------------------------------------------------------------------------------ settings
def _d0():
    return make_data(0, 0)


def _rng():
    return np.random.default_rng(0)


# name -> [(call taking the bad value, the values among BAD_SCALARS that are valid for it)]
BIG = (1e300, 2**70)
SETTINGS = {
    "NTPData": [(lambda b: NTPData(np.eye(2), np.full(2, 0.5), atol=b), (0, 1.5) + BIG),
                (lambda b: NTPData(np.eye(2), [0.5, 0.5], n=b), (None,) + BIG)],
    "is_compatible": [(lambda b: nl.is_compatible(_d0(), np.eye(5), tol=b), (1.5,) + BIG)],
    "is_separable": [(lambda b: nl.is_separable(_d0(), np.eye(5), explain=b if b is not True else "yes"), ())],
    "ntp_svm": [(lambda b: nl.ntp_svm(_d0(), np.eye(5), tol=b), (1.5,) + BIG),
                (lambda b: nl.ntp_svm(_d0(), np.eye(5), max_iter=b), BIG),
                (lambda b: nl.ntp_svm(_d0(), np.eye(5), method=b), ())],
    "ntp_svm_logits": [(lambda b: nl.ntp_svm_logits(_d0().S, tol=b), (1.5,) + BIG),
                       (lambda b: nl.ntp_svm_logits(_d0().S, max_iter=b), BIG),
                       (lambda b: nl.ntp_svm_logits(_d0().S, check_every=b), BIG)],
    "mm_embeddings": [(lambda b: nl.mm_embeddings(np.eye(3), rtol=b), (0,))],
    "train_linear": [(lambda b: nl.train_linear(_d0(), np.eye(5), lr=b, steps=2), (1.5,) + BIG),
                     (lambda b: nl.train_linear(_d0(), np.eye(5), steps=b), ()),
                     (lambda b: nl.train_linear(_d0(), np.eye(5), steps=2, n_records=b), ()),
                     (lambda b: nl.train_linear(_d0(), np.eye(5), "adam", steps=2, betas=(b, 0.9)), (0,))],
    "train_logits": [(lambda b: nl.train_logits(_d0(), b), ()),
                     (lambda b: nl.train_logits(_d0(), 2, lr=b), (1.5,) + BIG)],
    "log_schedule": [(lambda b: nl.log_schedule(b), ()), (lambda b: nl.log_schedule(10, b), ())],
    "train_ufm": [
        (lambda b: nl.train_ufm(_d0(), b, steps=2, rng=_rng()), ()),
        (lambda b: nl.train_ufm(_d0(), 2, weight_decay=b, steps=2, rng=_rng()), (0, 1.5) + BIG),
        (lambda b: nl.train_ufm(_d0(), 2, lr=b, steps=2, rng=_rng()), (1.5,) + BIG),
        (lambda b: nl.train_ufm(_d0(), 2, init_scale=b, steps=2, rng=_rng()), (1.5,) + BIG),
        (lambda b: nl.train_ufm(_d0(), 2, n_records=b, steps=2, rng=_rng()), ()),
        (lambda b: nl.train_ufm(_d0(), 2, "sgd", batch_size=b, steps=2, rng=_rng()), ()),
        (lambda b: nl.train_ufm(_d0(), 2, steps=b, rng=_rng()), ()),
        (lambda b: nl.train_ufm(_d0(), 2, steps=2, snapshots=[b], rng=_rng()), (0,)),
    ],
    "nuclear_regularized_logits": [(lambda b: nl.nuclear_regularized_logits(_d0(), b), (1.5,) + BIG),
                                   (lambda b: nl.nuclear_regularized_logits(_d0(), 0.1, tol=b), (1.5,) + BIG),
                                   (lambda b: nl.nuclear_regularized_logits(_d0(), 0.1, max_iter=b), BIG),
                                   (lambda b: nl.nuclear_regularized_logits(_d0(), 0.1, check_every=b), BIG)],
    "nuclear_regularization_path": [(lambda b: nl.nuclear_regularization_path(_d0(), [0.2, b]), (1.5, True) + BIG),
                                    (lambda b: nl.nuclear_regularization_path(_d0(), [0.2, 0.2]), ()),
                                    (lambda b: nl.nuclear_regularization_path(_d0(), [0.2], tol=b), (1.5,) + BIG),
                                    (lambda b: nl.nuclear_regularization_path(_d0(), [0.2], max_iter=b), BIG)],
    "separability_phase_transition": [
        (lambda b: nl.separability_phase_transition(4, 3, 2, [1.0], b, _rng()), BIG),
        (lambda b: nl.separability_phase_transition(4, 3, 2, [b], 1, _rng()), (1.5, True)),
        (lambda b: nl.separability_phase_transition(b, 3, 2, [1.0], 1, _rng()), ()),
        (lambda b: nl.separability_phase_transition(4, b, 2, [1.0], 1, _rng()), ()),
        (lambda b: nl.separability_phase_transition(4, 3, 2, [1.0], 1, _rng(), max_count=b), ())],
    "cover_probability": [(lambda b: nl.cover_probability(b, 2), BIG),
                          (lambda b: nl.cover_probability(5, b), (0,) + BIG)],
    "random_supports": [(lambda b: nl.random_supports(b, 3, 1, _rng()), ()),
                        (lambda b: nl.random_supports(4, b, 1, _rng()), ()),
                        (lambda b: nl.random_supports(4, 3, b, _rng()), (True,))],
    "random_ntp_data": [(lambda b: nl.random_ntp_data(4, 3, 2, _rng(), max_count=b), ()),
                        (lambda b: nl.random_ntp_data(4, 3, 2, _rng(), n=b), ()),
                        (lambda b: nl.random_ntp_data(4, 3, 2, _rng(), max_count=2, uniform_pi=b), (True,))],
    "symmetric_supports": [(lambda b: nl.symmetric_supports(b, 2), ()), (lambda b: nl.symmetric_supports(4, b), ())],
    "symmetric_geometry": [(lambda b: nl.symmetric_geometry(b, 1), BIG), (lambda b: nl.symmetric_geometry(4, b), ())],
    "measure_symmetric_geometry": [(lambda b: nl.measure_symmetric_geometry(b, 1), ()),
                                   (lambda b: nl.measure_symmetric_geometry(4, b), ())],
    "gaussian_embeddings": [(lambda b: nl.gaussian_embeddings(b, 2, _rng()), ()),
                            (lambda b: nl.gaussian_embeddings(2, b, _rng()), ())],
    "sim": [(lambda b: nl.sim(np.eye(2), np.eye(2), eps=b), (0, 1.5) + BIG)],
    "tokenize": [(lambda b: nl.tokenize("a b c", vocab_size=b), (None,) + BIG), (lambda b: nl.tokenize(b), ("3",))],
    "load_text": [(lambda b: nl.load_text("python-docs", n_stories=b), BIG), (lambda b: nl.load_text(b), ())],
    "context_length_statistics": [(lambda b: nl.context_length_statistics(np.arange(20) % 3, [b]), ())],
    "glue": [(lambda b: nl.glue(b, 1.0), ())],
    "table": [(lambda b: nl.table([{"a": 1.0}], digits=b), ())],
    "NTPData.from_tokens": [(lambda b: NTPData.from_tokens([0, 1, 2, 1, 0], b), ()),
                            (lambda b: NTPData.from_tokens([0, 1, 2, 1, 0], 1, V=b), (None,))],
    "NTPData.from_sequences": [(lambda b: NTPData.from_sequences([[0, 1, 2]], min_length=b), ()),
                               (lambda b: NTPData.from_sequences([[0, 1, 2]], V=b), (None,))],
    "NTPData.from_pairs": [(lambda b: NTPData.from_pairs(["a", "b"], [0, b]), (0, True))],
    "plotting.subplots": [(lambda b: nl.plotting.subplots(b), ()),
                          (lambda b: nl.plotting.subplots(1, 1, width=b), (1.5,))],
    "count_entropy_range": [(lambda b: nl.count_entropy_range(b, 2), ()), (lambda b: nl.count_entropy_range(2, b), ())],
    "dirichlet_expected_entropy": [(lambda b: nl.dirichlet_expected_entropy(b), BIG),
                                   (lambda b: nl.dirichlet_expected_entropy(3, b), (1.5,) + BIG)],
    "encode": [(lambda b: nl.encode(b, ["a", "<unk>"]), ("3",)), (lambda b: nl.encode("a b", b), ())],
    "cpu_threads": [(lambda b: nl.cpu_threads(b), (None,))],
    "small_problem_threads": [(lambda b: nl.small_problem_threads("cpu", b), (0, 1.5) + BIG),
                              (lambda b: nl.small_problem_threads(b, 10), ())],
    "sim_corr": [(lambda b: nl.sim_corr(np.eye(3), np.eye(3), eps=b), (0, 1.5) + BIG)],
    "genie_bound": [(lambda b: nl.genie_bound(_d0(), tol=b), (0, 1.5) + BIG)],
    "proxy_quality": [(lambda b: nl.proxy_quality(_d0().S, nl.ntp_svm_logits(_d0().S), rank_rtol=b), ())],
    "collapse_cosines": [(lambda b: nl.collapse_cosines(b, _lang().data), ())],
    "restricted_ce_loss": [(lambda b: nl.restricted_ce_loss(b, _d0()), ())],
    "geometry_metrics": [(lambda b: nl.geometry_metrics(np.ones((30, 2)), np.ones((2, 16)), _lang().data, b), ())],
    "pairs_data": [(lambda b: nl.pairs_data([[0, 1], [1, 0]], [1, 2], V=b), (None,))],
    "stream_contexts": [(lambda b: nl.stream_contexts([0, 1, 2, 1, 0], b), ()),
                        (lambda b: nl.stream_contexts([0, 1, 2, 1, 0], 1, V=b), (None,)),
                        (lambda b: nl.stream_contexts([0, 1, 2, 1, 0], 1, vocab=b), (None,))],
    "line_contexts": [(lambda b: nl.line_contexts([[0, 1, 2], [1, 0, 2]], b), ()),
                      (lambda b: nl.line_contexts([[0, 1, 2], [1, 0, 2]], 1, V=b), (None,)),
                      (lambda b: nl.line_contexts(b, 1), ())],
    "text_contexts": [(lambda b: nl.text_contexts("a b a c a b", b, 1), BIG),
                      (lambda b: nl.text_contexts("a b a c a b", 3, b), ()),
                      (lambda b: nl.text_contexts("a b a c a b", 3, 1, per_line=b), (True,)),
                      (lambda b: nl.text_contexts(b, 3, 1), ())],
    "resample_counts": [(lambda b: nl.resample_counts(_lang(), _rng(), max_count=b), ()),
                        (lambda b: nl.resample_counts(b, _rng()), ())],
    "synthetic_sentences": [(lambda b: nl.synthetic_sentences(_rng(), max_count=b), ())],
    "simplified_language": [
        (lambda b, k=k: nl.simplified_language(_rng(), text="a b a b", **{k: b}), valid)
        for k, valid in [("V", BIG), ("t", ()), ("n_frequent", BIG), ("variants", (0,) + BIG),
                         ("max_support", BIG), ("min_words", (0,) + BIG), ("max_count", ()),
                         ("role_threshold", (0, -1, -0.5, 1.5) + BIG), ("text", ())]],
    "LanguageData": [(lambda b: nl.LanguageData(_lang().data, _lang().contexts, vocab=b), (None,)),
                     (lambda b: nl.LanguageData(_lang().data, _lang().contexts, groups=b), (None,))],
    "TinyTransformer": [
        (lambda b, k=k: nl.TinyTransformer(**{"V": 5, "d": 4, "n_layers": 1, "n_heads": 1, k: b}), valid)
        for k, valid in [("V", ()), ("d", ()), ("n_layers", ()), ("n_heads", ()), ("head_dim", (None,)),
                         ("mlp_hidden", (None,)), ("positional", (True,)), ("generator", (None,))]] + [
        (lambda b: nl.TinyTransformer(5, d=4, n_layers=1, positional=True, max_len=b), ())],
    "ContextMLP": [
        (lambda b, k=k: nl.ContextMLP(**{"V": 5, "t": 2, "d": 4, "n_layers": 1, k: b}), valid)
        for k, valid in [("V", ()), ("t", ()), ("d", ()), ("n_layers", ()), ("embed_dim", (None,)),
                         ("hidden", (None,)), ("generator", (None,))]],
    "ContextLSTM": [
        (lambda b, k=k: nl.ContextLSTM(**{"V": 5, "d": 4, k: b}), valid)
        for k, valid in [("V", ()), ("d", ()), ("n_layers", ()), ("generator", (None,))]],
    "train_model": [
        (lambda b, k=k: _train(**{k: b}), valid)
        for k, valid in [("steps", ()), ("lr", (1.5,) + BIG), ("weight_decay", (0, 1.5) + BIG),
                         ("batch_size", (None,)), ("n_records", ()), ("num_threads", (None,)),
                         ("optimizer", ()), ("betas", ()), ("snapshots", ()), ("generator", (None,)),
                         ("progress", (True,)), ("device", ()), ("dtype", ()), ("ref", (None,))]] + [
        (lambda b: _train(betas=(0.9, b)), (0,)), (lambda b: _train(snapshots=[b]), (0,))],
}
SETTING_CALLS = [(name, i) for name in sorted(SETTINGS) for i in range(len(SETTINGS[name]))]


@covers(*SETTINGS)
@pytest.mark.parametrize("bad", BAD_SCALARS, ids=repr)
@pytest.mark.parametrize("call", SETTING_CALLS, ids=lambda c: f"{c[0]}-{c[1]}")
def test_bad_settings_are_refused(call, bad):
    name, i = call
    f, valid = SETTINGS[name][i]
    if repr(bad) in {repr(v) for v in valid}:
        return  # a valid (if extreme) value for this setting; the other tests check answers
    with pytest.raises(CLEAN):
        f(bad)


# ------------------------------------------------------------------------------ malformed arrays
ARRAY_FUNCS = {
    "NTPData": lambda A: NTPData(A, np.full(5, 0.2)),
    "NTPData.from_counts": lambda A: NTPData.from_counts(A),
    "ce_loss": lambda A: nl.ce_loss(A, _d0()),
    "ce_decomposition": lambda A: nl.ce_decomposition(A, _d0()),
    "log_softmax": lambda A: nl.log_softmax(A),
    "data_subspace": lambda A: nl.data_subspace(_d0(), A),
    "is_compatible": lambda A: nl.is_compatible(_d0(), A),
    "is_separable": lambda A: nl.is_separable(_d0(), A),
    "logodds_solution": lambda A: nl.logodds_solution(_d0(), A),
    "ntp_margin": lambda A: nl.ntp_margin(A, _d0(), np.eye(5)),
    "lemma1_witnesses": lambda A: nl.lemma1_witnesses(_d0(), A),
    "lifted_points": lambda A: nl.lifted_points(_d0(), A),
    "ntp_svm": lambda A: nl.ntp_svm(_d0(), A),
    "implicit_bias_reference": lambda A: nl.implicit_bias_reference(_d0(), A),
    "alignment": lambda A: nl.alignment(A, _d0(), np.eye(5), nl.implicit_bias_reference(_d0(), np.eye(5))),
    "train_linear": lambda A: nl.train_linear(_d0(), np.eye(5), init=A, steps=2),
    "centered_support": lambda A: nl.centered_support(A),
    "certificate": lambda A: nl.certificate(A),
    "ntp_svm_logits": lambda A: nl.ntp_svm_logits(A),
    "project_logits_F": lambda A: nl.project_logits_F(A, _d0()),
    "project_logits_F_perp": lambda A: nl.project_logits_F_perp(A, _d0()),
    "mm_embeddings": lambda A: nl.mm_embeddings(A),
    "corr": lambda A: nl.corr(A),
    "sim": lambda A: nl.sim(A, np.ones((6, 5))),
    "nuclear_regularized_logits": lambda A: nl.nuclear_regularized_logits(_d0(), 0.1, L0=A, max_iter=5),
    "nuclear_regularization_path": lambda A: nl.nuclear_regularization_path(_d0(), [0.1], L_mm=A, max_iter=5),
    "random_ntp_data": lambda A: nl.random_ntp_data(6, 5, 2, np.random.default_rng(0), max_count=2, S=A),
    "random_supports": lambda A: nl.random_supports(6, 5, A, np.random.default_rng(0)),
    "context_length_statistics": lambda A: nl.context_length_statistics(A, [1]),
    "separability_phase_transition": lambda A: nl.separability_phase_transition(4, 3, 2, A, 1,
                                                                                np.random.default_rng(0)),
    "plotting.heatmap": lambda A: nl.plotting.heatmap(None, A),
    "restricted_ce_loss": lambda A: nl.restricted_ce_loss(A, _d0()),
    "collapse_cosines": lambda A: nl.collapse_cosines(A, _d0()),
    "sim_corr": lambda A: nl.sim_corr(A, np.ones((6, 5))),
    "genie_bound": lambda A: nl.genie_bound(_d0(), L_mm=A),
    "proxy_quality": lambda A: nl.proxy_quality(_d0().S, A),
    "geometry_metrics": lambda A: nl.geometry_metrics(A, np.ones((5, 5)), _d0(), _ref(_d0())),
    "pairs_data": lambda A: nl.pairs_data(A, np.zeros(5, dtype=np.int64)),
    "LanguageData": lambda A: nl.LanguageData(_d0(), A),
    "stream_contexts": lambda A: nl.stream_contexts(A, 1),
    "line_contexts": lambda A: nl.line_contexts(A, 1),
    "train_model": lambda A: nl.train_model(_tiny(V=6), _d0(), A, steps=1, ref=_ref(_d0()), progress=False),
    "count_entropy_range": lambda A: nl.count_entropy_range(A, 2),
    "dirichlet_expected_entropy": lambda A: nl.dirichlet_expected_entropy(3, A),
    "encode": lambda A: nl.encode("a b", A),
    "TinyTransformer": lambda A: nl.TinyTransformer(A),
    "ContextMLP": lambda A: nl.ContextMLP(5, A),
    "ContextLSTM": lambda A: nl.ContextLSTM(5, A),
}


@covers(*ARRAY_FUNCS)
@pytest.mark.parametrize("how", BAD_ARRAY_KINDS)
@pytest.mark.parametrize("name", sorted(ARRAY_FUNCS))
def test_malformed_arrays_are_refused(name, how):
    base = np.where(_d0().S > 0, 1.0, 0.0) if name in ("certificate", "centered_support", "ntp_svm_logits",
                                                         "random_ntp_data") else np.ones((6, 5))
    if name == "NTPData":
        base = np.full((6, 5), 1 / 6)
    A = corrupt(base, how)
    if name in ("pairs_data", "LanguageData", "train_model", "line_contexts") and how != "strings":
        A = corrupt(np.zeros((5, 2)), how)  # token ids: m = 5 contexts of t = 2 tokens
        if how == "shape":  # integer ids, but 4 contexts for 5 (a 2×2×2 array for lines of tokens)
            A = np.ones((2, 2, 2), dtype=np.int64) if name == "line_contexts" else np.zeros((4, 2), dtype=np.int64)
    if how == "shape" and name in ("log_softmax", "corr", "mm_embeddings", "plotting.heatmap", "random_supports",
                                   "context_length_statistics", "separability_phase_transition",
                                   "stream_contexts"):
        A = np.ones((2, 2, 2))  # these take any matrix (or vector): a 3-D array is the malformed shape
    if name == "plotting.heatmap" and how in ("nan", "inf"):
        A = np.ones(3)  # nan cells are allowed in a heatmap
    with pytest.raises(CLEAN):
        ARRAY_FUNCS[name](A)


# ------------------------------------------------------------------------------ scale invariance in H
@covers("data_subspace", "is_compatible", "logodds_solution")
@FAST
@given(instances, exponents)
def test_data_subspace_and_compatibility_do_not_depend_on_the_scale_of_H(inst, k):
    data, H = inst
    c = 10.0**k
    F1, comp1, W1 = nl.data_subspace(data, H), nl.is_compatible(data, H), nl.logodds_solution(data, H)
    F = outcome(nl.data_subspace, data, H * c)
    assert F is not None and F.dim == F1.dim  # a subspace: no answer to refuse
    comp = outcome(nl.is_compatible, data, H * c)
    W = outcome(nl.logodds_solution, data, H * c)
    if comp is None or W is None:  # W* = W*(H)/c would leave float64
        assert abs(k) > 250 or not np.all(np.isfinite(W1 / c)) or np.any(np.abs(W1[W1 != 0] / c) < 1e-300)
        return
    assert bool(comp) == bool(comp1)
    np.testing.assert_allclose(W * c, W1, rtol=1e-7, atol=1e-9 * max(1.0, np.abs(W1).max()))
    np.testing.assert_allclose(F.project(W1), W1, rtol=1e-7, atol=1e-9 * max(1.0, np.abs(W1).max()))


@covers("is_separable", "ntp_svm", "ntp_margin")
@FAST
@given(instances, exponents)
def test_separability_and_the_svm_do_not_depend_on_the_scale_of_H(inst, k):
    data, H = inst
    if not has_off_support(data):
        with pytest.raises(ValueError, match="whole vocabulary"):
            nl.is_separable(data, H)
        return
    c = 10.0**k
    sep1 = nl.is_separable(data, H, explain=False)
    sep = outcome(nl.is_separable, data, H * c, explain=False)
    if sep is None:
        return  # W^d = W^d(H)/c not representable: refused with a message
    assert bool(sep) == bool(sep1)
    if not sep:
        with pytest.raises(ValueError, match="not NTP-separable"):
            nl.ntp_svm(data, H * c)
        return
    assert_margin_constraints(sep.W @ (H * c), data.S, 1e-7)
    W1 = nl.ntp_svm(data, H)
    W = outcome(nl.ntp_svm, data, H * c)
    if W is None:
        return
    np.testing.assert_allclose(W * c, W1, rtol=1e-5, atol=1e-7 * np.abs(W1).max())
    assert_margin_constraints(W @ (H * c), data.S, 1e-6)
    assert nl.ntp_margin(W1, data, H) == pytest.approx(1.0, abs=1e-6)
    m = outcome(nl.ntp_margin, W1, data, H * c)
    assert m is None or m == pytest.approx(c, rel=1e-6)


@covers("lemma1_witnesses", "implicit_bias_reference", "lifted_points", "alignment")
@FAST
@given(datas, st.integers(0, 10**6), st.integers(-100, 100))
def test_lemma1_and_the_reference_scale_like_one_over_H(data, seed, k):
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((data.m + 1, data.m))
    c = 10.0**k
    Wp, Wd = nl.lemma1_witnesses(data, H * c)
    S = data.S > 0
    np.testing.assert_allclose(np.where(S, Wp @ (H * c), 0), np.where(S, np.log(np.where(S, data.P, 1)), 0),
                               atol=1e-8)
    np.testing.assert_allclose(Wd @ (H * c), data.S, atol=1e-8)
    ref1, ref = nl.implicit_bias_reference(data, H), nl.implicit_bias_reference(data, H * c)
    np.testing.assert_allclose(ref.W_star * c, ref1.W_star, rtol=1e-6, atol=1e-9 * max(1, np.abs(ref1.W_star).max()))
    assert (ref.W_mm is None) == (ref1.W_mm is None)
    points, spans = nl.lifted_points(data, H)
    assert points.shape[1:] == spans.shape[1:] == (data.V, H.shape[0])
    a = nl.alignment(rng.standard_normal((data.V, H.shape[0])) * 10.0 ** rng.integers(-3, 4), data, H, ref1)
    assert a.excess >= 0 and np.isfinite(a.excess) and a.norm > 0


# ------------------------------------------------------------------------------ the loss
@covers("ce_loss", "ce_decomposition", "log_softmax")
@FAST
@given(datas, st.integers(0, 10**6), st.integers(-300, 300))
def test_cross_entropy_never_falls_below_the_entropy(data, seed, k):
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((data.V, data.m)) * 10.0**k
    dec = nl.ce_decomposition(L, data)
    assert np.all(dec.kl >= 0) and dec.excess >= 0 and nl.ce_loss(L, data) >= data.entropy
    logq = nl.log_softmax(L)
    assert np.all(logq <= 0) and np.all(np.isfinite(logq))
    Lt = torch.tensor(np.clip(np.rint(L), -30, 30).astype(np.int64))  # integer logits are computed in float64
    assert float(nl.ce_loss(Lt, data)) >= data.entropy - 1e-12 * (1 + data.entropy)
    assert float(nl.ce_loss(Lt, data)) == pytest.approx(nl.ce_loss(Lt.numpy(), data), rel=1e-12, abs=1e-14)


# ------------------------------------------------------------------------------ support geometry
@covers("centered_support", "certificate", "ntp_svm_logits", "logits_in", "project_logits_F",
        "project_logits_F_perp", "mm_embeddings", "ufm_reference")
@settings(max_examples=12, deadline=None)
@given(datas, st.integers(-300, 300))
def test_support_geometry(data, k):
    L = np.random.default_rng(0).standard_normal((data.V, data.m))
    if not has_off_support(data):
        for f in (nl.centered_support, nl.certificate, nl.ntp_svm_logits):
            with pytest.raises(ValueError, match="whole vocabulary"):
                f(data.S)
        return
    St = nl.centered_support(data.S)
    np.testing.assert_allclose(St.sum(axis=0), 0, atol=1e-12)
    assert isinstance(bool(nl.certificate(data.S)), bool)
    Lmm = nl.ntp_svm_logits(data.S, tol=1e-6)
    assert_margin_constraints(Lmm, data.S, 1e-5)
    Lin = nl.logits_in(data)
    np.testing.assert_allclose(nl.project_logits_F(Lin, data), Lin, atol=1e-12)
    PF, Pp = nl.project_logits_F(L, data), nl.project_logits_F_perp(L, data)
    np.testing.assert_allclose(PF + Pp, L, atol=1e-12)
    np.testing.assert_allclose(nl.project_logits_F(PF, data), PF, atol=1e-12)
    M = L * 10.0**k
    W, H = nl.mm_embeddings(M)
    np.testing.assert_allclose(W @ H, M, rtol=1e-9, atol=1e-9 * np.abs(M).max())
    ref = nl.ufm_reference(data, tol=1e-5)
    np.testing.assert_allclose(ref.W_mm @ ref.H_mm, ref.L_mm, atol=1e-8 * np.abs(ref.L_mm).max())


@covers("corr", "sim")
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.integers(-300, 300), st.floats(1e-3, 1e3))
def test_corr_and_sim_are_scale_free(seed, k, c):
    X = np.random.default_rng(seed).standard_normal((4, 3)) * 10.0**k
    C = nl.corr(X)
    np.testing.assert_allclose(np.diag(C), 1, atol=1e-12)
    assert np.all(np.abs(C) <= 1 + 1e-12)
    np.testing.assert_allclose(C, nl.corr(X * c), atol=1e-12)
    np.testing.assert_allclose(C, nl.corr(X / np.abs(X).max()), atol=1e-12)
    assert nl.sim(X, X * c) == pytest.approx(1.0, abs=1e-12)
    assert nl.sim(C, C) == pytest.approx(1.0, abs=1e-12)
    assert -1 - 1e-12 <= nl.sim(X, -X, eps=0.0) <= -1 + 1e-12


# ------------------------------------------------------------------------------ solvers and trainers
@covers("nuclear_regularized_logits", "nuclear_regularization_path")
@settings(max_examples=6, deadline=None)
@given(datas)
def test_problem_8_stays_finite_and_above_the_entropy(data):
    if not has_off_support(data):
        return
    r = nl.nuclear_regularized_logits(data, 0.05, max_iter=300)
    assert np.all(np.isfinite(r.L)) and r.excess >= 0 and r.gap >= -1e-12 and r.iterations <= 300
    path = nl.nuclear_regularization_path(data, [0.3, 0.1], max_iter=300)
    assert np.all(path.excess >= 0) and np.all(np.isfinite(path.nuclear_norm))


@covers("ridge_solution", "regularization_path", "genie_excess")
@settings(max_examples=4, deadline=None)
@given(st.integers(0, 100))
def test_the_ball_path_meets_its_radii_and_the_genie_bound_holds(seed):
    data = nl.random_ntp_data(4, 5, 2, rng=np.random.default_rng(seed), max_count=4)
    H = nl.gaussian_embeddings(6, data.m, rng=np.random.default_rng(seed + 1))  # d ≥ m: separable, compatible
    W = nl.ridge_solution(data, H, 0.1)
    assert np.all(np.isfinite(W)) and W.shape == (data.V, 6)
    path = nl.regularization_path(data, H, np.array([0.5, 2.0]))
    np.testing.assert_allclose(np.linalg.norm(path.W, axis=(1, 2)), [0.5, 2.0], rtol=1e-8)
    excess, bound, C = nl.genie_excess(data, H, np.array([1.0, 5.0]))
    assert np.all(excess >= 0) and np.all(excess <= bound * (1 + 1e-9)) and C > 0


@covers("train_linear", "train_logits", "train_ufm", "log_schedule")
@settings(max_examples=6, deadline=None)
@given(datas, st.sampled_from(["gd", "ngd", "adam"]), st.integers(0, 100))
def test_trainers_keep_the_excess_non_negative(data, method, seed):
    H = make_H(data, 0, seed)
    h = nl.train_linear(data, H, method, 0.5, 20, n_records=5)
    assert np.all(h.excess >= 0) and np.all(np.isfinite(h.norm))
    h = nl.train_logits(data, 20, n_records=5)
    assert np.all(h.excess >= 0)
    if has_off_support(data):
        u = nl.train_ufm(data, 2, 1e-3, "gd", 0.5, 20, rng=np.random.default_rng(seed), n_records=5)
        assert np.all(u.excess >= 0) and np.all(np.isfinite(u.norm_W))
    s = nl.log_schedule(10**6, 30)
    assert s[0] == 0 and s[-1] == 10**6 and np.all(np.diff(s) > 0)


# ------------------------------------------------------------------------------ generators and data
@covers("random_supports", "random_ntp_data", "gaussian_embeddings", "symmetric_supports", "symmetric_geometry",
        "measure_symmetric_geometry", "separability_phase_transition", "cover_probability", "NTPData",
        "NTPData.from_counts", "NTPData.from_tokens", "NTPData.from_pairs", "NTPData.from_sequences")
@settings(max_examples=15, deadline=None)
@given(st.integers(2, 6), st.integers(1, 5), st.integers(0, 10**6), st.integers(-300, 300))
def test_generators_and_constructors(V, m, seed, k):
    s = min(V - 1, 2)
    S = nl.random_supports(V, m, s, np.random.default_rng(seed))
    assert np.all(S.sum(axis=0) == s)
    data = nl.random_ntp_data(V, m, s, np.random.default_rng(seed), max_count=3)
    assert np.all(data.support_sizes == s)
    assert nl.gaussian_embeddings(2, m, np.random.default_rng(seed)).shape == (2, m)
    kk = 1 + seed % (V - 1)
    assert nl.symmetric_supports(V, kk).shape[0] == V
    g, L = nl.measure_symmetric_geometry(V, kk)
    cf = nl.symmetric_geometry(V, kk)
    assert g.cos_in == pytest.approx(cf.cos_in, abs=1e-3) and g.cos_words == pytest.approx(cf.cos_words, abs=1e-3)
    p = nl.cover_probability(m, seed % 8)
    assert 0 <= p <= 1
    counts = np.random.default_rng(seed).integers(0, 3, (V, m)).astype(np.float64)
    counts[np.arange(m) % V, np.arange(m)] += 1.0  # no empty column
    d1, d2 = NTPData.from_counts(counts), NTPData.from_counts(counts * 10.0**k)
    np.testing.assert_allclose(d2.P, d1.P, rtol=1e-12)
    np.testing.assert_allclose(d2.pi, d1.pi, rtol=1e-12)
    assert np.isfinite(d2.entropy)
    NTPData(d1.P, d1.pi)
    tok = np.random.default_rng(seed).integers(0, V, 30)
    assert NTPData.from_tokens(tok, 2, V=V)[0].V == V
    assert NTPData.from_pairs(["a", "b", "a"], [0, 1, V - 1])[0].m == 2
    assert NTPData.from_sequences([tok.tolist()], V=V)[0].V == V


def test_huge_designs_are_refused_with_their_size():
    """symmetric_supports(24, 8) is a 24×735471 matrix (141 MiB), but measuring it forms m×m objects (TiBs)."""
    with pytest.raises(ValueError, match=r"m = C\(V,k\) = 735471 contexts.*\d+\.\d TiB"):
        nl.measure_symmetric_geometry(24, 8)
    with pytest.raises(ValueError, match=r"memory"):
        nl.measure_symmetric_geometry(10**7, 2)
    with pytest.raises(ValueError, match=r"(memory|too many)"):
        nl.symmetric_supports(10**7, 2)
    with pytest.raises(ValueError, match=r"\d+\.\d [KMGTPE]iB"):
        nl.measure_symmetric_geometry(10**6, 1)
    with pytest.raises(ValueError, match="memory"):
        nl.gaussian_embeddings(10**7, 10**7, np.random.default_rng(0))


def test_phase_transition_and_corpus_on_valid_input():
    pt = nl.separability_phase_transition(5, 4, 2, [0.5, 1.5], 2, np.random.default_rng(0))
    assert np.all((0 <= pt.separable) & (pt.separable <= 1))
    toks = nl.tokenize("the cat sat on the mat . the end", vocab_size=4)
    assert len(toks.vocab) == 4
    st_ = nl.context_length_statistics(toks.tokens, [1, 2])
    assert np.all(st_.entropy >= 0)
    assert isinstance(nl.load_text(), str)


COVERED.update({"tokenize", "context_length_statistics", "load_text", "glue", "table", "plotting.set_style",
                "plotting.subplots", "plotting.heatmap", "plotting.curves"})


def test_book_and_plotting_helpers():
    nl.glue("x", 1.0)
    assert nl.table([{"a": 1.0, "b": 2}], index="b").shape == (1, 1)
    nl.plotting.set_style()
    fig, ax = nl.plotting.subplots(1, 2)
    nl.plotting.heatmap(ax[0, 0], np.array([[1.0, np.nan], [0.0, 2.0]]), center=0.0)
    nl.plotting.curves(ax[0, 1], np.arange(3), {"a": np.arange(3.0)})
    import matplotlib.pyplot as plt

    plt.close(fig)


# ------------------------------------------------------------------------------ language data
def _counted(pairs) -> dict:
    """(context, next token) → count, by a plain loop."""
    out: dict = {}
    for ctx, z in pairs:
        key = (tuple(int(x) for x in ctx), int(z))
        out[key] = out.get(key, 0) + 1
    return out


def _counts_of(lang) -> dict:
    C = np.rint(lang.data.P * lang.data.pi * lang.data.n)
    return {(tuple(int(x) for x in lang.contexts[j]), int(z)): int(C[z, j]) for z, j in zip(*np.nonzero(C))}


@covers("encode", "stream_contexts", "line_contexts", "pairs_data", "text_contexts", "LanguageData")
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 3), st.integers(2, 40))
def test_contexts_agree_with_a_counting_loop(seed, t, V):
    text = make_text(seed, n_lines=8)
    tok = nl.tokenize(text, V)
    np.testing.assert_array_equal(nl.encode(text, tok.vocab), tok.tokens)
    lang = nl.stream_contexts(tok.tokens, t, vocab=tok.vocab)  # V from the vocabulary
    assert lang.data.V == len(tok.vocab) and lang.contexts.shape == (lang.data.m, t)
    assert _counts_of(lang) == _counted((tok.tokens[i:i + t], tok.tokens[i + t]) for i in range(tok.tokens.size - t))
    assert _counts_of(nl.text_contexts(text, V, t)) == _counts_of(lang)
    lines = [nl.encode(line, tok.vocab) for line in text.splitlines()]
    by_line = nl.line_contexts(lines, t, len(tok.vocab), tok.vocab)
    assert _counts_of(by_line) == _counted((x[:t], x[t]) for x in lines if len(x) > t)
    assert _counts_of(nl.text_contexts(text, V, t, per_line=True)) == _counts_of(by_line)
    X = np.array([x[:t] for x in lines if len(x) > t])
    z = np.array([x[t] for x in lines if len(x) > t])
    assert _counts_of(nl.pairs_data(X, z, len(tok.vocab))) == _counts_of(by_line)
    with pytest.raises(ValueError, match="out of range"):
        nl.stream_contexts(tok.tokens, t, V=int(tok.tokens.max()))
    with pytest.raises(ValueError, match="mismatched"):
        nl.pairs_data([list(X[0]), list(X[0]) + [0]], z[:2])
    with pytest.raises(ValueError, match="vocab"):
        nl.LanguageData(lang.data, lang.contexts, vocab=tok.vocab[:-1] + [tok.vocab[0]])


@covers("resample_counts", "synthetic_sentences", "simplified_language", "count_entropy_range")
@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 6))
def test_samplers_keep_supports_and_stay_in_the_entropy_range(seed, max_count):
    rng = np.random.default_rng(seed)
    lang = nl.synthetic_sentences(rng, max_count=max_count)
    new = nl.resample_counts(lang, rng, max_count=max_count)
    np.testing.assert_array_equal(new.data.S, lang.data.S)
    np.testing.assert_array_equal(new.contexts, lang.contexts)
    lo, hi = nl.count_entropy_range(3, max_count)  # every S_j = 3
    P = new.data.P
    h = -np.sum(np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0), axis=0)
    assert np.all(h >= lo - 1e-12) and np.all(h <= hi + 1e-12)
    C = np.rint(P * new.data.pi * new.data.n)
    assert set(C[new.data.S > 0].astype(int)) <= set(range(1, max_count + 1))
    simp = outcome(nl.simplified_language, rng, text=make_text(seed), V=25, t=2, n_frequent=4, max_count=max_count)
    if simp is not None:
        for g in np.unique(simp.groups):  # contexts of one group share their support
            cols = simp.data.S[:, simp.groups == g]
            assert np.all(cols == cols[:, :1])


@covers("dirichlet_expected_entropy")
@settings(max_examples=20, deadline=None)
@given(st.integers(1, 50), st.floats(1e-3, 1e3))
def test_dirichlet_entropy_is_the_harmonic_number_at_alpha_one(S, alpha):
    assert nl.dirichlet_expected_entropy(S) == pytest.approx(sum(1.0 / k for k in range(2, S + 1)), abs=1e-12)
    e = nl.dirichlet_expected_entropy(S, alpha)
    assert 0 <= e <= np.log(S) + 1e-12  # an expected entropy on S tokens
    P = np.random.default_rng(S).dirichlet(np.full(S, alpha), size=4000)
    mc = -np.sum(np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0), axis=1)
    assert abs(mc.mean() - e) <= 5 * mc.std() / np.sqrt(mc.size) + 1e-9


# ------------------------------------------------------------------------------ metrics of Z24 §5
@covers("sim_corr")
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 6), st.integers(1, 6), st.integers(2, 8), st.integers(-150, 150))
def test_sim_corr_is_sim_of_corr_and_ignores_column_scales(seed, a, b, m, k):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((a, m)), rng.standard_normal((b, m))
    v = nl.sim_corr(X, Y)
    assert v == pytest.approx(nl.sim(nl.corr(X), nl.corr(Y)), abs=1e-9)
    cx, cy = 10.0 ** rng.uniform(-3, 3, m), 10.0 ** rng.uniform(-3, 3, m)
    assert nl.sim_corr(X * cx * 10.0**k, Y * cy) == pytest.approx(v, abs=1e-9)
    assert nl.sim_corr(X, X) == pytest.approx(1.0, abs=1e-9)
    assert np.isfinite(v) and v <= 1 + 1e-9


@covers("collapse_cosines")
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.integers(-300, 300), st.integers(1, 6))
def test_collapse_cosines_ignore_the_scale_of_H(seed, k, d):
    data = _lang().data
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((d, data.m))
    c = nl.collapse_cosines(H, data)
    assert -1 - 1e-12 <= c.within_min <= c.within_mean <= 1 + 1e-12
    assert -1 - 1e-12 <= c.between_mean <= c.between_max <= 1 + 1e-12
    scaled = nl.collapse_cosines(H * 10.0**k * 10.0 ** rng.uniform(-3, 3, data.m), data)
    np.testing.assert_allclose(scaled, c, atol=1e-12)
    H_mm = _ref(data).H_mm  # Z24 Prop. 1: the contexts of one support are collapsed
    assert nl.collapse_cosines(H_mm, data).within_min == pytest.approx(1.0, abs=1e-6)


@covers("restricted_ce_loss")
@FAST
@given(datas, st.integers(0, 10**6), st.integers(-300, 300))
def test_restricted_loss_lies_between_the_entropy_and_the_loss(data, seed, k):
    rng = np.random.default_rng(seed)
    L = rng.standard_normal((data.V, data.m)) * 10.0**k
    r = nl.restricted_ce_loss(L, data)
    assert np.isfinite(r)
    assert r >= data.entropy - 1e-12 * (1 + data.entropy)
    assert r <= nl.ce_loss(L, data) * (1 + 1e-12) + 1e-12
    exact = np.where(data.S > 0, np.log(np.where(data.S > 0, data.P, 1.0)), rng.standard_normal(L.shape) * 10)
    assert nl.restricted_ce_loss(exact, data) == pytest.approx(data.entropy, rel=1e-9, abs=1e-12)
    Lt = torch.tensor(np.clip(np.rint(L), -30, 30).astype(np.int64))
    assert nl.restricted_ce_loss(Lt, data) == pytest.approx(nl.restricted_ce_loss(Lt.numpy(), data), rel=1e-12)


@covers("genie_bound", "proxy_quality")
@settings(max_examples=10, deadline=None)
@given(datas, st.integers(-100, 100))
def test_genie_bound_holds_and_proxy_quality_is_scale_free(data, k):
    if not has_off_support(data):
        with pytest.raises(ValueError, match="whole vocabulary"):
            nl.genie_bound(data)
        return
    g = nl.genie_bound(data)
    for R in (0.0, 1.0, 5.0, 20.0):
        assert nl.ce_decomposition(g.logits(R), data).excess <= g.excess_bound(R) * (1 + 1e-3) + 1e-300
    assert g.objective_bound(0.1) >= 0
    q = nl.proxy_quality(data.S, g.L_mm)
    assert q.relative_gap >= -1e-4 and 1 <= q.effective_rank_mm and 1 <= q.rank_mm
    assert all(np.isfinite(v) for v in q)
    qc = nl.proxy_quality(data.S, g.L_mm * 10.0**k)
    assert qc.nuclear_mm == pytest.approx(q.nuclear_mm * 10.0**k, rel=1e-9)
    for f in ("direction_distance", "cos", "sim_words", "sim_contexts", "effective_rank_mm"):
        assert getattr(qc, f) == pytest.approx(getattr(q, f), abs=1e-7), f
    assert qc.rank_mm == q.rank_mm and qc.certificate == q.certificate


@covers("geometry_metrics")
@settings(max_examples=15, deadline=None)
@given(datas, st.integers(0, 10**6), st.integers(-60, 60))
def test_geometry_metrics_depend_on_W_H_only_through_L_and_directions(data, seed, k):
    if not has_off_support(data):
        return
    rng, ref = np.random.default_rng(seed), _ref(data)
    W, H = rng.standard_normal((data.V, 3)), rng.standard_normal((3, data.m))
    g = nl.geometry_metrics(W, H, data, ref)
    assert g.excess >= 0 and all(np.isfinite(v) for v in g)
    c = 10.0**k
    gc = nl.geometry_metrics(W * c, H / c, data, ref)  # the same logits L = W H
    assert gc.norm_W == pytest.approx(g.norm_W * c, rel=1e-12) and gc.norm_H == pytest.approx(g.norm_H / c, rel=1e-12)
    for f in ("excess", "dist_in", "cos_mm", "sim_W_theory", "sim_H_theory", "sim_W_proxy", "sim_H_proxy"):
        assert getattr(gc, f) == pytest.approx(getattr(g, f), rel=1e-9, abs=1e-9), f
    with pytest.raises(ValueError, match="overflow"):
        nl.geometry_metrics(W * 1e200, H * 1e200, data, ref)


# ------------------------------------------------------------------------------ networks
@covers("TinyTransformer", "ContextMLP", "ContextLSTM", "train_model")
@settings(max_examples=6, deadline=None)
@given(st.sampled_from(["transformer", "mlp", "lstm"]), st.sampled_from(["adamw", "sgd"]),
       st.sampled_from([None, 4]))
def test_networks_train_and_their_metrics_are_consistent(kind, optimizer, batch_size):
    lang = _lang()
    h = _train(_tiny(kind), steps=2, optimizer=optimizer, batch_size=batch_size, snapshots=[0, 2], lr=1e-2)
    assert np.all(h.excess >= 0) and np.all(np.isfinite(h.norm_W)) and set(h.snapshots) == {0, 2}
    assert h.W.shape == (lang.data.V, 4) and h.H.shape == (4, lang.data.m)
    logits = _tiny(kind)(torch.as_tensor(lang.contexts))
    assert logits.shape == (lang.data.m, lang.data.V) and bool(torch.isfinite(logits).all())
    h2 = _train(_tiny(kind), steps=2, optimizer=optimizer, batch_size=batch_size, snapshots=[0, 2], lr=1e-2)
    assert np.array_equal(h.W, h2.W) and np.array_equal(h.H, h2.H)  # seeded: bitwise the same
    with pytest.raises(ValueError, match="overflow"):
        _train(_tiny(kind), steps=2, optimizer="sgd", lr=1e30)
    with pytest.raises(ValueError, match="range of torch.float32"):
        _train(_tiny(kind), steps=2, lr=1e300)
    with pytest.raises(ValueError, match="lie in"):
        nl.train_model(_tiny(kind), lang.data, np.full_like(lang.contexts, 30), 1, ref=_ref(lang.data),
                       progress=False)


# ------------------------------------------------------------------------------ threads and environment
@covers("cpu_threads", "small_problem_threads", "build_environment")
def test_thread_settings_are_restored_and_the_environment_is_listed():
    before = torch.get_num_threads()
    for n in (1, 2, 3):
        with nl.cpu_threads(n):
            assert torch.get_num_threads() == n
            with nl.cpu_threads(1):
                assert torch.get_num_threads() == 1
            assert torch.get_num_threads() == n
        assert torch.get_num_threads() == before
    with pytest.raises(KeyError):
        with nl.cpu_threads(2):
            raise KeyError("inside")
    assert torch.get_num_threads() == before
    with nl.small_problem_threads("cpu", 10):
        assert torch.get_num_threads() == 1
    with nl.small_problem_threads(torch.device("cpu"), 10**12):
        assert torch.get_num_threads() == before
    assert torch.get_num_threads() == before
    env = nl.build_environment()
    assert "ntpbook_lib" in env.index and env.loc["ntpbook_lib", "version"] == nl.__version__

# ------------------------------------------------------------------------------ reproducibility
def test_seeded_calls_are_bitwise_reproducible():
    def run(seed):
        rng = np.random.default_rng(seed)
        data = nl.random_ntp_data(5, 4, 2, rng, max_count=3)
        H = nl.gaussian_embeddings(3, 4, rng)
        u = nl.train_ufm(data, 2, 1e-3, "sgd", 0.5, 15, rng=rng, batch_size=2, n_records=4)
        pt = nl.separability_phase_transition(4, 3, 2, [1.0], 2, rng)
        return data.P, H, u.W, u.H, pt.separable
    for a, b in zip(run(11), run(11)):
        assert np.array_equal(a, b)


# ------------------------------------------------------------------------------ chapter 6: margins and optimizers
@covers("ntp_svm_norm", "matrix_norm", "margin_references", "margin_metrics")
@FAST
@given(seed=st.integers(0, 2**32 - 1), V=st.integers(2, 6), m=st.integers(1, 5), d=st.integers(1, 8),
       norm=st.sampled_from(["fro", "max", "spectral"]), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_margins_random(seed, V, m, d, norm, scale):
    rng = np.random.default_rng(seed)
    data = nl.random_ntp_data(V, m, rng.integers(1, V + 1, size=m), rng, n=10 * V * m)
    H = scale * rng.standard_normal((d, m))
    got = outcome(nl.ntp_svm_norm, data, H, norm, tol=1e-5, max_iter=20_000, return_info=True)
    if got is None:  # refused: not separable, or every context fully supported
        return
    W, cert = got
    assert_margin_constraints(W @ H, data.S, 1e-6)
    np.testing.assert_allclose(nl.matrix_norm(W, norm), cert.objective, rtol=1e-9)
    assert cert.dual_objective <= cert.objective * (1 + 1e-9)
    f = nl.margin_metrics(data, H, {norm: W})
    np.testing.assert_allclose(f[f"margin_{norm}"](W), 1 / cert.objective, rtol=1e-6)
    assert nl.margin_references(data, H, (norm,), tol=1e-5)[norm].shape == W.shape


@covers("ntp_svm_norm", "matrix_norm", "optimizer", "SteepestDescent", "SignDescent", "Muon", "ScheduledAdam",
        "newton_schulz", "train_minibatch")
@pytest.mark.parametrize("bad", BAD_SCALARS)
def test_margins_and_optimizers_bad_scalars(bad):
    data = nl.random_ntp_data(4, 3, 2, np.random.default_rng(0), n=40)
    H = np.random.default_rng(1).standard_normal((5, 3))
    for call in (lambda: nl.ntp_svm_norm(data, H, "max", tol=bad), lambda: nl.ntp_svm_norm(data, H, bad),
                 lambda: nl.matrix_norm(np.eye(2), bad), lambda: nl.optimizer(bad),
                 lambda: nl.SteepestDescent([torch.zeros(2, 2)], bad),
                 lambda: nl.SignDescent([torch.zeros(2, 2)], 0.1, decay=bad),
                 lambda: nl.Muon([torch.zeros(2, 2)], 0.1, momentum=bad),
                 lambda: nl.ScheduledAdam([torch.zeros(2, 2)], 0.1, decay=bad),
                 lambda: nl.train_minibatch(data, H, nl.optimizer("sign"), bad, 2)):
        outcome(call)  # an answer or a clean refusal: any other exception fails
        if bad is None or isinstance(bad, str) or (isinstance(bad, float) and np.isnan(bad)):
            with pytest.raises(CLEAN):
                call()
    X = nl.newton_schulz(torch.zeros(2, 3))  # a zero matrix stays zero (no division by zero)
    assert torch.all(X == 0)
