/**
 * The servers behind `listeners`: one per listener URL, http or https, all answering with the
 * same fastify app. The first is fastify's own server (made by `serverFactory`); the others are
 * opened and closed beside it. A single http listener needs none of this and keeps fastify's
 * default server.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Listener } from '../config/worker-config';
import { ConfigException } from '../api';
import { clientErrorHandler } from './error-mapper';
import type { RestTls } from './tls';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** fastify's keep-alive default, so that every listener behaves like the default server */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export class RestListeners {
  private servers: http.Server[] = [];

  constructor(private readonly listeners: readonly Listener[], private readonly tls: RestTls | null) {
    if (listeners.some((l) => l.protocol === 'https') && !tls) throw new ConfigException('An https listener needs TLS settings (ssl.keystore.*)');
  }

  /** The serverFactory option for fastify, or undefined when fastify's default server does. */
  get serverFactory(): ((handler: Handler) => http.Server) | undefined {
    if (this.listeners.length === 1 && this.listeners[0]!.protocol === 'http') return undefined;
    return (handler) => {
      this.servers = this.listeners.map((l) => {
        const server = l.protocol === 'https' ? https.createServer(this.tls!.server, handler) : http.createServer(handler);
        server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
        return server;
      });
      // fastify installs its clientError handler on its own server only
      for (const s of this.servers.slice(1)) s.on('clientError', clientErrorHandler);
      return this.servers[0]!;
    };
  }

  /** Listens on every listener: the first through fastify's `listen`, the others here. */
  async listen(app: { listen(opts: { host: string; port: number }): Promise<string> }): Promise<string[]> {
    const [first, ...rest] = this.listeners;
    await app.listen({ host: first!.host, port: first!.port });
    for (const [i, l] of rest.entries()) {
      const server = this.servers[i + 1]!;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(l.port, l.host, () => { server.off('error', reject); resolve(); });
      });
    }
    return this.listeners.map((l) => `${l.protocol}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}/`);
  }

  /** Closes the listeners fastify does not know (fastify closes its own). */
  async closeOthers(): Promise<void> {
    await Promise.all(this.servers.slice(1).map((s) => new Promise<void>((resolve) => {
      if (!s.listening) return resolve();
      s.close(() => resolve());
      s.closeIdleConnections();
    })));
  }
}
