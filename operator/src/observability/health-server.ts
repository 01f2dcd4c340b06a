import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';

/** A named health check: returns undefined when healthy, or why not. */
export type Check = () => string | undefined;

export interface HealthServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  registry: Registry;
  /** All must pass for /healthz (liveness). */
  liveness: Record<string, Check>;
  /** All must pass for /readyz (readiness). */
  readiness: Record<string, Check>;
  log: Logger;
}

/**
 * `/metrics` (Prometheus text format), `/healthz` and `/readyz` on one port, like controller-runtime's
 * manager. Health answers `ok` or, with status 500, one `[-]name failed: reason` line per failing check;
 * `?verbose` lists every check.
 */
export class HealthServer {
  readonly #server: Server;
  readonly #opts: HealthServerOptions;

  constructor(opts: HealthServerOptions) {
    this.#opts = opts;
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
        return;
      }
      if (url.pathname === '/metrics') {
        opts.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text);
          },
          (err: unknown) => {
            opts.log.error({ err }, 'metrics collection failed');
            res.writeHead(500).end();
          },
        );
        return;
      }
      const checks =
        url.pathname === '/healthz' || url.pathname === '/livez'
          ? opts.liveness
          : url.pathname === '/readyz'
            ? opts.readiness
            : undefined;
      if (!checks) {
        res.writeHead(404).end('not found\n');
        return;
      }
      const lines: string[] = [];
      let ok = true;
      for (const [name, check] of Object.entries(checks)) {
        let reason: string | undefined;
        try {
          reason = check();
        } catch (err) {
          reason = err instanceof Error ? err.message : 'check threw';
        }
        if (reason === undefined) lines.push(`[+]${name} ok`);
        else {
          ok = false;
          lines.push(`[-]${name} failed: ${reason}`);
        }
      }
      const body = ok && !url.searchParams.has('verbose') ? 'ok\n' : `${lines.join('\n')}\n${ok ? 'ok' : 'failed'}\n`;
      res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
    });
  }

  /** Listens; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#opts.port, this.#opts.host, () => {
        this.#server.off('error', reject);
        const port = (this.#server.address() as AddressInfo).port;
        this.#opts.log.info({ host: this.#opts.host, port }, 'serving metrics and health probes');
        resolve(port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
