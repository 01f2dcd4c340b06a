import { describe, expect, it } from 'vitest';
import { ConfigError, loadOperatorConfig, parseDuration } from './config.ts';

describe('parseDuration', () => {
  const cases = [
    { text: '500ms', want: 500 },
    { text: '15s', want: 15_000 },
    { text: '1h30m', want: 5_400_000 },
    { text: '1.5s', want: 1500 },
  ];
  for (const c of cases) it(`${c.text} -> ${c.want}`, () => expect(parseDuration(c.text, 'x')).toBe(c.want));
  for (const bad of ['', '15', 's', '10x', '5s ']) {
    it(`rejects \`${bad}\``, () => expect(() => parseDuration(bad, 'x')).toThrow(ConfigError));
  }
});

describe('loadOperatorConfig', () => {
  it('uses defaults, downward-API fallbacks, and lets flags win over env', () => {
    const c = loadOperatorConfig(['--workers=8', '--namespaces', 'a, b'], {
      MLOPS_WORKERS: '2',
      POD_NAMESPACE: 'ops',
      POD_NAME: 'op-0',
      KUBECONFIG: '/k',
    });
    expect(c).toMatchObject({
      kubeconfig: '/k',
      namespaces: ['a', 'b'],
      workers: 8,
      metricsHost: '0.0.0.0',
      metricsPort: 8080,
      leaderElect: true,
      resyncPeriodMs: 36_000_000,
      leaderElection: {
        namespace: 'ops',
        name: 'mlops-operator-leader',
        identity: 'op-0',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
    });
  });

  const bad: [string, string[], Record<string, string>][] = [
    ['an unknown flag', ['--nope=1'], {}],
    ['zero workers', ['--workers=0'], {}],
    ['a bad bool', [], { MLOPS_LEADER_ELECT: 'maybe' }],
    ['inverted lease timings', ['--lease-duration=5s', '--renew-deadline=10s'], {}],
    ['a port out of range', ['--metrics-bind-address=:70000'], {}],
  ];
  for (const [name, argv, env] of bad) {
    it(`rejects ${name}`, () => expect(() => loadOperatorConfig(argv, env)).toThrow(ConfigError));
  }
});
