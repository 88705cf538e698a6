import copy

import numpy as np
import pytest
import torch

import ntpbook_lib as nl
from ntpbook_lib.models import ContextLSTM, ContextMLP, TinyTransformer


@pytest.fixture(scope="module")
def small():
    """Synthetic sentences (m=16, V=30) with their theory reference."""
    lang = nl.synthetic_sentences(np.random.default_rng(0))
    return lang, nl.ufm_reference(lang.data)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _models(V, t):
    return [TinyTransformer(V, d=16, n_layers=2, n_heads=2, generator=_gen()),
            TinyTransformer(V, d=16, n_layers=1, n_heads=4, positional=True, max_len=8, generator=_gen(1)),
            ContextMLP(V, t, d=16, generator=_gen(2)),
            ContextLSTM(V, d=16, generator=_gen(3))]


def _independent_metrics(W, H, data, ref):
    """Every recorded quantity, recomputed with loops and closed forms."""
    L = W @ H
    excess = 0.0
    L_in = np.zeros_like(L)
    PF = np.zeros_like(L)
    for j in range(data.m):
        lse = np.log(np.sum(np.exp(L[:, j] - L[:, j].max()))) + L[:, j].max()
        supp = np.flatnonzero(data.P[:, j])
        p = data.P[supp, j]
        excess += data.pi[j] * np.sum(p * (np.log(p) - (L[supp, j] - lse)))
        L_in[supp, j] = np.log(p) - np.log(p).mean()
        PF[supp, j] = L[supp, j] - L[supp, j].mean()

    def cosm(X):
        Xn = X / np.linalg.norm(X, axis=0)
        return Xn.T @ Xn

    def pearson(A, B):
        return np.corrcoef(A.ravel(), B.ravel())[0, 1]

    np.testing.assert_allclose(ref.L_in, L_in, atol=1e-12)
    return dict(excess=excess, norm_W=np.sqrt(np.sum(W**2)), norm_H=np.sqrt(np.sum(H**2)),
                dist_in=np.sqrt(np.sum((PF - L_in) ** 2)),
                cos_mm=np.sum(L * ref.L_mm) / np.sqrt(np.sum(L**2) * np.sum(ref.L_mm**2)),
                sim_W_theory=pearson(cosm(W.T), cosm(ref.W_mm.T)), sim_H_theory=pearson(cosm(H), cosm(ref.H_mm)),
                sim_W_proxy=pearson(cosm(W.T), cosm(ref.S_tilde.T)), sim_H_proxy=pearson(cosm(H), cosm(ref.S_tilde)))


@pytest.mark.parametrize("which", range(4))
def test_recorded_metrics_equal_a_recomputation(small, which):
    lang, ref = small
    model = _models(lang.data.V, 5)[which]
    h = nl.train_model(model, lang.data, lang.contexts, steps=30, lr=1e-2, ref=ref, dtype=torch.float64,
                       progress=False, n_records=5, snapshots=[0, 10])
    assert h.steps[-1] == 30 and h.excess.size == h.steps.size
    want = _independent_metrics(h.W, h.H, lang.data, ref)
    for k, v in h.final().items():
        assert v == pytest.approx(want[k], rel=1e-6, abs=1e-9), k
    # W and H are the network's own decoder and last-position embeddings: W H are its logits
    with torch.no_grad():
        logits = model(torch.as_tensor(lang.contexts)).numpy()
    np.testing.assert_allclose(h.W @ h.H, logits.T, rtol=1e-10, atol=1e-10)
    assert h.W.shape == (30, 16) and h.H.shape == (16, 16)
    assert set(h.snapshots) == {0, 10}
    assert h.excess[-1] < h.excess[0]


def _reference_loss(model, data, contexts):
    """−Σ_j π̂_j Σ_z p̂_{j,z} log softmax_z(W h_j), one context at a time."""
    total = 0.0
    for j in range(data.m):
        logits = model(torch.as_tensor(contexts[j:j + 1]))[0]
        logq = logits - torch.logsumexp(logits, 0)
        for z in np.flatnonzero(data.P[:, j]):
            total = total - data.pi[j] * data.P[z, j] * logq[z]
    return total


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_one_step_equals_a_manual_update(small, optimizer):
    lang, ref = small
    lr, wd, b1, b2, eps = 1e-2, 0.1, 0.9, 0.999, 1e-8
    model = TinyTransformer(30, d=8, n_layers=1, n_heads=2, generator=_gen(5)).double()
    twin = copy.deepcopy(model)
    nl.train_model(model, lang.data, lang.contexts, steps=1, lr=lr, weight_decay=wd, optimizer=optimizer,
                   ref=ref, dtype=torch.float64, progress=False)
    loss = _reference_loss(twin, lang.data, lang.contexts)
    grads = torch.autograd.grad(loss, list(twin.parameters()))
    with torch.no_grad():
        for (name, p), g, (_, q) in zip(twin.named_parameters(), grads, model.named_parameters()):
            if optimizer == "adamw":  # decoupled decay, then the bias-corrected first moment over the second
                m_hat, v_hat = (1 - b1) * g / (1 - b1), (1 - b2) * g * g / (1 - b2)
                want = p * (1 - lr * wd) - lr * m_hat / (torch.sqrt(v_hat) + eps)
            else:
                want = p - lr * (g + wd * p)
            torch.testing.assert_close(q, want, rtol=1e-9, atol=1e-12, msg=name)


@pytest.mark.parametrize("positional", [False, True])
def test_transformer_is_causal(positional):
    model = TinyTransformer(11, d=16, n_layers=3, n_heads=4, positional=positional, generator=_gen(7)).double()
    x = torch.randint(0, 11, (6, 7), generator=_gen(8))
    with torch.no_grad():
        base = model.states(x)
        for k in range(7):
            y = x.clone()
            y[:, k] = (y[:, k] + 1 + torch.arange(6)) % 11
            new = model.states(y)
            torch.testing.assert_close(new[:, :k], base[:, :k], rtol=0, atol=1e-13)  # earlier: unchanged
            assert (new[:, k:] - base[:, k:]).abs().amax(dim=2).min() > 1e-6  # this one and later: changed
        torch.testing.assert_close(model.embed(x), base[:, -1])


def test_final_embeddings_are_normalised_and_decoder_is_bias_free():
    for model in _models(9, 4):
        x = torch.randint(0, 9, (5, 4), generator=_gen())
        with torch.no_grad():
            h = model.embed(x)
            torch.testing.assert_close(model(x), h @ model.W.T)
        rms = h.pow(2).mean(dim=1).sqrt()
        torch.testing.assert_close(rms, torch.ones(5), atol=1e-4, rtol=0)  # RMSNorm with unit scale at init
        assert model.W.shape == (9, 16) and model.decoder.bias is None


def test_generator_makes_initialisation_reproducible():
    a, b = TinyTransformer(7, d=8, generator=_gen(3)), TinyTransformer(7, d=8, generator=_gen(3))
    c = TinyTransformer(7, d=8, generator=_gen(4))
    for p, q, r in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(a.W, c.W)


def test_minibatch_and_threads_restored(small):
    lang, ref = small
    before = torch.get_num_threads()
    h = nl.train_model(ContextMLP(30, 5, d=8, generator=_gen()), lang.data, lang.contexts, steps=50, lr=1e-2,
                       batch_size=4, generator=_gen(1), ref=ref, progress=False, num_threads=1)
    assert torch.get_num_threads() == before
    assert h.excess[-1] < h.excess[0]


def test_collapse_cosines_and_sim_corr():
    rng = np.random.default_rng(0)
    S = np.repeat(nl.random_supports(6, 4, 2, rng), 3, axis=1)
    data = nl.random_ntp_data(6, 12, 2, rng, max_count=3, S=S)
    H = rng.standard_normal((5, 12))
    c = nl.collapse_cosines(H, data)
    C = nl.corr(H)
    within = [C[a, b] for a in range(12) for b in range(12) if a != b and np.array_equal(S[:, a], S[:, b])]
    between = [C[a, b] for a in range(12) for b in range(12) if not np.array_equal(S[:, a], S[:, b])]
    assert c.within_mean == pytest.approx(np.mean(within)) and c.within_min == pytest.approx(min(within))
    assert c.between_mean == pytest.approx(np.mean(between)) and c.between_max == pytest.approx(max(between))
    Y = rng.standard_normal((3, 12))
    assert nl.sim_corr(H, Y) == pytest.approx(nl.sim(nl.corr(H), nl.corr(Y)), abs=1e-12)


def test_proxy_quality_on_a_certified_and_an_uncertified_support():
    S = nl.symmetric_supports(6, 2)  # Prop. 2: S̃ is optimal
    q = nl.proxy_quality(S, nl.ntp_svm_logits(S))
    assert q.certificate and abs(q.relative_gap) < 1e-6 and q.cos == pytest.approx(1.0, abs=1e-6)
    assert q.rank_mm == q.rank_proxy == 5
    rng = np.random.default_rng(1)
    for _ in range(50):
        S = nl.random_supports(8, 10, rng.integers(1, 5, size=10), rng)
        L = nl.ntp_svm_logits(S)
        q = nl.proxy_quality(S, L)
        assert q.relative_gap >= -1e-6  # S̃ is feasible, so never below the optimum
        if q.relative_gap > 1e-4:
            assert not q.certificate and q.direction_distance > 0
            break
    else:
        pytest.fail("no support matrix with a suboptimal proxy among 50 draws")


@pytest.mark.parametrize("change, msg", [
    (dict(contexts=np.zeros((3, 5), dtype=np.int64)), "one row per distinct context"),
    (dict(contexts=[[0] * 5] * 15 + [[0] * 4]), "mismatched lengths"),
    (dict(contexts=np.full((16, 5), 30)), r"lie in \[0, V=30\)"),
    (dict(contexts=np.zeros((16, 5))), "integers"),
    (dict(model=TinyTransformer(31, d=8)), "output size must be V=30"),
    (dict(model=torch.nn.Linear(5, 30)), "output size"),
    (dict(steps=0), "steps"),
    (dict(optimizer="lbfgs"), "optimizer"),
    (dict(batch_size=99), "batch_size"),
])
def test_bad_input(small, change, msg):
    lang, ref = small
    args = dict(model=TinyTransformer(30, d=8), data=lang.data, contexts=lang.contexts, steps=2, ref=ref,
                progress=False)
    args.update(change)
    with pytest.raises(ValueError, match=msg):
        nl.train_model(**args)


def test_models_reject_bad_contexts():
    with pytest.raises(ValueError, match="lie in"):
        TinyTransformer(5, d=4).embed(torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match="t=3"):
        ContextMLP(5, 3, d=4).embed(torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match="max_len"):
        TinyTransformer(5, d=4, positional=True, max_len=2).embed(torch.tensor([[0, 1, 2]]))
