import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURES, makeGateFixtures, type GateFixtures } from '../../../test/support/gate-fixtures.ts';
import { EvaluationError } from './errors.ts';
import { runEvaluation } from './evaluator.ts';
import type { MetricName } from './metrics.ts';
import type { EvaluationJob } from './worker-messages.ts';

let fx: GateFixtures;
beforeAll(async () => {
  fx = await makeGateFixtures();
}, 180_000);
afterAll(async () => {
  await rm(fx.dir, { recursive: true, force: true });
});

const CLS: MetricName[] = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss'];

function job(over: Partial<EvaluationJob> & { candidate?: string; baseline?: string } = {}): EvaluationJob {
  const { candidate = 'good', baseline, ...rest } = over;
  return {
    models: [
      { role: 'candidate', path: fx.model(candidate) },
      ...(baseline ? [{ role: 'baseline' as const, path: fx.model(baseline) }] : []),
    ],
    dataset: { path: fx.data('csv'), format: 'csv', label: 'y', features: FEATURES },
    metrics: CLS,
    batchSize: 256,
    intraOpThreads: 1,
    ...rest,
  };
}

function expectClose(actual: number | undefined, expected: number, rel = 1e-9): void {
  expect(actual).toBeTypeOf('number');
  expect(Math.abs(actual! - expected), `got ${actual}, want ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected));
}

describe('runEvaluation (worker thread, onnxruntime-node, real skl2onnx models)', () => {
  it.each(['csv', 'jsonl', 'parquet'] as const)('scores a classifier on %s like scikit-learn does', async (format) => {
    const res = await runEvaluation(
      job({ dataset: { path: fx.data(format), format, label: 'y', features: FEATURES } }),
    );
    expect(res.examples).toBe(1200);
    expect(res.baseline).toBeUndefined();
    for (const m of CLS) expectClose(res.candidate.values[m], fx.expected.good![m]!);
  });

  it('scores candidate and baseline on the same rows in one pass', async () => {
    const res = await runEvaluation(job({ baseline: 'worse', batchSize: 100 }));
    expect(res.examples).toBe(1200);
    for (const m of CLS) {
      expectClose(res.candidate.values[m], fx.expected.good![m]!);
      expectClose(res.baseline!.values[m], fx.expected.worse![m]!);
    }
  });

  it('feeds one input per column (mixed types, a string column) by input name', async () => {
    const res = await runEvaluation(
      job({
        candidate: 'mixed',
        metrics: ['accuracy', 'roc_auc'],
        dataset: { path: fx.data('parquet'), format: 'parquet', label: 'y' },
      }),
    );
    expectClose(res.candidate.values.accuracy, fx.expected.mixed!.accuracy!);
    expectClose(res.candidate.values.roc_auc, fx.expected.mixed!.roc_auc!);
  });

  it('scores a regressor', async () => {
    const res = await runEvaluation(
      job({
        candidate: 'regressor',
        metrics: ['rmse', 'mae', 'r2'],
        dataset: { path: fx.data('csv'), format: 'csv', label: 'target', features: FEATURES },
      }),
    );
    for (const m of ['rmse', 'mae', 'r2'] as const) expectClose(res.candidate.values[m], fx.expected.regressor![m]!);
  });

  it('uses every column but the label, in file order, when no features are named', async () => {
    // good.onnx wants 4 floats; the CSV has 6 columns besides y: a clear input mismatch, not a silent misfeed.
    const err = await runEvaluation(job({ dataset: { path: fx.data('csv'), format: 'csv', label: 'y' } })).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ reason: 'InputMismatch' });
    expect((err as Error).message).toMatch(/expects 4 features per row, the dataset gives 6/);
  });

  describe('permanent failures name their reason', () => {
    const cases: Array<[string, () => Promise<EvaluationJob>, string, RegExp]> = [
      [
        'a corrupt ONNX file',
        async () => {
          const p = join(fx.dir, 'corrupt.onnx');
          await writeFile(p, Buffer.from('this is not a protobuf'));
          return { ...job(), models: [{ role: 'candidate', path: p }] };
        },
        'InvalidModel',
        /not a loadable ONNX model/,
      ],
      [
        'a model whose input width differs',
        () => Promise.resolve(job({ candidate: 'three-features' })),
        'InputMismatch',
        /expects 3 features per row, the dataset gives 4/,
      ],
      [
        'a per-column input with no such column',
        async () => {
          const p = join(fx.dir, 'no-color.csv');
          const csv = await readFile(fx.data('csv'), 'utf8');
          await writeFile(
            p,
            csv
              .replaceAll(',red,', ',1,')
              .replaceAll(',green,', ',1,')
              .replaceAll(',blue,', ',1,')
              .replace('color', 'colour'),
          );
          return job({ candidate: 'mixed', metrics: ['accuracy'], dataset: { path: p, format: 'csv', label: 'y' } });
        },
        'InputMismatch',
        /model input "color" has no column/,
      ],
      [
        'a missing label column',
        () =>
          Promise.resolve(
            job({ dataset: { path: fx.data('csv'), format: 'csv', label: 'clicked', features: FEATURES } }),
          ),
        'MissingColumn',
        /label column "clicked"/,
      ],
      [
        'NaN predictions',
        async () => {
          const p = join(fx.dir, 'nan.csv');
          const lines = (await readFile(fx.data('csv'), 'utf8')).split('\n');
          lines[300] = lines[300]!.replace(/^[^,]*,/, ','); // an empty f0 in data row 300
          await writeFile(p, lines.join('\n'));
          return job({ dataset: { path: p, format: 'csv', label: 'y', features: FEATURES } });
        },
        'InvalidPrediction',
        /is NaN for row 300/,
      ],
      [
        'an empty eval set',
        async () => {
          const p = join(fx.dir, 'empty.csv');
          await writeFile(p, 'f0,f1,f2,f3,color,y,target\n');
          return job({ dataset: { path: p, format: 'csv', label: 'y', features: FEATURES } });
        },
        'EmptyDataset',
        /no rows/,
      ],
      [
        'a non-numeric feature',
        async () => {
          const p = join(fx.dir, 'text.csv');
          await writeFile(p, 'f0,f1,f2,f3,y\n1,2,3,4,1\n1,2,x3,4,0\n');
          return job({ dataset: { path: p, format: 'csv', label: 'y', features: FEATURES } });
        },
        'InvalidData',
        /column "f2" row 2: "x3" is not a number/,
      ],
      [
        'probabilities from a regressor',
        () => Promise.resolve(job({ candidate: 'regressor', metrics: ['roc_auc'] })),
        'OutputMismatch',
        /no 2-D float output/,
      ],
      [
        'metrics of both kinds',
        () => Promise.resolve(job({ metrics: ['roc_auc', 'rmse'] })),
        'InvalidEvaluationSpec',
        /mix classification and regression/,
      ],
    ];
    it.each(cases)('%s', async (_what, make, reason, message) => {
      const err = await runEvaluation(await make()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EvaluationError);
      expect(err).toMatchObject({ reason });
      expect((err as Error).message).toMatch(message);
    });

    it('says when the failure is about the baseline', async () => {
      const err = await runEvaluation(job({ baseline: 'three-features' })).catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: 'InputMismatch', role: 'baseline' });
      expect((err as Error).message).toMatch(/^baseline: /);
    });
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const p = runEvaluation(job(), { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toThrow(/aborted/);
  });
});
