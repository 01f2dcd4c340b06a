import { describe, expect, it } from 'vitest';
import { findCondition, isConditionTrue, setCondition } from './conditions.ts';

const t0 = new Date('2026-11-23T10:00:00.123Z');
const t1 = new Date('2026-11-23T11:00:00Z');

describe('setCondition', () => {
  const cases = [
    {
      name: 'adds a new condition with the time truncated to seconds',
      before: undefined,
      next: { type: 'Ready', status: 'True', reason: 'Reconciled', message: '' },
      now: t0,
      want: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Reconciled',
          message: '',
          lastTransitionTime: '2026-11-23T10:00:00Z',
        },
      ],
    },
    {
      name: 'keeps lastTransitionTime when only the reason changes',
      before: [{ type: 'Ready', status: 'True', reason: 'A', message: '', lastTransitionTime: '2026-11-23T10:00:00Z' }],
      next: { type: 'Ready', status: 'True', reason: 'B', message: 'm' },
      now: t1,
      want: [{ type: 'Ready', status: 'True', reason: 'B', message: 'm', lastTransitionTime: '2026-11-23T10:00:00Z' }],
    },
    {
      name: 'moves lastTransitionTime when the status flips',
      before: [{ type: 'Ready', status: 'True', reason: 'A', message: '', lastTransitionTime: '2026-11-23T10:00:00Z' }],
      next: { type: 'Ready', status: 'False', reason: 'Broken', message: 'x' },
      now: t1,
      want: [
        { type: 'Ready', status: 'False', reason: 'Broken', message: 'x', lastTransitionTime: '2026-11-23T11:00:00Z' },
      ],
    },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      expect(setCondition(c.before, c.next, c.now)).toEqual(c.want);
    });
  }

  it('does not modify its input and keeps other types', () => {
    const before = [
      { type: 'A', status: 'True', reason: 'X', message: '', lastTransitionTime: 't' },
      { type: 'B', status: 'False', reason: 'Y', message: '', lastTransitionTime: 't' },
    ] as const;
    const after = setCondition(before, { type: 'B', status: 'True', reason: 'Z', message: '' }, t1);
    expect(before[1].status).toBe('False');
    expect(after.map((c) => c.type)).toEqual(['A', 'B']);
    expect(isConditionTrue(after, 'B')).toBe(true);
    expect(findCondition(after, 'C')).toBeUndefined();
  });
});
