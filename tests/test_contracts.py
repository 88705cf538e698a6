"""The contract of every public callable: wrong Python types, bad settings and malformed arrays are refused with
``ValueError``/``TypeError`` naming the argument (one table per kind of bad input), seeded calls reproduce
bitwise, and every name in every module's ``__all__`` is exercised by some test."""

import dataclasses
import importlib
import inspect
import pathlib
import pkgutil
import re

import numpy as np
import pytest
from hypothesis import settings

import ntpbook_lib as nl
from ntpbook_lib import NTPData

from fuzz_support import (
    BAD_ARRAY_KINDS,
    BAD_SCALARS,
    CLEAN,
    COVERED,
    _lang,
    _ref,
    _tiny,
    _train,
    corrupt,
    covers,
    make_data,
    make_text,
)

TESTS = pathlib.Path(__file__).parent
PROPERTY_TESTS = ("test_separability_properties", "test_loss_properties", "test_nuclear_svm_properties",
                  "test_geometry", "test_nuclear_path", "test_training_properties", "test_generators_properties",
                  "test_plotting_properties", "test_language_properties", "test_models_properties", "test_runtime",
                  "test_margins_properties", "test_containers", "test_torch_robustness")


def public_callables() -> dict[str, str]:
    """``module.name → name`` for every function and class in the ``__all__`` of every module of the library,
    except the records its functions return (named tuples and dataclasses)."""
    out = {}
    for info in pkgutil.iter_modules(nl.__path__):
        module = importlib.import_module(f"ntpbook_lib.{info.name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            if inspect.isclass(obj) and (issubclass(obj, tuple) or dataclasses.is_dataclass(obj)):
                continue
            out[f"{info.name}.{name}"] = name
    return out


def test_every_public_callable_of_every_module_is_tested():
    sources = "\n".join(p.read_text() for p in TESTS.glob("test_*.py"))
    missing = sorted(q for q, n in public_callables().items() if not re.search(rf"\b{re.escape(n)}\b", sources))
    assert not missing, f"named in a module's __all__ but exercised by no test: {missing}"


def test_every_top_level_callable_faces_the_contract_tables_or_a_property_test():
    for name in PROPERTY_TESTS:  # their @covers marks fill COVERED
        importlib.import_module(name)
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
