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
