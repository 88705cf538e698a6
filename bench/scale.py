"""The exact NTP-SVM★ (ntp_svm_logits) at real-text scale: every context of lengths 2..k of the shipped corpora.

Sources (offline, shipped with the library): *Alice* (``nl.load_text("alice")``) as bytes (V = 128, ASCII) and as
words (``nl.tokenize(text, vocab_size=512)``, V = 512); with ``--full`` also *Alice* and Python's documentation
(``nl.load_text("python-docs")``) as bytes together.  For each k the support matrix holds one column per distinct
context of each length 2..k (the m of the solver), merged inside the solver to its distinct supports.  Each point is
one fresh process: it builds S, solves once to a certified relative gap ≤ 1e-6, and times one SVD of the
V × (distinct supports) matrix (the "SVD equivalents").  The log-log plot of time against m and against the number
of distinct supports is written to ``bench/scale.png`` through ``ntpbook_lib.plotting``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from . import harness

HERE = Path(__file__).resolve().parent


def corpus_tokens(source: str) -> tuple[np.ndarray, int]:
    """(token ids, V) of a shipped corpus: "alice-bytes" (V=128), "alice-words" (V=512), "alice+docs-bytes"."""
    import ntpbook_lib as nl

    if source == "alice-words":
        return nl.tokenize(nl.load_text("alice"), vocab_size=512).tokens, 512
    texts = ["alice"] + (["python-docs"] if source == "alice+docs-bytes" else [])
    raw = "\n\n".join(nl.load_text(s) for s in texts).encode("ascii", "replace")  # non-ASCII characters as "?"
    return np.frombuffer(raw, dtype=np.uint8).astype(np.int64), 128


def supports(source: str, k: int) -> tuple[np.ndarray, int]:
    """The V×m support matrix of every distinct context of lengths 2..k, and the number of windows behind it."""
    import ntpbook_lib as nl

    tokens, V = corpus_tokens(source)
    blocks, windows = [], 0
    for t in range(2, k + 1):
        data, _ = nl.NTPData.from_tokens(tokens, t, V)
        blocks.append((data.P_sparse > 0).astype(np.float64).toarray())
        windows += data.n
    return np.hstack(blocks), windows


def solve_point(source: str, k: int) -> dict:
    import ntpbook_lib as nl
    from ntpbook_lib.nuclear_svm import _merge_equal_columns

    S, windows = supports(source, k)
    base = harness.peak_rss_mib()
    t0 = time.perf_counter()
    L, info = nl.ntp_svm_logits(S, return_info=True)
    elapsed = time.perf_counter() - t0
    peak = harness.peak_rss_mib()
    uniq = _merge_equal_columns(S)[0]
    svd, _ = harness.best_of(lambda: np.linalg.svd(uniq, full_matrices=False), repeats=2)
    return {"source": source, "k": k, "V": S.shape[0], "m": S.shape[1], "windows": windows,
            "distinct": info.distinct_supports, "time": elapsed, "iterations": info.iterations,
            "gap": info.relative_gap, "converged": info.converged, "proxy": info.certified_by_proxy,
            "violation": max(info.equality_violation, info.margin_violation), "svd": svd,
            "peak_rss": peak, "base_rss": base}


def run(quick: bool = False, full: bool = False, limit: float = 600.0, headline: bool = False) -> list[dict]:
    if headline:  # not repeated: the scale series runs once, with the thread setting of the run
        return []
    sources = ["alice-bytes", "alice-words"] + (["alice+docs-bytes"] if full else [])
    every = (2, 3) if quick else (2, 3, 4, 5, 6, 7, 8)
    print(f"contexts of lengths 2..k, every point a fresh process with {harness.threads()} thread(s); {harness.load()}")
    print(f"{'source':17} {'k':>2} {'V':>4} {'windows':>8} {'m':>7} {'distinct':>8} {'time [s]':>8} {'it.':>5} "
          f"{'gap':>8} {'max viol.':>9} {'SVD eq.':>7} {'peak RSS [MiB]':>20}")
    points = []
    for source in sources:
        # words (V = 512) take minutes a point on 2 shared cores: three points unless --full
        ks = every if full or quick or source != "alice-words" else (2, 5, 8)
        for k in ks:
            out = harness.run_in_child(solve_point, source, k, limit=limit, label=f"scale-{source}-{k}")
            if out.value is None:
                why = f"stopped at {limit:.0f} s" if out.timed_out else out.error
                print(f"{source:17} {k:2d} failed: {why}; log {out.log}", flush=True)
                break
            r = out.value
            points.append(r)
            print(f"{source:17} {k:2d} {r['V']:4d} {r['windows']:8d} {r['m']:7d} {r['distinct']:8d} {r['time']:8.2f} "
                  f"{r['iterations']:5d} {r['gap']:8.1e} {r['violation']:9.1e} {r['time'] / r['svd']:7.1f} "
                  f"{r['peak_rss']:7.0f} (before {r['base_rss']:.0f})" + ("" if r["converged"] else "  NOT CONVERGED"),
                  flush=True)
    if points and not quick:
        _growth(points)
        plot(points, HERE / "scale.png")
        (HERE / "scale.json").write_text(json.dumps(points, indent=1))
        print(f"plot: {HERE / 'scale.png'}; numbers: {HERE / 'scale.json'}")
    top = max(points, key=lambda r: r["m"]) if points else None
    return [{"solver": "ntp_svm_logits", "instance": f"{top['source']}, lengths 2–{top['k']}: m={top['m']}, "
             f"{top['distinct']} distinct supports", "time": top["time"], "alternative": None,
             "vs_alternative": None, "bound": "one SVD", "vs_bound": top["time"] / top["svd"]}] if top else []


def _growth(points: list[dict]) -> None:
    """Least-squares slopes of log time against log m and against log (distinct supports), per source."""
    for source in sorted({p["source"] for p in points}):
        ps = [p for p in points if p["source"] == source]
        if len(ps) < 3:
            continue
        t = np.log([p["time"] for p in ps])
        for key in ("m", "distinct"):
            slope = np.polyfit(np.log([p[key] for p in ps]), t, 1)[0]
            print(f"  {source}: time ∝ {key}^{slope:.2f} (log-log slope over k = 2..{ps[-1]['k']})")


def plot(points: list[dict], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import ntpbook_lib.plotting as npl

    npl.set_style()
    fig, ax = npl.subplots(1, 2, width=4.0, height=3.4)
    for col, (key, label) in enumerate((("m", "distinct contexts $m$"), ("distinct", "distinct supports"))):
        for source in sorted({p["source"] for p in points}):
            ps = [p for p in points if p["source"] == source]
            x = np.array([p[key] for p in ps], dtype=float)
            npl.curves(ax[0, col], x, {f"{source} (V={ps[0]['V']})": np.array([p["time"] for p in ps])},
                       styles={f"{source} (V={ps[0]['V']})": "o-"}, logx=True, logy=True, xlabel=label,
                       ylabel="time to a certified gap $10^{-6}$ [s]" if col == 0 else "")
        ax[0, col].legend()
        ax[0, col].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # decades only: no crowded labels
    fig.savefig(path, facecolor="white")


if __name__ == "__main__":  # python -m bench.scale: redraw bench/scale.png from bench/scale.json
    plot(json.loads((HERE / "scale.json").read_text()), HERE / "scale.png")
