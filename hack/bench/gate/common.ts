import { createWriteStream } from 'node:fs';

export const FEATURES = Array.from({ length: 20 }, (_, j) => `f${j}`);

/** Writes a CSV of 20 float features in [-2, 2) (6 decimals) and a 0/1 label y, about 150 bytes a row. */
export async function writeCsv(path: string, { rows, bytes }: { rows?: number; bytes?: number }): Promise<number> {
  let seed = 12345;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const pool = Array.from({ length: 8192 }, () => (rand() * 4 - 2).toFixed(6));
  const w = createWriteStream(path, { highWaterMark: 1 << 20 });
  let written = 0;
  let n = 0;
  let chunk = FEATURES.join(',') + ',y\n';
  for (;;) {
    if ((rows !== undefined && n >= rows) || (bytes !== undefined && written + chunk.length >= bytes)) break;
    let line = '';
    let sum = 0;
    for (let j = 0; j < 20; j++) {
      const v = pool[(rand() * 8192) | 0]!;
      if (j < 5) sum += Number(v);
      line += v + ',';
    }
    line += (sum + (rand() - 0.5) * 3 > 0 ? '1' : '0') + '\n';
    chunk += line;
    n++;
    if (chunk.length > 1 << 20) {
      written += chunk.length;
      if (!w.write(chunk)) await new Promise<void>((r) => w.once('drain', () => r()));
      chunk = '';
    }
  }
  await new Promise<void>((resolve, reject) => {
    w.on('error', reject);
    w.end(chunk, () => resolve());
  });
  return n;
}
