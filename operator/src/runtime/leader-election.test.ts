import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import type { LeaseRecord, Observation } from './leader-election.ts';
import { decideLease, observeLease, releasedRecord, renewDeadlinePassed } from './leader-election.ts';

const LEASE_MS = 15_000;
const held = (holder: string, at: number, extra: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: at,
  renewTime: at,
  leaseTransitions: 3,
  ...extra,
});

describe('decideLease', () => {
  const t0 = 1_000_000;
  const cases: { name: string; obs: Observation; now: number; want: ReturnType<typeof decideLease> }[] = [
    {
      name: 'creates the lease when there is none',
      obs: { record: undefined, observedAt: t0 },
      now: t0,
      want: {
        action: 'create',
        record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: t0, renewTime: t0, leaseTransitions: 0 },
      },
    },
    {
      name: 'waits while another holder is within its duration since last observed',
      obs: { record: held('other', 0), observedAt: t0 },
      now: t0 + LEASE_MS - 1,
      want: { action: 'wait', holder: 'other', expiresAt: t0 + LEASE_MS },
    },
    {
      name: 'takes an expired lease and counts a transition',
      obs: { record: held('other', 0), observedAt: t0 },
      now: t0 + LEASE_MS,
      want: {
        action: 'update',
        acquired: true,
        record: {
          holderIdentity: 'me',
          leaseDurationSeconds: 15,
          acquireTime: t0 + LEASE_MS,
          renewTime: t0 + LEASE_MS,
          leaseTransitions: 4,
        },
      },
    },
    {
      name: 'takes a released lease at once',
      obs: { record: releasedRecord(held('other', 0), t0), observedAt: t0 },
      now: t0 + 1,
      want: {
        action: 'update',
        acquired: true,
        record: {
          holderIdentity: 'me',
          leaseDurationSeconds: 15,
          acquireTime: t0 + 1,
          renewTime: t0 + 1,
          leaseTransitions: 4,
        },
      },
    },
    {
      name: 'renews its own lease keeping acquireTime and transitions',
      obs: { record: held('me', t0 - 5000, { renewTime: t0 - 2000 }), observedAt: t0 - 2000 },
      now: t0,
      want: {
        action: 'update',
        acquired: false,
        record: {
          holderIdentity: 'me',
          leaseDurationSeconds: 15,
          acquireTime: t0 - 5000,
          renewTime: t0,
          leaseTransitions: 3,
        },
      },
    },
    {
      name: "judges expiry by the holder's own duration",
      obs: { record: held('other', 0, { leaseDurationSeconds: 60 }), observedAt: t0 },
      now: t0 + LEASE_MS,
      want: { action: 'wait', holder: 'other', expiresAt: t0 + 60_000 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(decideLease(c.obs, 'me', c.now, LEASE_MS)).toEqual(c.want);
    });
  }
});

describe('standby takeover with a fake clock', () => {
  it('ignores a skewed renewTime: only a change seen locally extends the lease', () => {
    const clock = new FakeClock(5_000_000);
    // The leader's clock is an hour behind: its renewTime looks long expired.
    const leaderRecord = held('leader', clock.now() - 3_600_000);
    let obs = observeLease({ record: undefined, observedAt: 0 }, leaderRecord, clock.now());
    expect(decideLease(obs, 'standby', clock.now(), LEASE_MS).action).toBe('wait');

    // The leader renews every 2 s: each renewal is a change, observed anew.
    for (let i = 1; i <= 5; i++) {
      clock.advance(2000);
      obs = observeLease(obs, { ...leaderRecord, renewTime: leaderRecord.renewTime! + i * 2000 }, clock.now());
      expect(decideLease(obs, 'standby', clock.now(), LEASE_MS).action).toBe('wait');
    }
    // The leader dies: the record stops changing; the standby waits exactly the lease duration.
    const lastChange = clock.now();
    const frozen = obs.record;
    clock.advance(LEASE_MS - 1);
    obs = observeLease(obs, frozen, clock.now());
    expect(obs.observedAt).toBe(lastChange);
    expect(decideLease(obs, 'standby', clock.now(), LEASE_MS).action).toBe('wait');
    clock.advance(1);
    obs = observeLease(obs, frozen, clock.now());
    const d = decideLease(obs, 'standby', clock.now(), LEASE_MS);
    expect(d).toMatchObject({ action: 'update', acquired: true, record: { holderIdentity: 'standby' } });
  });
});

describe('renewDeadlinePassed', () => {
  const cases = [
    { lastRenewAt: 0, now: 9_999, want: false },
    { lastRenewAt: 0, now: 10_000, want: true },
    { lastRenewAt: 5_000, now: 14_000, want: false },
  ];
  for (const c of cases) {
    it(`last renew ${c.lastRenewAt}, now ${c.now} -> ${c.want}`, () => {
      expect(renewDeadlinePassed(c.lastRenewAt, c.now, 10_000)).toBe(c.want);
    });
  }
});
