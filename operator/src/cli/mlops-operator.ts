#!/usr/bin/env node
/**
 * The `mlops-operator` command: `mlops-operator [operator] [flags]` runs the operator (the default);
 * `mlops-operator serve [flags]` runs the model server. Each subcommand is loaded lazily, so the operator
 * never loads onnxruntime.
 */
import { ConfigError } from '../config.ts';

const USAGE = `Usage: mlops-operator <command> [flags]

Commands:
  operator   run the operator (default); see mlops-operator operator --help
  serve      run the model server that InferenceService pods run
`;

async function main(args: string[]): Promise<number> {
  const [first, ...rest] = args;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (first === 'serve') {
    const { runServe } = await import('../serving/cli.ts');
    await runServe(rest);
    // runServe reports bad flags through process.exitCode; keep it.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  }
  const operatorArgs = first === 'operator' ? rest : args;
  if (operatorArgs.includes('--help') || operatorArgs.includes('-h')) {
    const { operatorUsage } = await import('../config.ts');
    process.stdout.write(operatorUsage());
    return 0;
  }
  if (first !== undefined && first !== 'operator' && !first.startsWith('-')) {
    process.stderr.write(`unknown command: ${first}\n\n${USAGE}`);
    return 2;
  }
  const { runOperator } = await import('../main.ts');
  return runOperator(operatorArgs);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`mlops-operator: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`mlops-operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
