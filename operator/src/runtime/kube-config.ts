import type { RequestContext } from '@kubernetes/client-node';
import { KubeConfig } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * A KubeConfig whose API calls and watches share one connection pool. @kubernetes/client-node 2.0.1 builds a
 * new undici Agent for every request (KubeConfig.applySecurityAuthentication -> createDispatcher), so no
 * connection is reused and every call pays a TLS handshake; under load this capped the operator at a few dozen
 * status writes per second (docs/adr/0012-operator-runtime-on-client-node.md). The first request's dispatcher
 * is kept and reused; authentication headers are still applied per request, so rotating bearer tokens keep
 * working. Client certificates are read once: a rotated client certificate needs a restart.
 */
export class PooledKubeConfig extends KubeConfig {
  #dispatcher: Dispatcher | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    if (!this.#dispatcher) {
      this.#dispatcher = fresh;
      return;
    }
    context.setDispatcher(this.#dispatcher);
    // The unused Agent has opened no connection; closing it frees its timers at once.
    void (fresh as { close?: () => Promise<void> }).close?.().catch(() => undefined);
  }
}
