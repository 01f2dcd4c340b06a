import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The Python of hack/python-env.sh (numpy, scikit-learn, skl2onnx, onnx, onnxruntime, pyarrow): $MLOPS_PYTHON,
 * else the venv at the cache path that script uses. Throws, naming the fix, when neither exists: the tests that
 * need it must fail rather than pass without checking anything.
 */
export function mlopsPython(): string {
  const fromEnv = process.env.MLOPS_PYTHON;
  if (fromEnv) return fromEnv;
  const cache =
    process.env.MLOPS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mlops-operator');
  const py = join(cache, 'venv', 'bin', 'python');
  if (existsSync(py)) return py;
  throw new Error('no Python test environment: run `source hack/python-env.sh` first (it exports MLOPS_PYTHON)');
}

/** Runs a Python script (text) with arguments; resolves its stdout, rejects with its stderr. */
export function runPython(script: string, args: string[] = [], timeoutMs = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      mlopsPython(),
      ['-c', script, ...args],
      {
        maxBuffer: 256 * 1024 * 1024,
        timeout: timeoutMs,
        env: { ...process.env, PYTHONHASHSEED: '0', OMP_NUM_THREADS: '1' },
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`python failed: ${stderr || err.message}`, { cause: err }));
        else resolve(stdout);
      },
    );
    child.stdin?.end();
  });
}
