import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPython } from './python.ts';

/** Seeded tiny models and eval sets made by gate_fixtures.py (scikit-learn + skl2onnx), in a temp dir. */
export interface GateFixtures {
  dir: string;
  /** Local path of `<name>.onnx`: good, worse, weak, three-features, mixed, regressor. */
  model(name: string): string;
  /** Local path of the eval set in one format (same 1200 rows; columns f0..f3, color, y, target). */
  data(format: 'csv' | 'jsonl' | 'parquet'): string;
  /** scikit-learn's metrics of each model on the eval set, from onnxruntime's (Python) outputs. */
  expected: Record<string, Record<string, number>>;
}

export const FEATURES = ['f0', 'f1', 'f2', 'f3'];

const script = fileURLToPath(new URL('./gate_fixtures.py', import.meta.url));

export async function makeGateFixtures(): Promise<GateFixtures> {
  const dir = await mkdtemp(join(tmpdir(), 'mlops-gate-fx-'));
  await runPython(
    `import runpy, sys; sys.argv = ['gate_fixtures.py', sys.argv[1]]; runpy.run_path(${JSON.stringify(script)}, run_name='__main__')`,
    [dir],
  );
  const expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as GateFixtures['expected'];
  return {
    dir,
    model: (name) => join(dir, `${name}.onnx`),
    data: (format) => join(dir, `eval.${format}`),
    expected,
  };
}
