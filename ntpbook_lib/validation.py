"""The one place where arguments of the public functions are checked.

Every public entry point passes its arguments through these checkers before computing anything, so that bad
input fails early with a ``ValueError`` (or a ``TypeError`` for an argument of the wrong Python type) that
names the argument and says what is wrong, and nothing non-finite reaches LAPACK or an iterative solver.
Inside, the library trusts the checked objects and calls unchecked kernels.  :func:`check_memory` sizes dense
objects before they are allocated.

Array arguments are read once, by :func:`as_float64` (through :func:`check_array` and the checkers built on it):
every container a user has at hand (NumPy arrays of any real dtype, byte order and layout, lists, pandas
objects, torch tensors of any real dtype including bfloat16 and float16, SciPy sparse matrices) gives the answer
the same values give as a float64 NumPy array; masked arrays and complex values are refused by name.  The
checked array is always a new one: no public function modifies its arguments, and no result shares memory with
them, so a later edit of an argument cannot change a result or break an object's invariants.

This module is a leaf: it imports nothing of the library.  :class:`~ntpbook_lib.data.NTPData` makes itself
known to :func:`check_data` through :func:`register_data_type`.
"""

from __future__ import annotations

import numbers
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "check_int",
    "check_ints",
    "check_real",
    "check_bool",
    "check_choice",
    "as_float64",
    "check_array",
    "check_data",
    "check_betas",
    "check_dtype",
    "check_device",
    "tensor_as_numpy",
    "check_tensor",
    "check_rng",
    "check_embeddings",
    "check_decoder",
    "check_logits",
    "check_support",
    "check_strictly_monotone",
    "check_display_values",
    "check_tokens",
    "check_vocab",
    "check_generator",
    "register_data_type",
    "available_memory",
    "check_memory",
    "format_bytes",
]

_DATA_TYPES: list[type] = []  # the classes check_data accepts, registered by the module that defines them


# ------------------------------------------------------------------------------------------ scalars
_FLOAT64_MAX = float(np.finfo(np.float64).max)


def _is_number(value: Any) -> bool:
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _beyond_float64(name: str, value: int) -> ValueError:
    """The error for a Python integer too large for float64 (``10**400``): said without formatting it as a float."""
    return ValueError(f"{name} is an integer of {len(str(abs(value)))} digits, beyond float64's range "
                      f"(about 1.8e308): no computation here can use it")


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer-valued number (``3`` or ``3.0``, not ``3.5``, ``True`` or ``"3"``) within ``[minimum, maximum]``.

    Integers beyond float64's range (``10**400``) are refused with a ``ValueError``: every size, count and
    iteration limit meets float arithmetic somewhere.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name in the error message.
    minimum, maximum : int, optional
        Bounds.

    Returns
    -------
    int
        The value.
    """
    if not _is_number(value):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if abs(v) > _FLOAT64_MAX:
            raise _beyond_float64(name, v)
    else:
        f = float(value)
        if not np.isfinite(f):
            raise ValueError(f"{name} must be a finite integer, got {value!r}")
        if not f.is_integer():
            raise ValueError(f"{name} must be an integer, got {value!r} (it is not truncated)")
        v = int(f)
    if minimum is not None and v < minimum:
        what = "positive" if minimum == 1 else "non-negative" if minimum == 0 else f"at least {minimum}"
        raise ValueError(f"{name} must be {what} (an integer ≥ {minimum}), got {value!r}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return v


def check_real(value: Any, name: str, *, positive: bool = False, nonnegative: bool = False,
               below: float | None = None, finite: bool = True) -> float:
    """A real number (not ``bool``, ``str`` or ``None``): finite unless ``finite=False``; optionally ``> 0``,
    ``≥ 0`` and ``< below``.  A Python integer beyond float64's range (``10**400``) is a ``ValueError``.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name in the error message.
    positive, nonnegative : bool, optional
        Require ``> 0`` or ``≥ 0``.
    below : float, optional
        Require ``< below``.
    finite : bool, optional
        Require a finite value.

    Returns
    -------
    float
        The value.
    """
    if not _is_number(value):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        v = float(value)
    except OverflowError:  # a Python integer beyond float64
        raise _beyond_float64(name, int(value)) from None
    if np.isnan(v) or (finite and not np.isfinite(v)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be positive ({name} > 0), got {value!r}")
    if nonnegative and not v >= 0:
        raise ValueError(f"{name} must be non-negative ({name} ≥ 0), got {value!r}")
    if below is not None and not v < below:
        raise ValueError(f"{name} must be below {below:g}, got {value!r}")
    return v


def check_bool(value: Any, name: str) -> bool:
    """A ``bool`` (or NumPy bool).

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name in the error message.

    Returns
    -------
    bool
        The value.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, options: Sequence[str]) -> str:
    """One of the named ``options``.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name in the error message.
    options : sequence of str
        The allowed values.

    Returns
    -------
    str
        The value.
    """
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


# ------------------------------------------------------------------------------------------- arrays
def _refuse_masked(A: Any, name: str) -> None:
    if isinstance(A, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array, which is not supported: a mask has no meaning here; pass "
                        f"{name}.filled(value) or the unmasked values")


def _is_tensor(A: Any) -> bool:
    return type(A).__module__.startswith("torch") and hasattr(A, "detach")


def _tensor_as_float64(A: Any, name: str) -> np.ndarray:
    """A torch tensor's values as a new float64 NumPy array: exact for every real dtype (bfloat16 and float16
    included, whose values float64 represents exactly), through :func:`tensor_as_numpy`."""
    if A.is_complex():
        raise ValueError(f"{name} must be real, got a complex torch tensor ({A.dtype})")
    try:
        return tensor_as_numpy(A, name).astype(np.float64, copy=False)
    except (RuntimeError, TypeError) as err:
        raise TypeError(f"{name}: a torch tensor of dtype {A.dtype} cannot be read as real numbers ({err})") from None


def as_float64(A: Any, name: str) -> np.ndarray:
    """The values of ``A`` as a NEW float64 NumPy array (never a view of ``A``): the one conversion at the boundary.

    Accepted: NumPy arrays of any real dtype (bool, signed and unsigned integers, float16 to float64, either
    byte order), any memory layout (strided views, Fortran order, read-only), object arrays of real numbers,
    ``np.matrix``, nested lists and tuples, pandas Series and DataFrames, torch tensors of any real dtype on any
    device (bfloat16 and float16 are converted exactly; ``requires_grad`` is dropped), and SciPy sparse arrays
    and matrices (densified; stored zeros are zeros).  Refused: complex values (``ValueError``: the imaginary part
    would be lost), masked arrays (``TypeError``: a mask has no meaning here; pass ``A.filled(value)``),
    strings and other non-numbers (``TypeError``), ragged nested sequences and numbers beyond float64's range
    (``ValueError``).  The copy means that a later edit of ``A`` cannot change a result, nor a computation ``A``.

    Parameters
    ----------
    A : array_like
        The argument.
    name : str
        Its name in the error message.

    Returns
    -------
    numpy.ndarray
        A new float64 array.
    """
    _refuse_masked(A, name)
    if sp.issparse(A):
        if A.dtype.kind == "c":
            raise ValueError(f"{name} must be real, got a sparse matrix of complex dtype {A.dtype}")
        if A.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got a sparse matrix of dtype {A.dtype}")
        check_memory(8.0 * float(np.prod(A.shape, dtype=np.float64)),
                     f"{name} as a dense {'×'.join(map(str, A.shape))} array")
        return A.astype(np.float64).toarray()  # a new array, the only dense one formed
    if _is_tensor(A):
        return _tensor_as_float64(A, name)
    if isinstance(A, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got a {type(A).__name__}")
    try:
        arr = np.asarray(A)
    except (ValueError, TypeError) as err:  # ragged nested sequences
        raise ValueError(f"{name} must be a rectangular array of numbers ({err})") from None
    except OverflowError:
        raise ValueError(f"{name} holds a number beyond float64's range") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{name} must be real, got complex dtype {arr.dtype}")
    if arr.dtype.kind not in "biufO":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "O":
        bad = [v for v in arr.ravel() if not _is_number(v) and not isinstance(v, (bool, np.bool_))]
        if bad:
            kind = "complex" if isinstance(bad[0], complex) else type(bad[0]).__name__
            raise (ValueError if kind == "complex" else TypeError)(
                f"{name} must be an array of real numbers, found {kind} {bad[0]!r}")
        try:
            return np.array(arr, dtype=np.float64)
        except OverflowError:
            raise ValueError(f"{name} holds an integer beyond float64's range") from None
    return np.array(arr, dtype=np.float64)


def check_array(A: Any, name: str, *, ndim: int | None = None, shape: tuple[int, ...] | None = None,
                finite: bool = True, integer: bool = False, nonempty: bool = False,
                fits: str | None = None) -> np.ndarray:
    """A new float64 array holding ``A``'s values (:func:`as_float64`): right ``ndim``/``shape``, finite,
    integer-valued on request.

    Every container :func:`as_float64` accepts is accepted, with the same answer as for a float64 NumPy array
    of the same values; the result never shares memory with ``A``.

    Parameters
    ----------
    A : array_like
        The argument.
    name : str
        Its name in the error message.
    ndim : int, optional
        Required number of dimensions.
    shape : tuple of int, optional
        Required shape.
    finite : bool, optional
        Refuse nan and inf.
    integer : bool, optional
        Require integer values.
    nonempty : bool, optional
        Refuse an empty array.
    fits : str, optional
        Where the required shape comes from (``"V×m of data"``), named in the error message.

    Returns
    -------
    numpy.ndarray
        float64, a new array.
    """
    arr = as_float64(A, name)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got an array of shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}{f' (the {fits})' if fits else ''}, "
                         f"got {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} has non-finite entries (first at index {tuple(int(i) for i in bad)}: "
                         f"{arr[tuple(bad)]})")
    if integer and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integers, found {arr[arr != np.round(arr)].ravel()[0]}")
    return arr


def check_display_values(values: Any, name: str) -> Any:
    """Values to display (a table column or cell), their types kept (booleans, integers, strings): a torch tensor
    becomes a NumPy array (a 0-d one a Python number), bfloat16 and float16 through float64, which holds them
    exactly; masked arrays (a mask has no meaning here) and complex numbers are refused.

    Parameters
    ----------
    values : object
        The argument.
    name : str
        Its name in the error message.

    Returns
    -------
    object
        ``values``, or the NumPy values of a tensor.
    """
    _refuse_masked(values, name)
    if _is_tensor(values):
        values = (_tensor_as_float64(values, name) if values.dtype.is_floating_point or values.is_complex()
                  else values.detach().cpu().numpy().copy())
        return values.item() if values.ndim == 0 else values
    if isinstance(values, (complex, np.complexfloating)) or (isinstance(values, np.ndarray)
                                                             and values.dtype.kind == "c"):
        raise ValueError(f"{name} must be real, got complex values")
    return values


def check_strictly_monotone(values: Any, name: str, *, increasing: bool = True, positive: bool = True
                            ) -> np.ndarray:
    """A non-empty finite 1-D array, strictly increasing (or decreasing) and by default positive: a path.

    Parameters
    ----------
    values : array_like
        The argument.
    name : str
        Its name in the error message.
    increasing : bool, optional
        Increasing (else decreasing).
    positive : bool, optional
        Require positive values.

    Returns
    -------
    numpy.ndarray
        float64, 1-D.
    """
    arr = check_array(values, name, ndim=1, nonempty=True)
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be positive, found {arr[arr <= 0][0]}")
    steps = np.diff(arr) if increasing else -np.diff(arr)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        raise ValueError(f"{name} must be strictly {'increasing' if increasing else 'decreasing'} (distinct "
                         f"values), but entries {i} and {i + 1} are {arr[i]!r} and {arr[i + 1]!r}")
    return arr


# --------------------------------------------------------------------------------- library objects
def register_data_type(cls: type) -> type:
    """Make ``cls`` a type that :func:`check_data` accepts (a class decorator, used by ``NTPData``).

    Parameters
    ----------
    cls : type
        The class.

    Returns
    -------
    type
        ``cls``.
    """
    _DATA_TYPES.append(cls)
    return cls


def check_data(data: Any, name: str = "data"):
    """An :class:`~ntpbook_lib.data.NTPData` (``TypeError`` for anything else).

    Parameters
    ----------
    data : object
        The argument.
    name : str
        Its name in the error message.

    Returns
    -------
    NTPData
        ``data``.
    """
    if not isinstance(data, tuple(_DATA_TYPES)):
        raise TypeError(f"{name} must be an NTPData, got {type(data).__name__}")
    return data


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """A NumPy ``Generator``, as made by ``np.random.default_rng(seed)`` (``TypeError`` for anything else).

    Parameters
    ----------
    rng : object
        The argument.
    name : str
        Its name in the error message.

    Returns
    -------
    numpy.random.Generator
        ``rng``.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator, e.g. np.random.default_rng(seed); "
                        f"got {type(rng).__name__}")
    return rng


def check_embeddings(data: Any, H: Any, name: str = "H") -> np.ndarray:
    """Fixed context embeddings ``H``: a finite real d×m matrix, one column per context of ``data``.

    Parameters
    ----------
    data : NTPData
        The data.
    H : array_like
        The argument.
    name : str
        Its name in the error message.

    Returns
    -------
    numpy.ndarray
        d×m, float64.
    """
    data = check_data(data)
    H = check_array(H, name, finite=False)
    if H.ndim != 2 or H.shape[1] != data.m or H.shape[0] < 1:
        raise ValueError(f"{name} must be d×m with d ≥ 1 and one column per context of data (m = {data.m}), "
                         f"got shape {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError(f"{name} has non-finite entries")
    return H


def check_decoder(W: Any, data: Any, H: np.ndarray, name: str = "W") -> np.ndarray:
    """A finite real decoder ``W`` of shape V×d.

    Parameters
    ----------
    W : array_like
        The argument.
    data : NTPData
        The data.
    H : numpy.ndarray
        Checked embeddings (for d).
    name : str
        Its name in the error message.

    Returns
    -------
    numpy.ndarray
        V×d, float64.
    """
    W = check_array(W, name, finite=False)
    if W.shape != (data.V, H.shape[0]):
        raise ValueError(f"{name} must be V×d = ({data.V}, {H.shape[0]}) (V of data, d of H), got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError(f"{name} has non-finite entries")
    return W


def check_logits(L: Any, data: Any, name: str = "L"):
    """Finite real V×m logits for ``data``: any container :func:`as_float64` accepts (returned as a new float64
    array), or a torch tensor, kept as a tensor so that gradients flow (a float32 or float64 tensor as it is; a
    bfloat16, float16, integer or boolean tensor as float64, which holds its values exactly, so that ``P`` and
    ``π̂`` are never cast to a low-precision or integer dtype).

    Parameters
    ----------
    L : array_like or torch.Tensor
        The argument.
    data : NTPData
        The data.
    name : str
        Its name in the error message.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        V×m.
    """
    data = check_data(data)
    if _is_tensor(L):
        import torch

        if L.is_complex():
            raise ValueError(f"{name} must be real, got complex dtype {L.dtype}")
        if L.device.type == "meta":
            raise ValueError(f"{name} is a tensor on the 'meta' device, which holds no values")
        if tuple(L.shape) != (data.V, data.m):
            raise ValueError(f"{name} has shape {tuple(L.shape)}, expected V×m = ({data.V}, {data.m}) of data")
        if L.dtype not in (torch.float32, torch.float64):
            L = L.to(torch.float64)
        if not bool(torch.isfinite(L).all()):
            raise ValueError(f"{name} has non-finite entries")
        return L
    L = check_array(L, name, finite=False)
    if L.shape != (data.V, data.m):
        raise ValueError(f"{name} has shape {L.shape}, expected V×m = ({data.V}, {data.m}) of data")
    if not np.all(np.isfinite(L)):
        raise ValueError(f"{name} has non-finite entries")
    return L


def check_support(S: Any, name: str = "S", *, need_off_support: bool = True) -> np.ndarray:
    """A V×m 0/1 support matrix (float64) whose every column is non-empty; with ``need_off_support``, some
    column must leave a token out (else the margin problems have no constraint).

    Parameters
    ----------
    S : array_like
        The argument.
    name : str
        Its name in the error message.
    need_off_support : bool, optional
        Require a column that leaves a token out.

    Returns
    -------
    numpy.ndarray
        V×m, float64 0/1.
    """
    S = check_array(S, name, finite=False)
    if S.ndim != 2 or 0 in S.shape:
        raise ValueError(f"{name} must be a non-empty V×m matrix, got shape {S.shape}")
    if not np.all((S == 0) | (S == 1)):
        raise ValueError(f"{name} must be binary (0/1): {name}[z, j] = 1 iff token z follows context j")
    sizes = S.sum(axis=0)
    if np.any(sizes == 0):
        raise ValueError(f"column j={int(np.flatnonzero(sizes == 0)[0])} of {name} has no support: every "
                         "context has at least one next token")
    if need_off_support and np.all(sizes == S.shape[0]):
        raise ValueError(f"every column of {name} is the whole vocabulary: there are no out-of-support tokens, "
                         "so the NTP-SVM⋆ has no margin constraints")
    return S


def check_betas(betas: Any, name: str = "betas") -> tuple[float, float]:
    """Adam's ``(β₁, β₂)``, each in [0, 1).

    Parameters
    ----------
    betas : tuple
        The argument.
    name : str
        Its name in the error message.

    Returns
    -------
    tuple of float
        ``(β₁, β₂)``.
    """
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{name} must be a pair (β1, β2), got {betas!r}")
    return tuple(check_real(b, f"{name}[{i}]", nonnegative=True, below=1.0) for i, b in enumerate(betas))


HALF_PRECISION_POLICY = (
    "the library computes in float32 or float64 only: in half precision Adam's ε = 1e-8 underflows (float16's "
    "smallest number is 6e-8), so its first step divides by zero and gives NaN, the trainers have no loss "
    "scaling, and torch's CPU linear algebra has no half-precision kernels; use torch.float32"
)


def check_dtype(dtype: Any, name: str = "dtype"):
    """The precision of a computation: ``torch.float32`` or ``torch.float64``.

    Half precision (``torch.float16``, ``torch.bfloat16``) and the float8 types are refused with a
    ``ValueError`` that says why (:data:`HALF_PRECISION_POLICY`): Adam's ε underflows, there is no loss
    scaling, and the CPU has no half-precision linear algebra.  Inputs *given* in half precision are another
    matter: their values are exact in float64 and are accepted as values (:func:`tensor_as_numpy`).

    Parameters
    ----------
    dtype : torch.dtype
        The argument (``TypeError`` for anything but a ``torch.dtype``, e.g. a string or a NumPy dtype).
    name : str
        Its name in the error message.

    Returns
    -------
    torch.dtype
        ``dtype``.
    """
    import torch

    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a torch dtype, torch.float32 or torch.float64, got "
                        f"{type(dtype).__name__} {dtype!r}")
    if not dtype.is_floating_point or dtype.is_complex:
        raise ValueError(f"{name} must be a real floating torch dtype (torch.float32 or torch.float64), "
                         f"got {dtype}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{name} {dtype} is not supported: {HALF_PRECISION_POLICY}")
    return dtype


def check_device(device: Any, name: str = "device", *, compute: bool = True) -> str:
    """A torch device that exists on this machine, given as a string (``"cpu"``, ``"cuda:0"``) or a
    ``torch.device``.

    Refused up front with a ``ValueError`` naming ``name`` and the device: a string torch cannot parse, a
    CUDA or MPS device when this torch has none available (or an index beyond the devices present), any
    other accelerator that is not available, and — when ``compute`` — the ``"meta"`` device, which holds
    shapes without values.  An int (torch reads it as a CUDA index) or ``None`` is a ``TypeError``.

    Parameters
    ----------
    device : str or torch.device
        The argument.
    name : str
        Its name in the error message.
    compute : bool, optional
        Whether values are computed there (then ``"meta"`` is refused).

    Returns
    -------
    str
        The device as torch spells it (``"cpu"``, ``"cuda:0"``).
    """
    import torch

    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError) as err:
            raise ValueError(f"{name} {device!r} is not a torch device ({err})") from None
    else:
        raise TypeError(f"{name} must be a string such as 'cpu' or 'cuda:0', or a torch.device; got "
                        f"{type(device).__name__} {device!r}")
    kind, text = dev.type, device if isinstance(device, str) else str(dev)
    index = dev.index
    if isinstance(device, str) and ":" in device:  # torch wraps large indices around ("cuda:999" → -25)
        tail = device.rsplit(":", 1)[1].strip()
        index = int(tail) if tail.lstrip("-").isdigit() else index
    if kind == "cpu":
        return text
    if kind == "meta":
        if compute:
            raise ValueError(f"{name} {text!r} cannot compute: the meta device holds shapes without values; "
                             f"use 'cpu' or an available accelerator")
        return text
    if kind == "cuda":
        if not torch.cuda.is_available():
            why = "this torch is built without CUDA" if torch.version.cuda is None else "no CUDA device is visible"
            raise ValueError(f"{name} {text!r} is not available: {why} (torch.cuda.is_available() is False)")
        count = torch.cuda.device_count()
        if index is not None and not 0 <= index < count:
            raise ValueError(f"{name} {text!r} does not exist: this machine has {count} CUDA device(s), "
                             f"'cuda:0'..'cuda:{count - 1}'")
        return text
    backend = getattr(torch.backends, kind, None) if kind == "mps" else getattr(torch, kind, None)
    available = getattr(backend, "is_available", None)
    try:
        ok = bool(available()) if callable(available) else False
    except Exception:  # noqa: BLE001 - a backend that cannot even answer is not available
        ok = False
    if not ok:
        raise ValueError(f"{name} {text!r} is not available on this machine (torch {torch.__version__})")
    return text


def tensor_as_numpy(x: Any, name: str):
    """A torch tensor's values as a NumPy array the caller's tensor does not share (other inputs unchanged).

    Detached (the caller's autograd graph is left alone), copied to the CPU, and exact: ``bfloat16``, which
    NumPy lacks, goes through float32 (every bfloat16 value is a float32 value); conjugate and negative views
    are resolved.  A tensor on the ``meta`` device has no values: ``ValueError`` naming ``name``.

    Parameters
    ----------
    x : object
        The argument; anything but a torch tensor is returned as it is.
    name : str
        Its name in the error message.

    Returns
    -------
    numpy.ndarray or object
        A fresh array for a tensor, else ``x``.
    """
    torch = sys.modules.get("torch")  # no tensor can exist before torch is imported
    if torch is None or not isinstance(x, torch.Tensor):
        return x
    if x.device.type == "meta":
        raise ValueError(f"{name} is a tensor on the meta device, which holds a shape ({tuple(x.shape)}) and no "
                         f"values")
    if x.layout != torch.strided:
        x = x.to_dense()
    x = x.detach()
    if x.dtype == torch.bfloat16:
        x = x.to(torch.float32)
    return x.cpu().resolve_conj().resolve_neg().numpy().copy()


def check_tensor(x: Any, name: str, *, ndim: int | None = None):
    """A real floating torch tensor to compute with: float32 and float64 tensors as they are (detached, so a
    result never joins the caller's autograd graph); integer and boolean tensors, NumPy arrays and lists of
    numbers become float64 tensors; half precision (see :func:`check_dtype`), complex values and ``meta``
    tensors are a ``ValueError``, anything else a ``TypeError``, each naming ``name``.

    Parameters
    ----------
    x : torch.Tensor or array_like
        The argument.
    name : str
        Its name in the error message.
    ndim : int, optional
        Required number of dimensions.

    Returns
    -------
    torch.Tensor
        float32 or float64, on ``x``'s device.
    """
    import torch

    if isinstance(x, torch.Tensor):
        if x.device.type == "meta":
            raise ValueError(f"{name} is a tensor on the meta device, which holds a shape and no values")
        if x.is_complex():
            raise ValueError(f"{name} must be real, got complex dtype {x.dtype}")
        if x.is_floating_point() and x.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"{name} has dtype {x.dtype}, which is not supported: {HALF_PRECISION_POLICY}")
        t = x.detach() if x.is_floating_point() else x.detach().to(torch.float64)
    else:
        if isinstance(x, (str, bytes)) or x is None:
            raise TypeError(f"{name} must be a tensor (or an array) of real numbers, got {type(x).__name__}")
        t = torch.as_tensor(check_array(x, name, finite=False))
    if ndim is not None and t.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(t.shape)}")
    return t


# ------------------------------------------------------------------------------------------- tokens
def check_tokens(tokens: Any, name: str, *, ndim: int, V: int | None = None, rows: int | None = None,
                 integer_dtype: bool = True) -> np.ndarray:
    """Token ids as int64: a non-empty 1-D stream (``ndim=1``) or n×t contexts (``ndim=2``, rows of one length t ≥ 1,
    ``rows`` of them on request), in ``[0, V)`` (``V`` given) or at least non-negative.

    With ``integer_dtype`` the ids must come as integers (an integer array or Python ints); otherwise
    integer-valued floats (``3.0``) are read as ids too.

    Parameters
    ----------
    tokens : array_like
        The argument.
    name : str
        Its name in the error message.
    ndim : int
        1 (a stream) or 2 (n×t contexts).
    V : int, optional
        Ids must lie in ``[0, V)``.
    rows : int, optional
        Required number of rows.
    integer_dtype : bool, optional
        Require integers by type, not only by value.

    Returns
    -------
    numpy.ndarray
        int64 ids.
    """
    if isinstance(tokens, (str, bytes)):
        raise TypeError(f"{name} must hold token ids (integers), got a {type(tokens).__name__}")
    _refuse_masked(tokens, name)
    if sp.issparse(tokens):  # ids stored sparsely (0 is a token like any other): made dense, as everywhere
        check_memory(8.0 * np.prod(tokens.shape, dtype=np.float64), f"{name} as a dense {tokens.shape} array")
        tokens = tokens.toarray()
    tokens = tensor_as_numpy(tokens, name)  # integer ids keep their dtype; floating ones are checked below
    if type(tokens).__module__.startswith("pandas"):  # a DataFrame iterates over its column labels, not its rows
        tokens = tokens.to_numpy()
    if ndim == 2 and not isinstance(tokens, np.ndarray):
        if not isinstance(tokens, Iterable):
            raise TypeError(f"{name} must be an n×t array of token ids, got {type(tokens).__name__}")
        tokens = list(tokens)
        lengths = {len(c) if hasattr(c, "__len__") else -1 for c in tokens}
        if len(lengths) > 1:
            raise ValueError(f"{name} have mismatched lengths {sorted(lengths)}; all must have the same length t")
    try:
        arr = np.asarray(tokens)
    except (ValueError, TypeError):  # ragged: check_array below says so
        arr = None
    if arr is not None and arr.dtype.kind in "iu":  # the common case, without a float64 round trip
        if arr.ndim != ndim:
            raise ValueError(f"{name} must be {ndim}-D, got an array of shape {arr.shape}")
        if arr.size and int(arr.max()) >= 2**62:  # checked in the ids' own dtype: uint64 never wraps round
            raise ValueError(f"{name} must be below 2^62, found {int(arr.max())}")
        arr = arr.astype(np.int64)  # always a copy
    else:
        checked = check_array(tokens, name, ndim=ndim, integer=True)
        if checked.size and np.abs(checked).max() >= 2**62:
            raise ValueError(f"{name} must be below 2^62, found {checked[np.abs(checked) >= 2**62][0]:g}")
        if integer_dtype and checked.size and not _all_integer_typed(arr):
            raise ValueError(f"{name} must be integers (token ids), got {arr.dtype} values")
        arr = checked.astype(np.int64)
    if arr.size == 0 or (ndim == 2 and arr.shape[1] == 0):
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows (one per context), got shape {arr.shape}")
    if arr.min() < 0:
        raise ValueError(f"{name} must be non-negative token ids, found {arr.min()}")
    if V is not None and arr.max() >= V:
        raise ValueError(f"{name}: token {arr.max()} is out of range: tokens must lie in [0, V={V})")
    return arr


def _all_integer_typed(tokens: Any) -> bool:
    """Whether every entry of a (nested) sequence or array is an integer by type, not merely by value."""
    arr = np.asarray(tokens)
    if arr.dtype.kind in "iu":
        return True
    if arr.dtype.kind != "O":
        return False
    return all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in arr.ravel())


def check_vocab(vocab: Any, name: str = "vocab", V: int | None = None) -> list[str]:
    """A vocabulary: a list of distinct strings (token id → word), ``V`` of them on request.

    Parameters
    ----------
    vocab : sequence of str
        The argument.
    name : str
        Its name in the error message.
    V : int, optional
        Required length.

    Returns
    -------
    list of str
        The words.
    """
    if isinstance(vocab, (str, bytes)) or not isinstance(vocab, Sequence):
        raise TypeError(f"{name} must be a list of words (str), got {type(vocab).__name__}")
    bad = [w for w in vocab if not isinstance(w, str)]
    if bad:
        raise TypeError(f"{name} must hold words (str), found {type(bad[0]).__name__} {bad[0]!r}")
    if len(set(vocab)) != len(vocab):
        raise ValueError(f"{name} must hold distinct words (one per token id)")
    if V is not None and len(vocab) != V:
        raise ValueError(f"{name} has {len(vocab)} words, expected V={V} (one per token id)")
    return list(vocab)


def check_generator(generator: Any, name: str = "generator"):
    """A ``torch.Generator`` (``TypeError`` for anything else, a NumPy generator included).

    Parameters
    ----------
    generator : object
        The argument.
    name : str
        Its name in the error message.

    Returns
    -------
    torch.Generator
        ``generator``.
    """
    import torch

    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator, e.g. torch.Generator().manual_seed(seed); "
                        f"got {type(generator).__name__}")
    return generator


# ------------------------------------------------------------------------------------------- memory
def available_memory() -> int:
    """Bytes of memory available to a new allocation: ``MemAvailable`` on Linux (free pages elsewhere), and no more
    than the process's address-space limit (``ulimit -v``) leaves.

    Returns
    -------
    int
        Bytes.
    """
    avail = _system_available()
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm") as f:
                used = int(f.read().split()[0]) * int(os.sysconf("SC_PAGE_SIZE"))
            avail = min(avail, max(int(soft) - used, 0))
    except (ImportError, OSError, ValueError):  # pragma: no cover - not Linux
        pass
    return avail


def _system_available() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    try:  # pragma: no cover - not Linux
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 2**63 - 1


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units (``17.6 GiB``).

    Parameters
    ----------
    n : float
        Bytes.

    Returns
    -------
    str
        For example ``17.6 GiB``.
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def check_memory(nbytes: float, what: str) -> None:
    """Refuse a computation whose dense objects need more than the memory available, before allocating them.

    Parameters
    ----------
    nbytes : float
        What the computation needs.
    what : str
        What it is, for the error message.

    Returns
    -------
    None
        Raises ``ValueError`` when it does not fit.
    """
    avail = available_memory()
    if nbytes > avail:
        raise ValueError(f"{what} needs about {format_bytes(nbytes)} of memory, more than the "
                         f"{format_bytes(avail)} available")


def check_ints(values: Iterable[Any], name: str, *, minimum: int | None = None) -> list[int]:
    """Each value of an iterable through :func:`check_int`.

    Parameters
    ----------
    values : iterable
        The arguments.
    name : str
        Its name in the error message.
    minimum : int, optional
        Lower bound of each.

    Returns
    -------
    list of int
        The values.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of integers, got {type(values).__name__}")
    return [check_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(values)]

