// Draft policies: the adaptive schedule (grow by 2 after a fully accepted step, shrink by 1 after a rejection,
// within [0, d], a probe with 1 draft after PROBE_INTERVAL steps at 0) and the confidence stop; the fixed policy is
// the paper's constant d.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AdaptiveDraft, FixedDraft, PROBE_INTERVAL } from '../../server/engine/draftPolicy.js';

const proposal = (confidence: number) => ({ token: 1, confidence, probs: null });

void it('the fixed policy always drafts d and never stops early', () => {
  const fixed = new FixedDraft(5);
  fixed.record();
  assert.equal(fixed.budget(), 5);
  assert.equal(fixed.keepDrafting(), true);
});

void it('the adaptive budget follows recent acceptance within [0, d]', () => {
  const adaptive = new AdaptiveDraft(6);
  const budgets = [adaptive.budget()];
  for (const [drafted, accepted] of [[6, 2], [5, 0], [4, 4], [6, 6], [6, 1], [5, 1], [4, 0], [3, 0], [2, 0], [1, 1], [3, 0]]) {
    adaptive.record(drafted, accepted);
    budgets.push(adaptive.budget());
  }
  assert.deepEqual(budgets, [6, 5, 4, 6, 6, 5, 4, 3, 2, 1, 3, 2]);
});

void it('where drafts are always rejected it decodes plainly, probing with one draft now and then', () => {
  const adaptive = new AdaptiveDraft(2);
  adaptive.record(2, 0);
  adaptive.record(1, 0);
  assert.equal(adaptive.budget(), 0);
  for (let step = 1; step < PROBE_INTERVAL; step++) {
    adaptive.record(0, 0);
    assert.equal(adaptive.budget(), 0);
  }
  adaptive.record(0, 0);
  assert.equal(adaptive.budget(), 1, 'a probe');
  adaptive.record(1, 1);
  assert.equal(adaptive.budget(), 2, 'the probe was accepted: drafting resumes');
});

void it('the adaptive draft stops when the draft doubts its own token', () => {
  const adaptive = new AdaptiveDraft(6, 0.5);
  assert.equal(adaptive.keepDrafting(proposal(0.9)), true);
  assert.equal(adaptive.keepDrafting(proposal(0.5)), true);
  assert.equal(adaptive.keepDrafting(proposal(0.49)), false);
});
