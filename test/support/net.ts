import { createServer } from 'node:net';

/**
 * A loopback TCP port that was free a moment ago: bound to port 0, noted, closed. Another process may take it
 * before the caller binds it; tests use it for servers they start themselves and for "nothing listens here".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port bound'))));
    });
  });
}
