"""The one training loop: the optimizer vocabulary, the extra hook, and that all three trainers use it."""

import numpy as np
import pytest
import torch

import ntpbook_lib as nl
from ntpbook_lib.loop import (
    GradientDescent,
    NormalizedGradientDescent,
    check_extra,
    check_optimizer,
    make_optimizer,
    recorded_loop,
)
from ntpbook_lib.models import TinyTransformer
from ntpbook_lib.runtime import schedule


def _data(seed=0):
    return nl.random_ntp_data(6, 8, 2, rng=np.random.default_rng(seed), max_count=4)


def test_gradient_descent_is_the_closed_form_step():
    p = torch.tensor([1.0, -2.0], dtype=torch.float64)
    p.grad = torch.tensor([0.5, 0.25], dtype=torch.float64)
    GradientDescent([p], 0.1).step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.05, -2.0 - 0.025], rtol=0, atol=1e-15)
    q = torch.tensor([1.0, -2.0], dtype=torch.float64)
    q.grad = torch.tensor([0.5, 0.25], dtype=torch.float64)
    GradientDescent([q], 0.1, weight_decay=0.5).step()  # p − η(g + λp)
    np.testing.assert_allclose(q.numpy(), [1.0 - 0.1 * 1.0, -2.0 - 0.1 * (0.25 - 1.0)], rtol=1e-15)


def test_normalized_gradient_descent_takes_steps_of_length_lr_over_all_parameters():
    a, b = torch.zeros(3, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    a.grad, b.grad = torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 4.0], dtype=torch.float64)
    NormalizedGradientDescent([a, b], 0.7).step()
    length = float(torch.sqrt((a * a).sum() + (b * b).sum()))
    np.testing.assert_allclose(length, 0.7, rtol=1e-14)
    np.testing.assert_allclose(b.numpy(), [0.0, -0.7 * 4 / 5], rtol=1e-14)


def test_optimizer_names_and_factories():
    assert check_optimizer("gd", ("gd", "adam")) == "gd"
    assert check_optimizer("sgd", ("gd",), aliases={"sgd": "gd"}) == "gd"
    f = lambda params, lr: torch.optim.SGD(params, lr=lr)  # noqa: E731
    assert check_optimizer(f, ("gd",)) is f
    with pytest.raises(ValueError, match="optimizer must be 'gd', 'adam'"):
        check_optimizer("lbfgs", ("gd", "adam"))
    with pytest.raises(ValueError, match="method must be"):
        check_optimizer(3, ("gd",), "method")
    p = [torch.zeros(2, requires_grad=False)]
    for name, cls in [("gd", GradientDescent), ("ngd", NormalizedGradientDescent), ("adam", torch.optim.Adam),
                      ("adamw", torch.optim.AdamW)]:
        opt, label = make_optimizer(name, p, 0.1)
        assert isinstance(opt, cls) and label == name
    with pytest.raises(TypeError, match="must return a torch.optim.Optimizer"):
        make_optimizer(lambda params, lr: None, p, 0.1)


def test_check_extra():
    assert check_extra(None) == {}
    with pytest.raises(TypeError, match="mapping"):
        check_extra([np.sum])
    with pytest.raises(TypeError, match="strings"):
        check_extra({1: np.sum})
    with pytest.raises(TypeError, match=r"extra\['a'\]"):
        check_extra({"a": 3})


def test_recorded_loop_records_snapshots_and_extra():
    x = {"v": 0.0}

    def step(k):
        x["v"] += 1.0

    run = recorded_loop(step, lambda k: (np.array([x["v"]]),), lambda a: float(a[0]), steps=10,
                        record=schedule(10, 4), snapshots=[3], extra={"double": lambda a: 2 * a[0]})
    np.testing.assert_array_equal(run.rows, run.steps.astype(float))  # the state at step k is k
    np.testing.assert_array_equal(run.extra["double"], 2.0 * run.steps)
    assert run.snapshots[3][0][0] == 3.0 and run.state[0][0] == 10.0 and run.seconds >= 0


def test_train_linear_extra_is_evaluated_on_the_current_decoder():
    data = _data()
    H = nl.gaussian_embeddings(5, data.m, rng=np.random.default_rng(1))
    h = nl.train_linear(data, H, "gd", 0.5, 50, n_records=6,
                        extra={"norm": lambda W: float(np.linalg.norm(W)), "dtype": lambda W: W.dtype == np.float64})
    np.testing.assert_allclose(h.extra["norm"], h.norm, rtol=1e-12)
    assert np.all(h.extra["dtype"] == 1.0) and h.extra["norm"].shape == h.steps.shape
    assert h.seconds > 0


def test_train_linear_accepts_an_optimizer_subclass_and_the_old_keyword():
    data = _data(1)
    H = nl.gaussian_embeddings(5, data.m, rng=np.random.default_rng(2))
    a = nl.train_linear(data, H, "gd", 0.3, 40, n_records=5)
    b = nl.train_linear(data, H, lambda params, lr: GradientDescent(params, lr), 0.3, 40, n_records=5)
    c = nl.train_linear(data, H, lr=0.3, steps=40, n_records=5, method="gd")
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.W, c.W)
    assert b.method == "<lambda>"


def test_train_ufm_and_train_model_take_extra_functions_of_W_and_H():
    data = _data(2)
    u = nl.train_ufm(data, 4, 1e-3, "gd", 0.5, 30, rng=np.random.default_rng(0), n_records=5,
                     extra={"nW": lambda W, H: float(np.linalg.norm(W)), "d": lambda W, H: H.shape[0]})
    np.testing.assert_allclose(u.extra["nW"], u.norm_W, rtol=1e-12)
    assert np.all(u.extra["d"] == 4)
    X = np.random.default_rng(3).integers(0, data.V, size=(data.m, 2))
    h = nl.train_model(TinyTransformer(data.V, d=8), data, X, "adamw", 1e-2, 5, n_records=3,
                       extra={"nH": lambda W, H: float(np.linalg.norm(H))})
    np.testing.assert_allclose(h.extra["nH"], h.norm_H, rtol=1e-6)
    assert h.method == "TinyTransformer adamw"


@pytest.mark.parametrize("optimizer", ["gd", "ngd", "adam"])
def test_train_ufm_optimizers_lower_the_loss(optimizer):
    data = _data(3)
    lr = {"gd": 1.0, "ngd": 0.05, "adam": 0.02}[optimizer]
    u = nl.train_ufm(data, 6, 1e-4, optimizer, lr, 200, rng=np.random.default_rng(1), n_records=5)
    assert u.excess[-1] < u.excess[0] and u.method == optimizer
