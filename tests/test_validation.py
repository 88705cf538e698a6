import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ntpbook_lib import NTPData
from ntpbook_lib.validation import (
    check_array,
    check_bool,
    check_choice,
    check_data,
    check_generator,
    check_int,
    check_logits,
    check_memory,
    check_real,
    check_rng,
    check_strictly_monotone,
    check_support,
    check_tokens,
    check_vocab,
    format_bytes,
)
from ntpbook_lib.numerics import embedding_scale, frobenius_norm, rescale


def test_integers_are_checked_not_truncated():
    assert check_int(3, "n") == 3 and check_int(3.0, "n") == 3 and check_int(np.int32(3), "n") == 3
    for bad, err in [(1.5, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
                     ("3", TypeError), (None, TypeError), (True, TypeError), (3 + 0j, TypeError)]:
        with pytest.raises(err, match="n must"):
            check_int(bad, "n")
    with pytest.raises(ValueError, match="n must be positive"):
        check_int(0, "n", minimum=1)
    with pytest.raises(ValueError, match="at most 5"):
        check_int(6, "n", maximum=5)


def test_reals_name_the_bound_they_miss():
    assert check_real(2, "tol", positive=True) == 2.0
    with pytest.raises(ValueError, match=r"tol must be positive \(tol > 0\)"):
        check_real(0.0, "tol", positive=True)
    with pytest.raises(ValueError, match="finite"):
        check_real(float("nan"), "tol", nonnegative=True)
    with pytest.raises(ValueError, match="non-negative"):
        check_real(-1e-300, "weight_decay", nonnegative=True)
    with pytest.raises(ValueError, match="below 1"):
        check_real(1.0, "beta", below=1.0)
    with pytest.raises(TypeError):
        check_real("0.1", "lr")
    assert check_bool(np.bool_(True), "flag") is True
    with pytest.raises(TypeError):
        check_bool(1, "flag")
    with pytest.raises(ValueError, match="'a', 'b'"):
        check_choice("c", "method", ("a", "b"))


def test_arrays():
    np.testing.assert_array_equal(check_array([[1, 2]], "A", ndim=2), [[1.0, 2.0]])
    assert check_array(torch.ones(2, dtype=torch.int64), "A").dtype == np.float64
    with pytest.raises(ValueError, match="complex"):
        check_array(np.ones(2) + 1j, "A")
    with pytest.raises(TypeError, match="real numbers"):
        check_array(["a", "b"], "A")
    with pytest.raises(ValueError, match="rectangular"):
        check_array([[1.0], [1.0, 2.0]], "A")
    with pytest.raises(ValueError, match=r"A has non-finite entries \(first at index \(1,\)"):
        check_array([0.0, np.inf], "A")
    with pytest.raises(ValueError, match="must hold integers"):
        check_array([1.0, 1.5], "sizes", integer=True)
    with pytest.raises(ValueError, match="2-D"):
        check_array(np.ones(3), "A", ndim=2)
    with pytest.raises(ValueError, match="strictly decreasing"):
        check_strictly_monotone([0.3, 0.1, 0.1], "lams", increasing=False)
    with pytest.raises(ValueError, match="positive"):
        check_strictly_monotone([0.0, 1.0], "radii")


def test_library_objects():
    data = NTPData(np.eye(2), np.full(2, 0.5))
    assert check_data(data) is data
    with pytest.raises(TypeError, match="data must be an NTPData"):
        check_data(np.eye(2))
    with pytest.raises(TypeError, match="Generator"):
        check_rng(np.random.RandomState(0))
    L = check_logits(torch.tensor([[1, 2], [3, 4]]), data)
    assert L.dtype == torch.float64
    with pytest.raises(ValueError, match="non-finite"):
        check_logits(torch.tensor([[1.0, np.nan], [3.0, 4.0]]), data)
    with pytest.raises(ValueError, match="binary"):
        check_support([[1, 0.5], [0, 1]])
    with pytest.raises(ValueError, match="whole vocabulary"):
        check_support(np.ones((2, 2)))
    assert check_support(np.ones((2, 2)), need_off_support=False).shape == (2, 2)


def test_tokens_vocabularies_and_torch_generators():
    X = check_tokens([[0, 1], [2, 1]], "contexts", ndim=2, V=3)
    assert X.dtype == np.int64 and X.tolist() == [[0, 1], [2, 1]]
    assert check_tokens(np.array([3.0, 1.0]), "tokens", ndim=1, integer_dtype=False).tolist() == [3, 1]
    assert check_tokens(torch.tensor([[1, 2]]), "contexts", ndim=2, rows=1).shape == (1, 2)
    for bad, kw, err, msg in [
        ([[0, 1], [1]], {}, ValueError, "mismatched lengths"),
        ([[0, 3]], {"V": 3}, ValueError, r"lie in \[0, V=3\)"),
        ([[0, -1]], {}, ValueError, "non-negative"),
        ([[0.0, 1.0]], {}, ValueError, "integers"),
        ([[0.5, 1.0]], {"integer_dtype": False}, ValueError, "integers"),
        (np.zeros((0, 2), dtype=np.int64), {}, ValueError, "empty"),
        ([[0, 1]], {"rows": 2}, ValueError, "2 rows"),
        ([0, 1], {}, ValueError, "2-D"),
        ("ab", {}, TypeError, "token ids"),
        ([[0, np.nan]], {}, ValueError, "non-finite"),
        ([[2**70, 0]], {}, ValueError, "2\\^62"),
    ]:
        with pytest.raises(err, match=msg):
            check_tokens(bad, "contexts", ndim=2, **kw)
    assert check_vocab(("a", "b"), V=2) == ["a", "b"]
    for bad, err in [("ab", TypeError), (["a", 1], TypeError), (["a", "a"], ValueError), (None, TypeError)]:
        with pytest.raises(err, match="vocab"):
            check_vocab(bad)
    with pytest.raises(ValueError, match="V=3"):
        check_vocab(["a", "b"], V=3)
    g = torch.Generator()
    assert check_generator(g) is g
    with pytest.raises(TypeError, match="torch.Generator"):
        check_generator(np.random.default_rng(0))


@settings(max_examples=50, deadline=None)
@given(st.integers(-300, 300), st.integers(0, 10**6))
def test_frobenius_norm_never_overflows(k, seed):
    X = np.random.default_rng(seed).standard_normal((3, 4))
    assert frobenius_norm(X * 10.0**k) == pytest.approx(np.linalg.norm(X) * 10.0**k, rel=1e-13)


def test_scale_helpers():
    assert embedding_scale(np.array([[0.0, -3.0]])) == 3.0 and embedding_scale(np.zeros((2, 2))) == 0.0
    with pytest.raises(ValueError, match="subnormal"):
        embedding_scale(np.array([[1e-310]]))
    np.testing.assert_array_equal(rescale(np.array([1.0, 2.0]), 1e-3, "W"), [1e-3, 2e-3])
    with pytest.raises(ValueError, match="not representable in float64"):
        rescale(np.array([1e10]), 1e300, "W")
    with pytest.raises(ValueError, match="not representable in float64"):
        rescale(np.array([1e-10, 1.0]), 1e-300, "W")


def test_memory_guard_names_the_size():
    assert format_bytes(17.6 * 2**30) == "17.6 GiB" and format_bytes(512) == "512 B"
    check_memory(1024, "a small array")
    with pytest.raises(ValueError, match=r"a huge array needs about \d+\.\d PiB of memory"):
        check_memory(2.0**63, "a huge array")


def test_the_remaining_checkers():
    from ntpbook_lib.validation import (
        available_memory,
        check_betas,
        check_decoder,
        check_device,
        check_dtype,
        check_embeddings,
        check_ints,
        register_data_type,
    )

    data = NTPData(np.array([[0.5, 1.0], [0.5, 0.0]]), np.array([0.5, 0.5]))
    assert available_memory() > 0
    assert check_betas((0.9, 0.99)) == (0.9, 0.99)
    with pytest.raises(ValueError, match="betas"):
        check_betas((0.9, 1.0))
    H = check_embeddings(data, np.ones((3, 2)))
    with pytest.raises(ValueError, match="m = 2"):
        check_embeddings(data, np.ones((3, 3)))
    assert check_decoder(np.zeros((2, 3)), data, H).shape == (2, 3)
    with pytest.raises(ValueError, match="V×d"):
        check_decoder(np.zeros((3, 3)), data, H)
    assert check_device("cpu") == "cpu" and check_dtype(torch.float32) is torch.float32
    with pytest.raises(ValueError, match="floating"):
        check_dtype(torch.int64)
    assert check_ints([1, 2.0], "xs", minimum=0) == [1, 2]
    with pytest.raises(TypeError, match="sequence"):
        check_ints(3, "xs")

    class Other:
        pass

    with pytest.raises(TypeError, match="NTPData"):
        check_data(Other())
    import ntpbook_lib.validation as validation

    try:
        assert register_data_type(Other) is Other and check_data(Other()) is not None  # registered types pass
    finally:
        validation._DATA_TYPES.remove(Other)


def test_as_float64_reads_every_container_once_as_a_new_array():
    import scipy.sparse as sp
    from ntpbook_lib.validation import as_float64, check_display_values
    A = np.array([[0.5, -1.0], [2.0, 0.0]])
    for obj in (A, A.T.T.copy(order="F"), A.astype(">f8"), A.astype(np.float16), A.astype(object), A.tolist(),
                np.asmatrix(A), torch.tensor(A, dtype=torch.bfloat16), torch.tensor(A, requires_grad=True),
                sp.csr_array(A), sp.coo_matrix(A)):
        out = as_float64(obj, "A")
        assert type(out) is np.ndarray and out.dtype == np.float64 and out.flags.writeable
        np.testing.assert_array_equal(out, A)
        assert not (isinstance(obj, np.ndarray) and np.shares_memory(out, obj))
    with pytest.raises(TypeError, match="A is a masked array"):
        as_float64(np.ma.array(A), "A")
    with pytest.raises(ValueError, match="A must be real"):
        as_float64(torch.tensor(A, dtype=torch.complex64), "A")
    with pytest.raises(ValueError, match="A holds an integer beyond float64"):
        as_float64([1, 10**400], "A")
    with pytest.raises(ValueError, match="meta"):
        as_float64(torch.empty(2, device="meta"), "A")
    assert check_display_values(torch.tensor(1.5, dtype=torch.bfloat16), "x") == 1.5
    assert check_display_values(torch.tensor([True]), "x").dtype == bool
    with pytest.raises(TypeError, match="x is a masked array"):
        check_display_values(np.ma.array([1.0]), "x")


def test_integers_beyond_float64_are_a_value_error_naming_the_argument():
    for check in (lambda v: check_int(v, "steps"), lambda v: check_real(v, "steps")):
        with pytest.raises(ValueError, match="steps is an integer of 401 digits, beyond float64"):
            check(10**400)
    assert check_int(2**70, "n") == 2**70 and check_real(2**70, "x") == 2.0**70
