/** Runs the model server directly: `node operator/src/serving/main.ts [flags]` (same as `mlops-operator serve`). */
import { runServe } from './cli.ts';

await runServe(process.argv.slice(2));
