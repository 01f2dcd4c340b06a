/**
 * Open-loop load at a fixed offered rate (wrk2 is not in Debian): request i is due at start + i/rate and its
 * latency counts from that due time, so a stalled server is not hidden by coordinated omission.
 * Also used for probes (a low rate of GETs while wrk saturates the server).
 * Usage: node rate.ts URL RATE SECONDS [BODY_FILE] [CONNECTIONS]  -> JSON {sent, ok, errors, p50Ms, p99Ms, maxMs, rate}
 */
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';

const [url, rateArg, secondsArg, bodyFile, connArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const body = bodyFile ? readFileSync(bodyFile) : undefined;
const agent = new Agent({ keepAlive: true, maxSockets: Number(connArg ?? 64) });
const target = new URL(url!);
const total = Math.round(rate * seconds);
const latencies: number[] = [];
let ok = 0;
let errors = 0;
let sent = 0;
const start = performance.now();

function fire(due: number): void {
  sent++;
  const req = request(
    {
      agent,
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: body ? 'POST' : 'GET',
      headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
    },
    (res) => {
      res.resume();
      res.on('end', () => {
        latencies.push(performance.now() - due);
        if (res.statusCode === 200) ok++;
        else errors++;
        maybeDone();
      });
    },
  );
  req.on('error', () => {
    errors++;
    maybeDone();
  });
  req.end(body);
}

let reported = false;
function maybeDone(force = false): void {
  if (reported || (!force && ok + errors < total)) return;
  reported = true;
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const elapsed = (performance.now() - start) / 1e3;
  process.stdout.write(
    JSON.stringify({ sent, ok, errors, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: latencies.at(-1), rate: ok / elapsed }) +
      '\n',
  );
  agent.destroy();
  process.exit(0);
}

// Requests still unanswered 10 s after the last one was due count as errors.
setTimeout(
  () => {
    errors += total - ok - errors;
    maybeDone(true);
  },
  (seconds + 10) * 1e3,
).unref();

let next = 0;
function tick(): void {
  const now = performance.now();
  while (next < total && start + (next * 1e3) / rate <= now) {
    fire(start + (next * 1e3) / rate);
    next++;
  }
  if (next < total) setTimeout(tick, Math.max(0, start + (next * 1e3) / rate - performance.now()));
}
tick();
