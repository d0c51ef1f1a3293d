import pytest

from eval import simulate


def test_perfect_drafts_are_all_accepted():
    target = list(range(13))  # token 0 comes from the prompt pass; 12 more to emit
    r = simulate(target, target, E=2, d=3, L=8, layer_cost=1.0, head_cost=0.0)
    # 12 tokens in steps of d+1 = 4 (3 accepted drafts + the bonus token): 3 steps, the last one drafting only 3
    assert r["accepted"] == 9 and r["drafted"] == 9
    assert r["cost"] == pytest.approx(3 * (3 * 2 + 8))
    assert r["autoregressive_cost"] == 12 * 8


def test_wrong_drafts_cost_more_than_plain_decoding():
    target = list(range(9))
    r = simulate([-1] * 9, target, E=2, d=2, L=8, layer_cost=1.0, head_cost=1.0)
    assert r["accepted"] == 0 and r["drafted"] == 7 * 2 + 1  # one token per step; the last step has 1 left to draft
    assert r["cost"] > r["autoregressive_cost"]


def test_acceptance_stops_at_the_first_mismatch():
    target = [0, 1, 2, 3, 4]
    draft = [0, 1, 9, 3, 4]  # token 2 mispredicted: token 3 is not accepted in that step even though it matches
    r = simulate(draft, target, E=1, d=4, L=4, layer_cost=1.0, head_cost=0.0)
    # step 1 drafts tokens 1..4, accepts 1, emits 1 + correction (2); step 2 drafts 3..4, accepts both
    assert r["drafted"] == 4 + 2 and r["accepted"] == 1 + 2
