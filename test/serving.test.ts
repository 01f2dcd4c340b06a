import { Storage } from '@google-cloud/storage';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeModels, type ModelFile } from './fixtures/serving/models.ts';

// The model server as users run it: `mlops-operator serve` in a child process on loopback, real ONNX models,
// artifacts from file:// and from fake-gcs-server (gs://).

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const entry = [join(repoRoot, 'operator/src/cli/mlops-operator.ts'), 'serve'];

interface Served {
  child: ChildProcess;
  base: string;
  logs: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

/** Starts `serve` with --port 0 and resolves once it logs its port. */
function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [...entry, '--host', '127.0.0.1', '--port', '0', '--workers', '1', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /"port":(\d+)[^\n]*"msg":"listening/.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        resolve({ child, base: `http://127.0.0.1:${m[1]}`, logs: () => out, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${out}`)));
  });
}

/** Polls the ready endpoint until it stops saying "loading"; returns the final status and body. */
async function settle(base: string): Promise<{ status: number; body: { ready?: boolean; error?: string } }> {
  for (let i = 0; i < 600; i++) {
    const r = await fetch(`${base}/v2/health/ready`);
    const body = (await r.json()) as { ready?: boolean; error?: string };
    if (r.status === 200 || !/loading/.test(body.error ?? '')) return { status: r.status, body };
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('the server never finished loading');
}

function infer(base: string, model: string, rows: number[][]): Promise<Response> {
  return fetch(`${base}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', shape: [rows.length, 16], datatype: 'FP32', data: rows }] }),
  });
}

const row = (i: number): number[] => Array.from({ length: 16 }, (_, j) => Math.sin(i + j));

let tabular: ModelFile;

beforeAll(async () => {
  ({ tabular } = await makeModels(['tabular']));
}, 300_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('mlops-operator serve', () => {
  it('--help lists every flag with its environment variable', async () => {
    const child = spawn(process.execPath, [...entry, '--help'], { cwd: repoRoot });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    for (const flag of [
      'model-name',
      'model-version',
      'model-uri',
      'sha256',
      'port',
      'max-batch-size',
      'max-queue-delay-us',
      'workers',
    ]) {
      expect(out).toContain(`--${flag}`);
    }
    expect(out).toContain('$MLOPS_MODEL_URI');
  });

  it('bad flags exit 2 with a message', async () => {
    const child = spawn(process.execPath, [...entry, '--model-name', 'x'], { cwd: repoRoot });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    expect(await new Promise((r) => child.once('exit', r))).toBe(2);
    expect(err).toMatch(/--model-uri .* is required/);
  });

  it('file:// with the right sha256, configured by environment variables: downloads, verifies, turns ready, serves', async () => {
    const s = await serve([], {
      MLOPS_MODEL_NAME: 'tab',
      MLOPS_MODEL_VERSION: '3',
      MLOPS_MODEL_URI: pathToFileURL(tabular.path).href,
      MLOPS_MODEL_SHA256: tabular.sha256,
      MLOPS_MODEL_DIR: mkdtempSync(join(tmpdir(), 'mlops-serve-')),
    });
    expect(await settle(s.base)).toEqual({ status: 200, body: { ready: true } });
    const r = await infer(s.base, 'tab', [row(1)]);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { model_version: string }).model_version).toBe('3');
    expect(s.logs()).toContain('artifact downloaded and verified');
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('a sha256 mismatch never turns ready and says why', async () => {
    const s = await serve([
      '--model-name',
      'tab',
      '--model-uri',
      pathToFileURL(tabular.path).href,
      '--sha256',
      '0'.repeat(64),
      '--model-dir',
      mkdtempSync(join(tmpdir(), 'mlops-serve-')),
    ]);
    const { status, body } = await settle(s.base);
    expect(status).toBe(503);
    expect(body.error).toMatch(/sha256 mismatch .* expected 0{64}, got [0-9a-f]{64}/);
    expect((await fetch(`${s.base}/v2/health/live`)).status).toBe(200);
    expect((await infer(s.base, 'tab', [row(1)])).status).toBe(503);
    expect(s.logs()).toMatch(/model load failed/);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('a corrupt artifact (whose sha256 matches) never turns ready and says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-serve-'));
    const bad = Buffer.from('\x08\x07garbage that is not an ONNX model');
    writeFileSync(join(dir, 'bad.onnx'), bad);
    const s = await serve([
      '--model-name',
      'bad',
      '--model-uri',
      pathToFileURL(join(dir, 'bad.onnx')).href,
      '--sha256',
      createHash('sha256').update(bad).digest('hex'),
      '--model-dir',
      join(dir, 'cache'),
    ]);
    const { status, body } = await settle(s.base);
    expect(status).toBe(503);
    expect(body.error).toMatch(/failed to load: onnxruntime cannot load the model/);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('gs:// from fake-gcs-server', async () => {
    const endpoint = inject('cluster').gcsEndpoint;
    const storage = new Storage({ apiEndpoint: endpoint, projectId: 'test' });
    const bucket = `serving-${Date.now().toString(36)}`;
    await storage.createBucket(bucket);
    await storage.bucket(bucket).upload(tabular.path, { destination: 'models/tabular/model.onnx' });
    const s = await serve([
      '--model-name',
      'tab',
      '--model-uri',
      `gs://${bucket}/models/tabular/model.onnx`,
      '--sha256',
      tabular.sha256,
      '--gcs-endpoint',
      endpoint,
      '--model-dir',
      mkdtempSync(join(tmpdir(), 'mlops-serve-')),
    ]);
    expect(await settle(s.base)).toEqual({ status: 200, body: { ready: true } });
    expect((await infer(s.base, 'tab', [row(2), row(3)])).status).toBe(200);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
  });

  it('SIGTERM under load: readiness stops, every accepted request completes with 200, then exit 0', async () => {
    const s = await serve([
      '--model-name',
      'tab',
      '--model-uri',
      pathToFileURL(tabular.path).href,
      '--sha256',
      tabular.sha256,
      '--model-dir',
      mkdtempSync(join(tmpdir(), 'mlops-serve-')),
      '--max-batch-size',
      '64',
      '--max-queue-delay-us',
      '300000',
    ]);
    expect((await settle(s.base)).status).toBe(200);
    // 24 requests held in the queue by the long batching delay: accepted, not yet answered.
    const accepted = Array.from({ length: 24 }, (_, i) => infer(s.base, 'tab', [row(i)]));
    for (;;) {
      const text = await (await fetch(`${s.base}/metrics`)).text();
      const m = /mlops_inference_pending_request_count\{[^}]*\} (\d+)/.exec(text);
      if (Number(m?.[1]) >= 24) break;
    }
    s.child.kill('SIGTERM');
    const results = await Promise.all(accepted);
    expect(results.map((r) => r.status)).toEqual(Array(24).fill(200));
    for (const r of results) {
      const body = (await r.json()) as { outputs: { name: string; shape: number[] }[] };
      expect(body.outputs[0]!.shape).toEqual([1]);
    }
    expect(await s.exited).toBe(0);
    await expect(fetch(`${s.base}/v2/health/live`)).rejects.toThrow();
  });
});
