// Draft policies: the adaptive schedule (grow by 2 after a fully accepted step, shrink by 1 after a rejection,
// within [1, d]) and the confidence stop; the fixed policy is the paper's constant d.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AdaptiveDraft, FixedDraft } from '../../server/engine/draftPolicy.js';

const proposal = (confidence: number) => ({ token: 1, confidence, probs: null });

void it('the fixed policy always drafts d and never stops early', () => {
  const fixed = new FixedDraft(5);
  fixed.record();
  assert.equal(fixed.budget(), 5);
  assert.equal(fixed.keepDrafting(), true);
});

void it('the adaptive budget follows recent acceptance within [1, d]', () => {
  const adaptive = new AdaptiveDraft(6);
  const budgets = [adaptive.budget()];
  for (const [drafted, accepted] of [[6, 2], [5, 0], [4, 4], [6, 6], [6, 1], [5, 1], [4, 0], [3, 0], [2, 0], [1, 0], [1, 1]]) {
    adaptive.record(drafted, accepted);
    budgets.push(adaptive.budget());
  }
  assert.deepEqual(budgets, [6, 5, 4, 6, 6, 5, 4, 3, 2, 1, 1, 3]);
});

void it('the adaptive draft stops when the draft doubts its own token', () => {
  const adaptive = new AdaptiveDraft(6, 0.5);
  assert.equal(adaptive.keepDrafting(proposal(0.9)), true);
  assert.equal(adaptive.keepDrafting(proposal(0.5)), true);
  assert.equal(adaptive.keepDrafting(proposal(0.49)), false);
});
