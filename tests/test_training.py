import numpy as np
import pytest

from ntpbook_lib import log_schedule, random_ntp_data, train_logits


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


def test_gd_linear_gradient_and_descent():
    import torch

    from ntpbook_lib import ce_loss, gaussian_embeddings, gd_linear

    rng = np.random.default_rng(1)
    data = random_ntp_data(6, 5, 2, rng, max_count=3)
    H = gaussian_embeddings(4, 5, rng)
    W0 = rng.standard_normal((6, 4))
    one = gd_linear(data, H, steps=1, lr=0.1, W0=W0)
    Wt = torch.tensor(W0, requires_grad=True)
    ce_loss(Wt @ torch.tensor(H), data).backward()  # independent gradient by autograd
    np.testing.assert_allclose(one.W, W0 - 0.1 * Wt.grad.numpy(), atol=1e-12)
    hist = gd_linear(data, H, steps=500, lr=0.5)
    assert np.all(np.diff(hist.excess) <= 1e-15)
    with pytest.raises(ValueError, match="d×m"):
        gd_linear(data, H.T, steps=1)
