"""The NTP data model: distinct contexts, their frequencies and sparse next-token distributions.

Next-token prediction (NTP) on ``n`` pairs ``(x_i, z_i)`` is soft-label classification over the
``m`` *distinct* contexts ``x̄_j``, each with empirical frequency ``π̂_j`` and next-token
distribution ``p̂_j`` over the vocabulary ``[V]`` (T24 §2, Z24 §2).  Matrices follow the papers:
``P = [p̂_1 … p̂_m]`` and the support matrix ``S`` are V×m.

Array arguments may come in any container :func:`~ntpbook_lib.validation.as_float64` accepts (NumPy of any
real dtype or layout, lists, pandas, torch tensors, SciPy sparse); each is read once, into a new float64
array, so arguments are never modified and results never share memory with them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from .validation import check_array, check_int, check_memory, check_real, check_tokens, register_data_type

__all__ = ["NTPData"]

_INT64_BITS = 63
_BYTES_PER_WINDOW = 112.0  # peak bytes per token of from_tokens, its copy of the tokens included (measured: tests)


def _check_counts(values: np.ndarray) -> None:
    """Counts must be finite and non-negative."""
    check_array(values, "counts")
    if np.any(values < 0):
        raise ValueError(f"counts must be non-negative; found {values[values < 0][0]}")


def _check_column_maxima(colmax: np.ndarray) -> None:
    empty = np.flatnonzero(colmax == 0)
    if empty.size:
        raise ValueError(f"counts: context column(s) {empty[:10].tolist()} have no counts (all-zero column)")


def _sparse_real(A: sp.sparray | sp.spmatrix, name: str) -> sp.csc_array:
    """A sparse matrix of real numbers as a NEW float64 CSC array in canonical form (sorted, summed duplicates, no
    stored zeros), sharing no memory with ``A``, which is left as it was; complex or non-numeric dtypes are
    refused."""
    if A.dtype.kind == "c":
        raise ValueError(f"{name} must be real, got complex dtype {A.dtype}")
    if A.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {A.dtype}")
    # the CSC copy: its column pointers (m + 1 of them), values and row indices, and the conversion's temporaries
    check_memory(8.0 * (A.shape[1] + 1) + 16.0 * A.nnz, f"{name} as a {A.shape[0]}×{A.shape[1]} CSC matrix")
    C = sp.csc_array(A, dtype=np.float64, copy=True)
    C.sum_duplicates()
    C.eliminate_zeros()
    return C


def _frequencies(colmax: np.ndarray, scaled_sums: np.ndarray, exact_sums: Callable[[], np.ndarray],
                 integral: bool) -> tuple[np.ndarray, int | None]:
    """π̂ ∝ column sums ``colmax_j · s_j`` and ``n``, without overflow or loss of the ratios: integer counts whose
    total float64 holds exactly are summed exactly; otherwise each sum is formed relative to the largest column
    maximum (a context ~1e600 times rarer than another gets π̂_j = 0, the float64 nearest its frequency)."""
    top = float(colmax.max())
    w = (colmax / top) * scaled_sums
    with np.errstate(over="ignore"):
        total = top * float(w.sum())
    if integral and total < 2**53:
        sums = exact_sums()
        n = int(sums.sum())
        return sums / n, n
    return w / w.sum(), None


@register_data_type
class NTPData:
    """Distinct contexts with frequencies ``pi`` (m,) and next-token distributions ``P`` (V×m), T24 §2.

    ``P`` may be given dense (any container :func:`~ntpbook_lib.validation.as_float64` accepts) or as a
    ``scipy.sparse`` matrix; language data (m up to 10^5 and more) stays sparse, and the dense ``P`` / ``S`` are
    only formed when asked for.  ``P`` and ``pi`` are copied: later edits of the caller's arrays cannot change
    the data, and the caller's arrays are never modified.
    ``n`` is the number of (context, next token) samples when the data came from counts.
    """

    def __init__(self, P: np.ndarray | sp.sparray | sp.spmatrix, pi: np.ndarray, n: int | None = None,
                 *, atol: float = 1e-9) -> None:
        atol = check_real(atol, "atol", nonnegative=True)
        if sp.issparse(P):
            Psp = _sparse_real(P, "P")
        else:
            Pd = check_array(P, "P", finite=False)
            if Pd.ndim != 2:
                raise ValueError(f"P must be a V×m matrix, got an array of shape {Pd.shape}")
            Psp = sp.csc_array(Pd)
            Psp.sum_duplicates()
            Psp.eliminate_zeros()
        pi = check_array(pi, "pi", finite=False)
        V, m = Psp.shape
        if pi.shape != (m,):
            raise ValueError(f"pi has shape {pi.shape} but P has m = {m} columns; pi must have shape ({m},)")
        if V < 1 or m < 1:
            raise ValueError(f"P must have at least one row and one column, got shape {Psp.shape}")
        vals = Psp.data
        if not np.all(np.isfinite(vals)):
            raise ValueError("P has non-finite entries")
        if np.any(vals < 0):
            j = int(np.searchsorted(Psp.indptr, np.flatnonzero(vals < 0)[0], side="right") - 1)
            raise ValueError(f"P has negative entries (column j={j})")
        colsum = np.asarray(Psp.sum(axis=0)).ravel()
        bad = np.flatnonzero(np.abs(colsum - 1.0) > atol)
        if bad.size:
            raise ValueError(
                f"column j={bad[0]} of P is not a distribution: it sums to {colsum[bad[0]]:.12g} "
                f"({bad.size} bad column(s) in all)")
        if not np.all(np.isfinite(pi)) or np.any(pi < 0):
            raise ValueError("pi must be finite and non-negative")
        if abs(pi.sum() - 1.0) > atol:
            raise ValueError(f"pi must sum to 1, it sums to {pi.sum():.12g}")
        self.P_sparse = Psp
        self.pi = pi
        self.n = None if n is None else check_int(n, "n", minimum=1)

    # ----------------------------------------------------------------- derived objects
    @property
    def V(self) -> int:
        """Vocabulary size."""
        return self.P_sparse.shape[0]

    @property
    def m(self) -> int:
        """Number of distinct contexts."""
        return self.P_sparse.shape[1]

    @cached_property
    def P(self) -> np.ndarray:
        """Dense V×m matrix of next-token distributions (Z24 §2)."""
        check_memory(8.0 * self.V * self.m, f"the dense V×m = {self.V}×{self.m} matrix P")
        return self.P_sparse.toarray()

    @cached_property
    def S(self) -> np.ndarray:
        """Dense V×m 0/1 support matrix, ``S[z, j] = 1`` iff ``p̂_{j,z} > 0`` (Z24 §2)."""
        return (self.P > 0).astype(np.float64)

    @cached_property
    def support_sizes(self) -> np.ndarray:
        """``S_j = |S_j|`` for each context j."""
        return np.diff(self.P_sparse.indptr).astype(np.int64)

    @property
    def supports(self) -> list[np.ndarray]:
        """The support set ``S_j`` (sorted token indices) of each context j."""
        ip, ix = self.P_sparse.indptr, self.P_sparse.indices
        return [ix[ip[j]:ip[j + 1]] for j in range(self.m)]

    @cached_property
    def context_entropies(self) -> np.ndarray:
        """Per-context entropy ``−Σ_z p̂_{j,z} log p̂_{j,z}`` in nats."""
        v = self.P_sparse.data
        per_entry = -v * np.log(v)
        return np.add.reduceat(per_entry, self.P_sparse.indptr[:-1]) if v.size else np.zeros(self.m)

    @cached_property
    def entropy(self) -> float:
        """Entropy lower bound ``H = −Σ_j π̂_j Σ_z p̂_{j,z} log p̂_{j,z}`` in nats (T24 eq. 3)."""
        return float(self.pi @ self.context_entropies)

    def __repr__(self) -> str:
        s = self.support_sizes
        return (f"NTPData(V={self.V}, m={self.m}, n={self.n}, S_j in {s.min()}..{s.max()} "
                f"(mean {s.mean():.2f}), H={self.entropy:.4f})")

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_counts(cls, counts: np.ndarray | sp.sparray | sp.spmatrix) -> "NTPData":
        """Data from a V×m matrix of counts ``n π̂_j p̂_{j,z}``: π̂ ∝ column sums (T24 §2).

        ``counts`` may be any container :func:`~ntpbook_lib.validation.as_float64` accepts, or a SciPy sparse
        matrix (kept sparse); it is read, never modified, and the data shares no memory with it.  The answer is
        scale-free: each column is divided by its own largest count before its sum is formed, and π̂ relative to
        the largest column maximum, so columns of counts near 1e300 and near 1e-300 are valid together.
        """
        if 0 in getattr(counts, "shape", (1,)):
            raise ValueError(f"counts must have at least one row and one column, got shape {counts.shape}")
        if sp.issparse(counts):
            # measured peak: about 60 bytes per stored count (the CSC copy, the scaled counts, P, and the copy
            # NTPData makes) and 40 per column
            check_memory(64.0 * counts.nnz + 48.0 * (counts.shape[1] + 1),
                         f"data from a {counts.shape[0]}×{counts.shape[1]} sparse matrix of {counts.nnz} counts")
            C = _sparse_real(counts, "counts")
            _check_counts(C.data)
            sizes = np.diff(C.indptr)
            colmax = np.zeros(C.shape[1])
            if C.data.size:
                full = sizes > 0
                colmax[full] = np.maximum.reduceat(C.data, C.indptr[:-1][full])
            _check_column_maxima(colmax)
            Cn = C.data / np.repeat(colmax, sizes)
            s = np.bincount(np.repeat(np.arange(C.shape[1]), sizes), Cn, C.shape[1])
            P = sp.csc_array((Cn / np.repeat(s, sizes), C.indices, C.indptr), shape=C.shape)
            integral = bool(np.all(C.data == np.round(C.data)))
            exact = lambda: np.bincount(np.repeat(np.arange(C.shape[1]), sizes), C.data, C.shape[1])  # noqa: E731
        else:
            C = check_array(counts, "counts", finite=False)
            if C.ndim != 2 or 0 in C.shape:
                raise ValueError(f"counts must be a V×m matrix with V, m ≥ 1, got an array of shape {C.shape}")
            _check_counts(C)
            colmax = C.max(axis=0, initial=0.0)
            _check_column_maxima(colmax)
            Cn = C / colmax
            s = Cn.sum(axis=0)
            P = Cn / s
            integral = bool(np.all(C == np.round(C)))
            exact = lambda: C.sum(axis=0)  # noqa: E731
        pi, n = _frequencies(colmax, s, exact, integral)
        return cls(P, pi, n)

    @classmethod
    def from_pairs(cls, contexts: Sequence[Hashable], next_tokens: Sequence[int],
                   V: int | None = None) -> tuple["NTPData", list[Hashable]]:
        """Data from n training pairs ``(x_i, z_i)``; returns it and the distinct contexts in order of first appearance.

        ``next_tokens``: integer ids in any container :func:`~ntpbook_lib.validation.check_tokens` accepts (read,
        never modified).
        """
        if isinstance(contexts, (str, bytes)) or not hasattr(contexts, "__len__"):
            raise TypeError(f"contexts must be a sequence of hashable contexts, got {type(contexts).__name__}")
        if isinstance(next_tokens, (str, bytes)) or not hasattr(next_tokens, "__len__"):
            raise TypeError(f"next_tokens must be a sequence of token ids, got {type(next_tokens).__name__}")
        if len(contexts) != len(next_tokens):
            raise ValueError(f"{len(contexts)} contexts but {len(next_tokens)} next tokens: contexts and next_tokens "
                             "must have one length")
        if len(contexts) == 0:
            raise ValueError("no training pairs given: contexts and next_tokens are empty")
        V = None if V is None else check_int(V, "V", minimum=1, maximum=2**62)
        z = check_tokens(next_tokens, "next_tokens", ndim=1, V=V, integer_dtype=False)
        V = int(z.max()) + 1 if V is None else V
        index: dict[Hashable, int] = {}
        j = np.fromiter((index.setdefault(c, len(index)) for c in contexts), dtype=np.int64, count=len(contexts))
        counts = sp.coo_array((np.ones(len(z)), (z, j)), shape=(V, len(index)))
        return cls.from_counts(counts), list(index)

    @classmethod
    def from_tokens(cls, tokens: Sequence[int] | np.ndarray, context_length: int,
                    V: int | None = None) -> tuple["NTPData", np.ndarray]:
        """Data from a token stream with contexts of fixed length t (vectorised).

        Every window ``tokens[i:i+t]`` is a context and ``tokens[i+t]`` its next token.  Returns the data
        (distinct contexts in lexicographic order) and an m×t array holding each distinct context.  The
        caller's ``tokens`` are read, never written (the count works on its own int64 copy).
        """
        tok = np.ascontiguousarray(_as_tokens(tokens, V))  # a fresh int64 copy
        t = check_int(context_length, "context_length", minimum=1)
        if tok.size <= t:
            raise ValueError(f"a stream of {tok.size} tokens has no window of context length {t}")
        V = int(tok.max()) + 1 if V is None else check_int(V, "V", minimum=1, maximum=2**62)
        n = tok.size - t
        check_memory(_BYTES_PER_WINDOW * tok.size,
                     f"counting the {n} windows of context_length {t} in {tok.size} tokens")
        ids, bits = None, _bits_per_token(V)
        if bits > _bits_per_token(tok.size):  # fewer tokens than ids: count dense ranks (same order), map back
            ids, tok = np.unique(tok, return_inverse=True)
            tok = np.ascontiguousarray(tok.reshape(-1), dtype=np.int64)
            bits = _bits_per_token(ids.size)
        if (t + 1) * bits <= _INT64_BITS:
            # one int64 per window, ordered as the windows are lexicographically, the next token in the low bits:
            # sorted once (in place), cut where the code changes
            code = _bit_slice(tok, n, None, bits, 0, (t + 1) * bits)
            code.sort()
            starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
            uniq = code[starts]
            del code
            z, ctx_of_pair = uniq & ((1 << bits) - 1), uniq >> bits
            new_ctx = np.r_[True, ctx_of_pair[1:] != ctx_of_pair[:-1]]
            m = int(np.count_nonzero(new_ctx))
            check_memory(8.0 * m * t * (2 if ids is not None else 1), f"the {m}×{t} array of distinct contexts")
            contexts = _unpack(ctx_of_pair[new_ctx], t, bits)
        else:  # the permutation that sorts the windows, and where a window and where its context change
            order, new_window, new_context = _sort_windows(tok, n, t + 1, bits)
            starts = np.flatnonzero(new_window)
            new_ctx = new_context[starts]
            first = order[starts]
            del order, new_window, new_context
            z = tok[first + t]
            m = int(np.count_nonzero(new_ctx))
            check_memory(8.0 * m * t * (2 if ids is not None else 1), f"the {m}×{t} array of distinct contexts")
            contexts = _windows_as_items(tok, t)[first[new_ctx]].view(np.int64).reshape(-1, t)
        if ids is not None:
            z, contexts = ids[z], ids[contexts]
        pair_counts = np.diff(np.r_[starts, n])
        # pairs are sorted by (context, token): the counts are already in CSC order; P and π̂ as from_counts forms
        # them (counts over column sums, column sums over n), without re-validating counts made here
        indptr = np.r_[np.flatnonzero(new_ctx), z.size]
        colsum = np.diff(np.r_[starts[new_ctx], n]).astype(np.float64)
        P = sp.csc_array((pair_counts / np.repeat(colsum, np.diff(indptr)), z, indptr), shape=(V, indptr.size - 1))
        return cls._valid(P, colsum / float(n), n), contexts

    @classmethod
    def _valid(cls, P: sp.csc_array, pi: np.ndarray, n: int) -> "NTPData":
        """Data from a float64 CSC ``P`` with sorted, distinct row indices, positive entries and unit column sums,
        and a distribution ``pi``, made so by a constructor here: what ``__init__`` would check holds already."""
        data = cls.__new__(cls)
        P.has_canonical_format = True
        data.P_sparse, data.pi, data.n = P, pi, n
        return data

    @classmethod
    def from_sequences(cls, sequences: Sequence[Sequence[int]], V: int | None = None,
                       min_length: int = 1) -> tuple["NTPData", list[tuple[int, ...]]]:
        """Autoregressive pooling (T24 App. C): every prefix ``x_{<t}`` of every sequence is a context.

        Prefixes shorter than ``min_length`` tokens are left out (``min_length=1`` keeps all but the empty one).
        Distinct contexts are returned in order of first appearance.
        """
        min_length = check_int(min_length, "min_length", minimum=1)
        if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__iter__"):
            raise TypeError(f"sequences must be a sequence of token sequences, got {type(sequences).__name__}")
        if hasattr(sequences, "ndim"):  # one array of equal-length sequences: NumPy, np.matrix, pandas, torch, SciPy
            sequences = list(check_tokens(sequences, "sequences", ndim=2, integer_dtype=False))
        seqs = [_as_tokens(seq, V, f"sequences[{i}]").tolist() if len(seq) else [] for i, seq in enumerate(sequences)]
        # the distinct prefixes are a trie: prefix s[:k+1] is the child (node of s[:k], s[k]); one dict step per
        # token.  The returned tuples hold at most Σ_i Σ_k k tokens: refused up front if they cannot fit.
        lengths = np.array([max(len(s) - min_length, 0) for s in seqs], dtype=np.float64)
        tuple_items = float(np.sum(lengths * (lengths + 2 * min_length - 1) / 2)) if lengths.size else 0.0
        check_memory(8.0 * tuple_items + 120.0 * float(lengths.sum()),
                     f"the prefixes of {len(seqs)} sequences as tuples ({tuple_items:.3g} tokens in all)")
        child: dict[tuple[int, int], int] = {}
        where: list[tuple[int, int]] = [(-1, 0)]  # node -> (sequence, length) of its first occurrence
        contexts: list[int] = []
        nxt: list[int] = []
        for i, s in enumerate(seqs):
            node = 0  # the empty prefix
            for k, z in enumerate(s):
                if k >= min_length:
                    contexts.append(node)
                    nxt.append(z)
                node = child.setdefault((node, z), len(where))
                if node == len(where):
                    where.append((i, k + 1))
        if not contexts:
            raise ValueError(f"sequences: no sequence is longer than min_length = {min_length}")
        data, nodes = cls.from_pairs(contexts, nxt, V)
        return data, [tuple(seqs[where[u][0]][:where[u][1]]) for u in nodes]


def _as_tokens(tokens: Sequence[int] | np.ndarray, V: int | None, name: str = "tokens") -> np.ndarray:
    """Token ids as a new int64 array: a non-empty 1-D array of non-negative integers below ``V`` (and below
    2^62), read by :func:`~ntpbook_lib.validation.check_tokens` (every container; ids range-checked in their own
    dtype, so an unsigned id beyond int64 is refused by value instead of wrapping round).  The result never
    shares memory with ``tokens``."""
    if V is not None:
        V = check_int(V, "V", minimum=1, maximum=2**62)
    return check_tokens(tokens, name, ndim=1, V=V, integer_dtype=False)


def _bits_per_token(V: int) -> int:
    return max(1, int(V - 1).bit_length())


def _unpack(code: np.ndarray, k: int, bits: int) -> np.ndarray:
    mask = (1 << bits) - 1
    out = np.empty((k, code.size), dtype=np.int64)
    for c in range(k):
        out[c] = (code >> (bits * (k - 1 - c))) & mask
    return out.T


def _bit_slice(tok: np.ndarray, n: int, starts: np.ndarray | None, bits: int, lo: int, hi: int) -> np.ndarray:
    """Bits ``[lo, hi)`` (``hi − lo ≤ 63``) of windows of ``tok`` read as one bit string, first token most
    significant: of every window ``tok[i:]``, ``i < n``, when ``starts`` is None, else of the windows starting at
    ``starts``.  A token read whole costs two passes (shift, or); only a split token is shifted and masked."""
    size = n if starts is None else starts.size
    code = np.zeros(size, dtype=np.int64)
    part = np.empty_like(code)  # one buffer, no temporaries of n entries per token
    for c in range(lo // bits, (hi - 1) // bits + 1):
        p0, p1 = max(lo, c * bits), min(hi, (c + 1) * bits)  # the part of token c inside [lo, hi)
        col = tok[c:c + n] if starts is None else np.take(tok, np.add(starts, c, out=part), out=part)
        if p1 - p0 < bits:  # a split token: its bits [p0, p1)
            np.right_shift(col, (c + 1) * bits - p1, out=part)
            np.bitwise_and(part, (1 << (p1 - p0)) - 1, out=part)
            col = part
        np.left_shift(code, p1 - p0, out=code)
        np.bitwise_or(code, col, out=code)
    return code


def _windows_as_items(tok: np.ndarray, t: int) -> np.ndarray:
    """The windows ``tok[i:i+t]`` of a contiguous int64 array as one opaque item each, without a copy: indexing it
    copies each window whole (about 1.5 times as fast as indexing a sliding-window view)."""
    return np.ndarray(shape=(tok.size - t + 1,), dtype=np.dtype((np.void, 8 * t)), buffer=tok, strides=(8,))


def _next_end(start: int, width: int, total: int, ctx_bits: int) -> int:
    """End of the chunk of bits after ``start``: ``width ≥ 1`` bits at most, never past the row's ``total`` bits,
    and never across the end ``ctx_bits`` of the context.  It is always past ``start`` when ``start < total``."""
    end = min(total, start + max(width, 1))
    return ctx_bits if start < ctx_bits < end else end


def _sort_windows(tok: np.ndarray, n: int, width: int, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The permutation that sorts the n windows ``tok[i:i+width]`` (longer than 63 bits) lexicographically, and for
    the sorted windows the marks ``new_row`` (it differs from the one before) and ``new_ctx`` (it differs without
    its last token).

    The first ``63 − ⌈log₂ n⌉`` bits of each window, never more than its context, are packed above its index and
    sorted (one sort of int64, about three times as fast as an argsort).  Those bits lie within the context, so a
    window whose first bits occur once differs from both neighbours, with and without its last token.  Only the
    runs of equal first bits (a repeated prefix of several tokens, so few) are sorted on the rest of their bits by
    :func:`_refine_sorted`, keyed by their run.
    """
    total = width * bits
    ibits = _bits_per_token(n)
    end = _next_end(0, _INT64_BITS - ibits, total, total - bits)  # ibits ≤ 62: at least one bit
    code = _bit_slice(tok, n, None, bits, 0, end)
    np.left_shift(code, ibits, out=code)
    np.bitwise_or(code, np.arange(n, dtype=np.int64), out=code)
    code.sort()
    order = code & ((1 << ibits) - 1)
    np.right_shift(code, ibits, out=code)
    same = code[1:] == code[:-1]
    del code
    new_row = np.empty(n, dtype=bool)
    new_row[0] = True
    np.logical_not(same, out=new_row[1:])
    new_ctx = new_row.copy()
    tied = np.flatnonzero(np.r_[same, False] | np.r_[False, same])  # the runs of equal first bits
    del same
    if tied.size:
        run = np.cumsum(new_row[tied])  # ascending, so sorting by (run, rest) keeps every run in its place
        order[tied], new_row[tied], new_ctx[tied] = _refine_sorted(run, order[tied], tok, bits, end, total)
    return order, new_row, new_ctx


def _refine_sorted(code: np.ndarray, starts: np.ndarray, tok: np.ndarray, bits: int, end: int,
                   total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The windows starting at ``starts``, of ``total`` bits, sorted lexicographically, given ascending int64
    ``code`` that orders them by their first ``end`` bits (``end`` at most the context's ``total − bits``); returns
    the sorted starts and the marks ``new_row`` and ``new_ctx`` as :func:`_sort_windows` does.

    The remaining bits are read at most 63 at a time.  Before each chunk the codes are replaced by their dense
    rank r (fewer than n values), which keeps the order and leaves ``63 − bit_length(r_max) ≥ 1`` bits for the
    chunk; then only runs of equal rank can be out of order, and only those are sorted again.  A chunk never
    crosses the end of the context, where the marks of equal contexts are read off.  Each pass moves ``end`` by
    at least one bit, so the loop ends after at most ``total`` passes.
    """
    ctx_bits = total - bits
    new_ctx = None
    while True:
        if end == ctx_bits:
            new_ctx = np.r_[True, code[1:] != code[:-1]]
        if end >= total:
            break
        same = code[1:] == code[:-1]
        rank = np.r_[0, np.cumsum(~same)]
        start, end = end, _next_end(end, _INT64_BITS - int(rank[-1]).bit_length(), total, ctx_bits)
        code = (rank << (end - start)) | _bit_slice(tok, 0, starts, bits, start, end)
        tied = np.flatnonzero(np.r_[same, False] | np.r_[False, same])  # the runs of equal rank
        if tied.size:
            sub = np.argsort(code[tied])
            code[tied], starts[tied] = code[tied][sub], starts[tied][sub]
    return starts, np.r_[True, code[1:] != code[:-1]], new_ctx
