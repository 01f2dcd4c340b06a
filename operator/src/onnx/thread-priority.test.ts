import { getPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

describe('lowerThreadPriority', () => {
  it.runIf(process.platform === 'linux')('renices the calling thread only, not the process', async () => {
    const before = getPriority();
    const url = new URL('./thread-priority.ts', import.meta.url).href;
    const w = new Worker(
      `import(${JSON.stringify(url)}).then((m) => { const ok = m.lowerThreadPriority(7); const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()); require('node:worker_threads').parentPort.postMessage({ ok, nice: require('node:os').getPriority(tid) }); });`,
      { eval: true },
    );
    const got = await new Promise<{ ok: boolean; nice: number }>((resolve) => w.once('message', resolve));
    await w.terminate();
    expect(got).toEqual({ ok: true, nice: Math.max(before, 7) });
    expect(getPriority()).toBe(before); // the main thread keeps its priority
  });
});
