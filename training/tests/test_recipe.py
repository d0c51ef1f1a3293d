import math

import pytest

from layerskip.recipe import active_exits, early_exit_scales, layer_dropout_rates, normalised_scales


def test_layer_dropout_schedule_is_exponential_from_zero_to_pmax():
    rates = layer_dropout_rates(30, p_max=0.2)
    assert rates[0] == 0.0
    assert rates[-1] == pytest.approx(0.2)
    # D(l) = 2^(l/(L-1)) - 1: halfway through the stack the rate is (sqrt(2) - 1) * p_max
    assert layer_dropout_rates(3, p_max=0.2)[1] == pytest.approx((math.sqrt(2) - 1) * 0.2)
    assert rates[15] == pytest.approx(0.2 * (2 ** (15 / 29) - 1))
    assert all(a < b for a, b in zip(rates, rates[1:]))


def test_layer_dropout_from_scratch_ramps_up_over_training():
    assert layer_dropout_rates(8, 0.1, step=0, total_steps=100, from_scratch=True) == [0.0] * 8
    assert layer_dropout_rates(8, 0.1, step=99, total_steps=100, from_scratch=True) == pytest.approx(layer_dropout_rates(8, 0.1))


def test_early_exit_scales_increase_with_depth_and_normalise():
    e = early_exit_scales(6, e_scale=1.0)
    # e(l) = sum_{i<=l} i for l < L-1; last = L-1 + sum_{i<=L-2} i
    assert e == [0.0, 1.0, 3.0, 6.0, 10.0, 5 + 10.0]
    assert all(a < b for a, b in zip(e, e[1:]))
    s = normalised_scales(6, 1.0, [1, 3, 5])
    assert sum(s.values()) == pytest.approx(1.0)
    assert s[1] < s[3] < s[5]
    assert s[5] == pytest.approx(15 / (1 + 6 + 15))


def test_small_e_scale_leaves_most_weight_on_the_last_layer():
    s = normalised_scales(30, 0.1, list(range(30)))
    assert sum(s.values()) == pytest.approx(1.0)
    assert max(s, key=s.get) == 29


def test_rotational_curriculum_visits_every_layer_once_per_rotation():
    L, R = 30, 8
    seen = {l: 0 for l in range(L)}
    for step in range(R):
        exits = active_exits(L, step, "rotational", rotation=R)
        assert exits[-1] == L - 1  # the model's own output is always trained
        assert len(exits) - 1 in (3, 4)  # 29 early layers / 8
        for l in exits:
            seen[l] += 1
    assert all(seen[l] == 1 for l in range(L - 1))
    assert seen[L - 1] == R
    assert active_exits(L, 3, "rotational", rotation=R) == active_exits(L, 3 + R, "rotational", rotation=R)


def test_gradual_curriculum_enables_exits_from_the_top_down():
    L, T = 10, 100
    first = active_exits(L, 0, "gradual", total_steps=T)
    mid = active_exits(L, 24, "gradual", total_steps=T)
    late = active_exits(L, 60, "gradual", total_steps=T)
    assert first == [8, 9]
    assert set(first) < set(mid) < set(late)
    assert min(mid) > 0 and late == list(range(L))
