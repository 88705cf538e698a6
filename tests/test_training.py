import numpy as np
import pytest

import torch

import ntpbook_lib as nl
from ntpbook_lib import ce_loss, gaussian_embeddings, log_schedule, random_ntp_data, train_linear, train_logits


def test_gd_on_logits_approaches_bound_while_norm_grows():
    data = random_ntp_data(8, 6, 3, np.random.default_rng(0), max_count=3)
    hist = train_logits(data, steps=3000, lr=4.0)
    assert np.all(hist.excess > 0)
    assert np.all(np.diff(hist.excess) < 0)
    assert np.all(np.diff(hist.norm[1:]) > 0)
    assert hist.excess[-1] < 1e-2 * hist.excess[0]


def test_log_schedule():
    s = log_schedule(10_000, 50)
    assert s[0] == 0 and s[-1] == 10_000 and np.all(np.diff(s) > 0)
    with pytest.raises(ValueError):
        log_schedule(0)


def _instance(seed, V=6, m=5, s=2, d=8):
    rng = np.random.default_rng(seed)
    return random_ntp_data(V, m, s, rng, max_count=3), gaussian_embeddings(d, m, rng), rng


def test_gd_step_is_the_autograd_gradient():
    data, H, rng = _instance(1)
    W0 = rng.standard_normal((6, 8))
    one = train_linear(data, H, "gd", lr=0.1, steps=1, init=W0)
    Wt = torch.tensor(W0, requires_grad=True)
    ce_loss(Wt @ torch.tensor(H), data).backward()  # independent gradient by autograd
    np.testing.assert_allclose(one.W, W0 - 0.1 * Wt.grad.numpy(), atol=1e-12)
    ngd = train_linear(data, H, "ngd", lr=0.1, steps=1, init=W0)
    g = Wt.grad.numpy()
    np.testing.assert_allclose(ngd.W, W0 - 0.1 * g / np.linalg.norm(g), atol=1e-12)


def test_gd_decreases_ce_monotonically_below_1_over_2L():
    """T24 Lemma 2: CE is L-smooth with L ≤ ½‖H diag(π̂) Hᵀ‖₂; GD with η ≤ 1/(2L) decreases it at every step."""
    data, H, rng = _instance(2, d=12)
    L = 0.5 * np.linalg.norm((H * data.pi) @ H.T, 2)
    for init in ("zero", "lecun"):
        hist = train_linear(data, H, "gd", lr=1 / (2 * L), steps=400, n_records=10_000, init=init, rng=rng)
        assert np.array_equal(hist.steps, np.arange(401))
        assert np.all(np.diff(hist.excess) < 0)


@pytest.mark.parametrize("method, lr", [("gd", 0.5), ("ngd", 0.05), ("adam", 0.05)])
def test_direction_approaches_ntp_svm(method, lr):
    """T24 Thm 2: cos(W_k − W*, W^mm) → 1 and P_F W_k → W*."""
    data, H, rng = _instance(3, V=8, m=10, s=3, d=14)
    hist = train_linear(data, H, method, lr=lr, steps=3000, init="lecun", rng=rng)
    assert hist.excess[-1] < 0.05 * hist.excess[0]
    assert hist.cos_shift_mm[-1] > 0.9
    assert hist.dist_F[-1] < 0.3 * hist.dist_F[0]
    assert hist.norm[-1] > hist.norm[1]


def test_alignment_at_the_limits():
    data, H, _ = _instance(4, V=8, m=10, s=3, d=14)
    ref = nl.implicit_bias_reference(data, H)
    a = nl.alignment(ref.W_star + 5 * ref.W_mm, data, H, ref)
    assert a.cos_shift_mm == pytest.approx(1, abs=1e-12)
    assert a.dist_F == pytest.approx(0, abs=1e-7)  # W^mm ∈ F^⊥ to the solver's tolerance
    mm = nl.alignment(ref.W_mm, data, H, ref)
    assert mm.cos_mm == pytest.approx(1, abs=1e-12)
    assert mm.margin == pytest.approx(1 / np.linalg.norm(ref.W_mm), rel=1e-6)  # the NTP margin of W^mm


def test_huge_norms_stay_finite():
    """Starting at ‖W‖ ~ 10^4 (logit gaps of thousands, off-support softmax underflows to 0), every method
    keeps the iterates and the metrics finite."""
    data, H, _ = _instance(5)
    ref = nl.implicit_bias_reference(data, H)
    W0 = ref.W_star + 1e4 * ref.W_mm / np.linalg.norm(ref.W_mm)
    for method in ("gd", "ngd", "adam"):
        hist = train_linear(data, H, method, lr=0.01, steps=300, init=W0, ref=ref)
        assert hist.norm[-1] > 9000
        for f in ("excess", "norm", "cos_mm", "cos_shift_mm", "dist_F", "margin"):
            assert np.all(np.isfinite(getattr(hist, f))), (method, f)
        assert np.all(hist.excess >= 0)  # CE − H, a sum of non-negative KL terms


def test_gradient_keeps_its_direction_when_the_loss_underflows():
    """At ‖W‖ ~ 100 along W^mm the out-of-support mass is ~1e-40: 1 − q_z rounds to 0, but the gradient must
    still sum to zero over the vocabulary in every column (Σ_v (q_v − p_v) = 0), so its rows sum to 0."""
    rng = np.random.default_rng(7)
    data = random_ntp_data(10, 30, 1, rng, max_count=3)  # one-hot: F = {0}
    H = gaussian_embeddings(40, 30, rng)
    ref = nl.implicit_bias_reference(data, H)
    W0 = 100 * ref.W_mm / nl.ntp_margin(ref.W_mm, data, H)  # every margin ≥ 100
    step = train_linear(data, H, "ngd", lr=1.0, steps=1, init=W0, ref=ref).W - W0
    assert np.linalg.norm(step) == pytest.approx(1.0)
    assert np.abs(step.sum(axis=0)).max() <= 1e-10


def test_custom_optimizer_and_bad_input():
    data, H, rng = _instance(6)
    hist = train_linear(data, H, lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), lr=0.1, steps=200)
    assert hist.excess[-1] < hist.excess[0]
    with pytest.raises(ValueError, match="d×m"):
        train_linear(data, H.T, steps=1)
    with pytest.raises(ValueError, match="rng"):
        train_linear(data, H, init="lecun", steps=1)
    with pytest.raises(ValueError, match="optimizer"):
        train_linear(data, H, "sgd", steps=1)
    with pytest.raises(ValueError, match="init"):
        train_linear(data, H, init=np.zeros((2, 2)), steps=1)


def test_small_problems_run_on_one_thread_and_restore_the_count():
    import torch

    from ntpbook_lib.runtime import SMALL_PROBLEM

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with nl.small_problem_threads("cpu", 1000):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with nl.small_problem_threads("cpu", SMALL_PROBLEM + 1):
            assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError):
            with nl.small_problem_threads("cpu", 10):
                raise RuntimeError("inside")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_cpu_threads_sets_and_restores_and_rejects_bad_counts():
    import torch

    before = torch.get_num_threads()
    with nl.cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with nl.cpu_threads(None):
        assert torch.get_num_threads() == before
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="positive integer"):
            with nl.cpu_threads(bad):
                pass
