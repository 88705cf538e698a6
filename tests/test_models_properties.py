"""The networks train, record consistent metrics and reproduce bitwise."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ntpbook_lib as nl

from fuzz_support import _lang, _ref, _tiny, _train, covers


@covers("TinyTransformer", "ContextMLP", "ContextLSTM", "train_model")
@settings(max_examples=6, deadline=None)
@given(st.sampled_from(["transformer", "mlp", "lstm"]), st.sampled_from(["adamw", "sgd"]),
       st.sampled_from([None, 4]))
def test_networks_train_and_their_metrics_are_consistent(kind, optimizer, batch_size):
    lang = _lang()
    h = _train(_tiny(kind), steps=2, optimizer=optimizer, batch_size=batch_size, snapshots=[0, 2], lr=1e-2)
    assert np.all(h.excess >= 0) and np.all(np.isfinite(h.norm_W)) and set(h.snapshots) == {0, 2}
    assert h.W.shape == (lang.data.V, 4) and h.H.shape == (4, lang.data.m)
    logits = _tiny(kind)(torch.as_tensor(lang.contexts))
    assert logits.shape == (lang.data.m, lang.data.V) and bool(torch.isfinite(logits).all())
    h2 = _train(_tiny(kind), steps=2, optimizer=optimizer, batch_size=batch_size, snapshots=[0, 2], lr=1e-2)
    assert np.array_equal(h.W, h2.W) and np.array_equal(h.H, h2.H)  # seeded: bitwise the same
    with pytest.raises(ValueError, match="overflow"):
        _train(_tiny(kind), steps=2, optimizer="sgd", lr=1e30)
    with pytest.raises(ValueError, match="range of torch.float32"):
        _train(_tiny(kind), steps=2, lr=1e300)
    with pytest.raises(ValueError, match="lie in"):
        nl.train_model(_tiny(kind), lang.data, np.full_like(lang.contexts, 30), 1, ref=_ref(lang.data),
                       progress=False)


def test_every_network_is_an_NTPNetwork_with_a_V_by_d_decoder():
    from ntpbook_lib.models import NTPNetwork

    for net in (nl.TinyTransformer(7, d=4), nl.ContextMLP(7, 2, d=4), nl.ContextLSTM(7, d=4)):
        assert isinstance(net, NTPNetwork) and tuple(net.W.shape) == (7, 4)
    with pytest.raises(NotImplementedError):
        NTPNetwork(7, 4).embed(torch.zeros((1, 2), dtype=torch.int64))
