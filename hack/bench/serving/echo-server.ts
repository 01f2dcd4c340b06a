/**
 * The HTTP and JSON ceiling of the serving benchmark: node:http doing the request work of an OIP v2 server (read the
 * body, JSON.parse, copy `data` into a Float32Array, JSON reply of an output tensor) with no model.
 * Usage: node echo-server.ts PORT OUTPUT_ELEMENTS
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const outElements = Number(process.argv[3] ?? 2);

createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ready":true}');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      inputs: { name: string; shape: number[]; data: unknown[] }[];
    };
    const input = body.inputs[0]!;
    const x = Float32Array.from(input.data.flat(8) as number[]);
    const rows = input.shape[0] ?? 1;
    const out = x.subarray(0, rows * outElements);
    const text = JSON.stringify({
      model_name: 'echo',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [rows, outElements], data: Array.from(out) }],
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
}).listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
