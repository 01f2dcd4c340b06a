/**
 * The example training script follows the training-pod contract: run with the MLOPS_* and HP_* variables the
 * operator sets, it writes model.onnx and a flat metrics.json under MLOPS_OUTPUT_URI, and the model has the input
 * and output the evaluation gate feeds and reads (checked with onnxruntime-node, as the gate and server load it).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { mlopsPython } from './support/python.ts';

const execFileAsync = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

describe('examples/ad-click/train', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ad-click-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trains from a data prefix and writes model.onnx and metrics.json the gate can use', async () => {
    const py = mlopsPython();
    const train = path.join(root, 'examples/ad-click/train');
    await execFileAsync(py, [path.join(train, 'make_data.py'), dir, '1500']);
    const { stdout } = await execFileAsync(py, [path.join(train, 'train.py')], {
      env: {
        ...process.env,
        OMP_NUM_THREADS: '1',
        MLOPS_RUN: 'ad-click-20261122-0300',
        MLOPS_MODEL: 'ad-click',
        MLOPS_DATA_URI: `file://${dir}/raw/`,
        MLOPS_EVAL_URI: `file://${dir}/eval.csv`,
        MLOPS_OUTPUT_URI: `file://${dir}/runs/ad-click-20261122-0300/`,
        MLOPS_HYPERPARAMETERS: JSON.stringify({ learning_rate: '0.05', n_estimators: '200', max_depth: '2' }),
        HP_LEARNING_RATE: '0.1', // a sweep trial's value wins over MLOPS_HYPERPARAMETERS
        HP_N_ESTIMATORS: '40',
      },
      timeout: 120_000,
    });
    expect(stdout).toContain("'learning_rate': '0.1', 'n_estimators': '40', 'max_depth': '2'");

    const out = path.join(dir, 'runs/ad-click-20261122-0300');
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')) as Record<string, unknown>;
    for (const v of Object.values(metrics)) expect(typeof v).toBe('number');
    expect(metrics.auc).toBeGreaterThan(0.75);
    expect(metrics.examples).toBe(1000);

    const session = await ort.InferenceSession.create(path.join(out, 'model.onnx'));
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toContain('probabilities');
    const rows = [
      [30, 12, 1, 0.2, 0.2, 1],
      [65, 3, 10, 0.01, Number.NaN, 0], // a missing user_ctr is imputed inside the model
    ];
    const result = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [2, 6]) });
    const probs = result.probabilities!;
    expect(probs.dims).toEqual([2, 2]);
    const p = Array.from(probs.data as Float32Array);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 5);
    expect(p[1]!).toBeGreaterThan(p[3]!); // a likely click scores above an unlikely one
  });
});
