import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Makes sure the Python test environment of hack/python-env.sh exists (creating it on a fresh machine takes a
 * few minutes, once) and exports MLOPS_PYTHON to the test workers, so `npm test` needs no prior set-up step.
 */
export default function setup(): void {
  if (process.env.MLOPS_PYTHON) return;
  const out = execFileSync('bash', ['-c', 'source hack/python-env.sh >&2 && printf %s "$MLOPS_PYTHON"'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.env.MLOPS_PYTHON = out.toString();
}
