/**
 * The compute ceiling of the serving benchmark: onnxruntime-node in the process, no HTTP, sequential
 * `await session.run()` with the server's session options (intra=1, inter=1). Prints JSON {batch: {runsPerSec, rowsPerSec}}.
 * Usage: node in-process.ts MODEL_PATH FEATURES SECONDS BATCH...
 */
import ort from 'onnxruntime-node';

const [path, featuresArg, secondsArg, ...batches] = process.argv.slice(2);
const features = Number(featuresArg);
const seconds = Number(secondsArg);
const session = await ort.InferenceSession.create(path!, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const result: Record<string, { runsPerSec: number; rowsPerSec: number }> = {};
for (const b of batches.map(Number)) {
  const data = Float32Array.from({ length: b * features }, (_, i) => Math.sin(i));
  const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, [b, features]) };
  for (let i = 0; i < 20; i++) await session.run(feeds);
  let runs = 0;
  const start = performance.now();
  const end = start + seconds * 1e3;
  while (performance.now() < end) {
    await session.run(feeds);
    runs++;
  }
  const s = (performance.now() - start) / 1e3;
  result[String(b)] = { runsPerSec: runs / s, rowsPerSec: (runs * b) / s };
}
process.stdout.write(JSON.stringify(result) + '\n');
