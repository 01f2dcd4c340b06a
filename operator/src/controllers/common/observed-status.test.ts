import { describe, expect, it } from 'vitest';
import { planObservedStatus } from './observed-status.ts';

const now = new Date('2026-11-23T12:00:00Z');
const ready = { status: 'True', reason: 'Reconciled', message: 'ok' } as const;
const readyCond = (gen: number, status: 'True' | 'False' = 'True', t = '2026-11-23T10:00:00Z') => ({
  type: 'Ready',
  status,
  reason: status === 'True' ? 'Reconciled' : 'Broken',
  message: status === 'True' ? 'ok' : 'x',
  observedGeneration: gen,
  lastTransitionTime: t,
});

describe('planObservedStatus', () => {
  it('writes observedGeneration and Ready on a fresh object, and reports the transition', () => {
    const p = planObservedStatus(undefined, 1, ready, now);
    expect(p.patch).toEqual({
      status: { observedGeneration: 1, conditions: [readyCond(1, 'True', '2026-11-23T12:00:00Z')] },
    });
    expect(p.transition?.status).toBe('True');
  });

  it('writes nothing when the status already says it', () => {
    const p = planObservedStatus({ observedGeneration: 2, conditions: [readyCond(2)] }, 2, ready, now);
    expect(p).toEqual({ patch: undefined, transition: undefined });
  });

  it('bumps observedGeneration on a new generation without a transition, keeping lastTransitionTime', () => {
    const p = planObservedStatus({ observedGeneration: 2, conditions: [readyCond(2)] }, 3, ready, now);
    expect(p.patch?.status).toEqual({ observedGeneration: 3, conditions: [readyCond(3)] });
    expect(p.transition).toBeUndefined();
  });

  it('reports a transition when Ready flips, keeping other conditions', () => {
    const other = {
      type: 'Progressing',
      status: 'False',
      reason: 'Idle',
      message: '',
      lastTransitionTime: 't',
    } as const;
    const p = planObservedStatus({ observedGeneration: 3, conditions: [other, readyCond(3, 'False')] }, 3, ready, now);
    expect(p.patch?.status.conditions).toEqual([other, readyCond(3, 'True', '2026-11-23T12:00:00Z')]);
    expect(p.transition?.reason).toBe('Reconciled');
  });
});
