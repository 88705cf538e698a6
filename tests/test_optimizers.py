"""Each optimizer's step against its closed form; Newton–Schulz against the exact polar factor."""

import numpy as np
import pytest
import torch

import ntpbook_lib as nl
from ntpbook_lib.optimizers import (CONVERGENT_COEFFICIENTS, Muon, ScheduledAdam, SignDescent, SteepestDescent,
                                    newton_schulz, optimizer, polar_factor, train_minibatch)

rng = np.random.default_rng(0)
G0 = rng.standard_normal((3, 5))
W0 = rng.standard_normal((3, 5))


def _step(opt_cls, grads, **kw):
    W = torch.tensor(W0.copy())
    opt = opt_cls([W], **kw)
    for G in grads:
        W.grad = torch.tensor(G)
        opt.step()
    return W.numpy()


def _polar(G):
    U, s, Qt = np.linalg.svd(G, full_matrices=False)
    return U @ Qt, s


def test_sign_descent_and_decay():
    G1 = rng.standard_normal((3, 5))
    W = _step(SignDescent, [G0, G1], lr=0.1, decay=0.5)
    np.testing.assert_allclose(W, W0 - 0.1 * np.sign(G0) - 0.1 / np.sqrt(2) * np.sign(G1), rtol=1e-14)


def test_signum_momentum():
    G1 = rng.standard_normal((3, 5))
    W = _step(SignDescent, [G0, G1], lr=0.1, momentum=0.9)
    m1 = 0.1 * G0
    m2 = 0.9 * m1 + 0.1 * G1
    np.testing.assert_allclose(W, W0 - 0.1 * np.sign(m1) - 0.1 * np.sign(m2), rtol=1e-14)


@pytest.mark.parametrize("normalized", [True, False])
def test_steepest_descent_closed_forms(normalized):
    P, s = _polar(G0)
    cases = {"fro": (G0 / np.linalg.norm(G0), G0),
             "max": (np.sign(G0), np.abs(G0).sum() * np.sign(G0)),
             "spectral": (P, s.sum() * P)}
    for norm, (unit, scaled) in cases.items():
        W = _step(SteepestDescent, [G0], lr=0.3, norm=norm, normalized=normalized)
        np.testing.assert_allclose(W, W0 - 0.3 * (unit if normalized else scaled), rtol=1e-12, atol=1e-14)


def test_steepest_direction_attains_the_dual_norm():
    # ⟨G, Δ⟩ = ‖G‖_* at the unit direction Δ: ℓ1 for max, nuclear for spectral
    for norm, dual in (("max", np.abs(G0).sum()), ("spectral", np.linalg.norm(G0, "nuc"))):
        D = (W0 - _step(SteepestDescent, [G0], lr=1.0, norm=norm))
        np.testing.assert_allclose(np.sum(G0 * D), dual, rtol=1e-12)


def test_newton_schulz_against_polar_factor():
    G = torch.tensor(rng.standard_normal((6, 9)))
    P = polar_factor(G).numpy()
    np.testing.assert_allclose(P, _polar(G.numpy())[0], atol=1e-12)
    exact = newton_schulz(G, steps=60, coefficients=CONVERGENT_COEFFICIENTS, eps=0.0).numpy()
    np.testing.assert_allclose(exact, P, atol=1e-9)
    np.testing.assert_allclose(newton_schulz(G.T, steps=60, coefficients=CONVERGENT_COEFFICIENTS, eps=0.0).numpy(),
                               P.T, atol=1e-9)
    # Muon's coefficients: the same singular vectors, singular values only roughly 1
    X = newton_schulz(G).numpy()
    U, _, Qt = np.linalg.svd(G.numpy(), full_matrices=False)
    M = U.T @ X @ Qt.T
    np.testing.assert_allclose(M - np.diag(np.diag(M)), 0, atol=1e-10)
    assert 0.6 < np.diag(M).min() and np.diag(M).max() < 1.25


def test_muon_steps():
    G1 = rng.standard_normal((3, 5))
    W = _step(Muon, [G0, G1], lr=0.2, momentum=0.5, nesterov=False, exact=True)
    m1, m2 = G0, 0.5 * G0 + G1
    np.testing.assert_allclose(W, W0 - 0.2 * _polar(m1)[0] - 0.2 * _polar(m2)[0], atol=1e-12)
    W = _step(Muon, [G0, G1], lr=0.2, momentum=0.5)  # Nesterov, Newton–Schulz
    n1, n2 = G0 + 0.5 * m1, G1 + 0.5 * m2
    ns = lambda A: newton_schulz(torch.tensor(A)).numpy()  # noqa: E731
    np.testing.assert_allclose(W, W0 - 0.2 * ns(n1) - 0.2 * ns(n2), atol=1e-12)


def test_scheduled_adam_matches_torch_adam_then_decays():
    W = _step(ScheduledAdam, [G0], lr=0.1, eps=0.0)
    np.testing.assert_allclose(W, W0 - 0.1 * np.sign(G0), rtol=1e-12)  # Adam's first step is a sign step
    # with a repeated gradient Adam's second step is again a sign step, of size lr (k+1)^(-decay) = lr/√2
    Ws = _step(ScheduledAdam, [G0, G0], lr=0.1, decay=0.5, eps=0.0)
    np.testing.assert_allclose(Ws, W0 - 0.1 * (1 + 1 / np.sqrt(2)) * np.sign(G0), rtol=1e-12)


def test_factories_in_train_linear_and_bad_arguments():
    data = nl.random_ntp_data(V=5, m=4, support_size=2, rng=np.random.default_rng(1), n=50)
    H = nl.gaussian_embeddings(6, 4, np.random.default_rng(2))
    for name in ("gd", "ngd", "sign", "signum", "spectral", "muon", "adam"):
        h = nl.train_linear(data, H, optimizer(name, decay=0.5), 0.05, 200)
        assert h.method == name and h.excess[-1] < h.excess[0]
    gd = nl.train_linear(data, H, "gd", 0.5, 50)
    np.testing.assert_allclose(nl.train_linear(data, H, optimizer("gd"), 0.5, 50).W, gd.W, atol=1e-12)
    with pytest.raises(ValueError, match="name"):
        optimizer("lion")
    with pytest.raises(ValueError, match="norm"):
        SteepestDescent([torch.zeros(2, 2)], 0.1, norm="l3")
    with pytest.raises(ValueError, match="momentum"):
        Muon([torch.zeros(2, 2)], 0.1, momentum=1.0)


def test_minibatch_full_batch_is_gradient_descent_and_batches_are_unbiased():
    data = nl.random_ntp_data(V=5, m=4, support_size=2, rng=np.random.default_rng(1), n=50)
    H = nl.gaussian_embeddings(6, 4, np.random.default_rng(2))
    h = train_minibatch(data, H, optimizer("gd"), 0.5, 50)
    np.testing.assert_allclose(h.W, nl.train_linear(data, H, "gd", 0.5, 50).W, atol=1e-12)
    hb = train_minibatch(data, H, optimizer("gd"), 0.5, 50, batch_size=4, rng=np.random.default_rng(0),
                         extra={"norm": np.linalg.norm})
    assert hb.extra["norm"][0] == 0 and hb.extra["norm"][-1] > 0 and hb.excess[-1] < hb.excess[0]
