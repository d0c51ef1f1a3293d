// Draft policies, with step timings injected (no clock): the fixed policy is the paper's constant d; the adaptive one
// speculates only while its measured ms per token beats plain full steps, re-measures the other kind of step at the
// back-off schedule 8, 16, 32, 64, 64 ..., sizes speculative steps by recent acceptance within [1, d] and stops a
// draft at low confidence. DraftPolicies keeps the adaptive policy across generations while E, d and the threshold
// stay the same.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveDraft, DraftPolicies, FIRST_PROBE_INTERVAL, FixedDraft, MAX_PROBE_INTERVAL, type StepReport } from '../../server/engine/draftPolicy.js';

const proposal = (confidence: number) => ({ token: 1, confidence, probs: null });
const settings = (draftLength: number, exitLayer = 2, draftConfidenceThreshold = 0.4) => ({ exitLayer, draftLength, draftConfidenceThreshold });

/** A plain full step takes 10 ms for its one token. */
const PLAIN_MS = 10;
/** What one step costs and yields: a plain step when the budget is 0, else what `speculate` says. */
type Speculation = (budget: number, step: number) => { accepted: number; ms: number };
const slowSpeculation: Speculation = (budget) => ({ accepted: 0, ms: 2 * PLAIN_MS * budget }); // 20 ms per token drafted
const fastSpeculation: Speculation = (budget) => ({ accepted: budget, ms: PLAIN_MS * (1 + budget / 2) }); // all accepted

function report(budget: number, step: number, speculate: Speculation): StepReport {
  if (budget === 0) return { drafted: 0, accepted: 0, tokens: 1, ms: PLAIN_MS };
  const { accepted, ms } = speculate(budget, step);
  return { drafted: budget, accepted, tokens: accepted + 1, ms };
}

/** Runs `steps` steps under the policy; returns each step's budget. */
function run(policy: AdaptiveDraft, steps: number, speculate: Speculation, first = 0): number[] {
  const budgets: number[] = [];
  for (let step = first; step < first + steps; step++) {
    const budget = policy.budget();
    budgets.push(budget);
    policy.record(report(budget, step, speculate));
  }
  return budgets;
}

const indicesWhere = (budgets: number[], test: (budget: number) => boolean) =>
  budgets.flatMap((budget, step) => (test(budget) ? [step] : []));

/** Steps at which the kind not chosen since step `chosenAfter` is measured again: after 8, 16, 32, 64, 64 ... steps. */
function probeSteps(chosenAfter: number, count: number): number[] {
  const steps: number[] = [];
  let next = chosenAfter;
  for (let interval = FIRST_PROBE_INTERVAL; steps.length < count; interval = Math.min(MAX_PROBE_INTERVAL, 2 * interval)) {
    next += interval + 1;
    steps.push(next);
  }
  return steps;
}

void it('the fixed policy always drafts d and never stops early', () => {
  const fixed = new FixedDraft(5);
  fixed.record();
  assert.equal(fixed.budget(), 5);
  assert.equal(fixed.keepDrafting(), true);
});

void describe('adaptive draft', () => {
  void it('measures a speculative step, then a plain one, before it chooses', () => {
    const adaptive = new AdaptiveDraft(settings(3));
    assert.equal(adaptive.budget(), 3, 'the first step speculates');
    adaptive.record({ drafted: 3, accepted: 3, tokens: 4, ms: 12 });
    assert.equal(adaptive.budget(), 0, 'the second step is a plain full step, however well speculation did');
  });

  void it('where speculation is slower than plain steps, it takes plain steps and probes at 8, 16, 32, 64, 64 ... steps', () => {
    const budgets = run(new AdaptiveDraft(settings(3)), 400, slowSpeculation);
    const speculative = indicesWhere(budgets, (b) => b > 0);
    assert.deepEqual(speculative, [0, ...probeSteps(0, speculative.length - 1)]);
    assert.deepEqual(speculative, [0, 9, 26, 59, 124, 189, 254, 319, 384]);
  });

  void it('where speculation is faster, it keeps drafting, re-measuring plain steps at the same back-off', () => {
    const budgets = run(new AdaptiveDraft(settings(3)), 400, fastSpeculation);
    const plain = indicesWhere(budgets, (b) => b === 0);
    assert.deepEqual(plain, [1, ...probeSteps(1, plain.length - 1)]);
    assert.deepEqual(plain, [1, 10, 27, 60, 125, 190, 255, 320, 385]);
  });

  void it('a won probe brings drafting back and restarts the back-off', () => {
    const adaptive = new AdaptiveDraft(settings(3));
    // Speculation is slow for 100 steps, then every draft is accepted (a repetitive stretch of code).
    const speculate: Speculation = (budget, step) => (step < 100 ? slowSpeculation(budget, step) : fastSpeculation(budget, step));
    const budgets = run(adaptive, 400, speculate);
    const resumed = budgets.findIndex((b, step) => step >= 100 && b > 0 && budgets[step + 1] > 0);
    // Probes at 124 and 189 (rule 2); each weighs 1/2 against the estimate left by the slow steps.
    assert.equal(resumed, 189, 'drafting resumes at the second probe after the change');
    const plainAfter = indicesWhere(budgets, (b) => b === 0).filter((step) => step > resumed);
    assert.equal(plainAfter[0] - resumed, FIRST_PROBE_INTERVAL + 1, 'plain steps are probed again after 8 speculative steps');
    assert.ok(plainAfter.length <= 8, `${plainAfter.length} plain steps after drafting resumed`);
  });

  void it('turns to plain steps when speculation becomes the slower, without waiting for a probe', () => {
    const adaptive = new AdaptiveDraft(settings(3));
    const speculate: Speculation = (budget, step) => (step < 50 ? fastSpeculation(budget, step) : slowSpeculation(budget, step));
    const budgets = run(adaptive, 61, speculate);
    assert.deepEqual(budgets.slice(50, 52), [3, 2], 'two slow steps (all drafts rejected)');
    assert.deepEqual(budgets.slice(52), [0, 0, 0, 0, 0, 0, 0, 0, 1], 'then plain steps, and a probe 8 steps later');
  });

  void it('one step slowed by something else (a GC pause, another process) does not decide alone', () => {
    const adaptive = new AdaptiveDraft(settings(3));
    const speculate: Speculation = (budget, step) => {
      const { accepted, ms } = fastSpeculation(budget, step);
      return { accepted, ms: step === 20 ? 10 * ms : ms };
    };
    const budgets = run(adaptive, 30, speculate);
    assert.deepEqual(budgets.slice(19, 30), [3, 3, 3, 3, 3, 3, 3, 3, 0, 3, 3], 'speculating on, with the plain probe due at 27');
  });

  void it('sizes speculative steps by recent acceptance within [1, d]', () => {
    const adaptive = new AdaptiveDraft(settings(4));
    const budgets = [adaptive.budget()];
    // Speculation measured much faster than plain steps, so the steps below (fewer than a probe interval) speculate.
    adaptive.record({ drafted: 4, accepted: 1, tokens: 2, ms: 1 });
    adaptive.record({ drafted: 0, accepted: 0, tokens: 1, ms: 100 });
    for (const [drafted, accepted] of [[3, 0], [2, 0], [1, 0], [1, 1], [3, 3], [4, 2]]) {
      budgets.push(adaptive.budget());
      adaptive.record({ drafted, accepted, tokens: accepted + 1, ms: 1 });
    }
    budgets.push(adaptive.budget());
    assert.deepEqual(budgets, [4, 3, 2, 1, 1, 3, 4, 3]);
  });

  void it('stops drafting when the draft doubts its own token', () => {
    const adaptive = new AdaptiveDraft(settings(6, 2, 0.5));
    assert.equal(adaptive.keepDrafting(proposal(0.9)), true);
    assert.equal(adaptive.keepDrafting(proposal(0.5)), true);
    assert.equal(adaptive.keepDrafting(proposal(0.49)), false);
  });
});

void describe('draft policies across generations', () => {
  const params = (exitLayer: number, draftLength: number, more: { adaptiveDraft?: boolean; mode?: 'self-speculative' | 'full' | 'early-exit'; draftConfidenceThreshold?: number } = {}) => ({
    mode: 'self-speculative' as const,
    adaptiveDraft: true,
    draftConfidenceThreshold: 0.4,
    exitLayer,
    draftLength,
    ...more,
  });

  void it('keeps what the adaptive policy learned while E, d and the threshold stay the same', () => {
    const policies = new DraftPolicies();
    const first = policies.for(params(2, 3)) as AdaptiveDraft;
    run(first, 5, slowSpeculation);
    const second = policies.for(params(2, 3));
    assert.equal(second, first);
    assert.equal(second.budget(), 0, 'it goes on with plain steps');
  });

  void it('starts a new adaptive policy when E, d or the threshold changes', () => {
    const policies = new DraftPolicies();
    let previous = policies.for(params(2, 3)) as AdaptiveDraft;
    for (const next of [params(1, 3), params(1, 4), params(1, 4, { draftConfidenceThreshold: 0.6 })]) {
      run(previous, 5, slowSpeculation);
      const policy = policies.for(next) as AdaptiveDraft;
      assert.notEqual(policy, previous);
      assert.equal(policy.budget(), next.draftLength, 'a new policy speculates with d drafts first');
      previous = policy;
    }
  });

  void it('fixed drafts and other modes leave the kept adaptive policy alone', () => {
    const policies = new DraftPolicies();
    const adaptive = policies.for(params(2, 3));
    assert.ok(policies.for(params(2, 3, { adaptiveDraft: false })) instanceof FixedDraft);
    assert.ok(policies.for(params(5, 7, { mode: 'early-exit' })) instanceof FixedDraft);
    assert.equal(policies.for(params(2, 3)), adaptive);
  });
});
