/**
 * Requests and notifications between the main thread and a task's worker thread, over one
 * MessagePort-like endpoint (a Worker on the main side, parentPort in the thread). Either side can
 * ask (`request`, answered by the other side's `handle`) and tell (`notify`, heard by `on`).
 * Errors cross as {name, message, stack} and come out as Errors with the same name and message.
 */
import type { TransferListItem } from 'node:worker_threads';

interface Endpoint {
  postMessage(value: unknown, transferList?: readonly TransferListItem[]): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
}

type Message =
  | { kind: 'req'; id: number; method: string; params: unknown }
  | { kind: 'res'; id: number; ok: true; value: unknown }
  | { kind: 'res'; id: number; ok: false; error: { name: string; message: string; stack?: string; retriable?: boolean; code?: string } }
  | { kind: 'note'; event: string; data: unknown };

/** A value and the buffers to transfer (not copy) with it. */
export class Transfer<T> {
  constructor(readonly value: T, readonly list: TransferListItem[]) {}
}

export class Channel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly handlers = new Map<string, (params: never) => unknown>();
  private readonly listeners = new Map<string, ((data: never) => void)[]>();
  private closedError?: Error;

  constructor(private readonly endpoint: Endpoint) {
    endpoint.on('message', (m) => this.receive(m as Message));
  }

  request<T>(method: string, params?: unknown, transfer: TransferListItem[] = []): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.endpoint.postMessage({ kind: 'req', id, method, params } satisfies Message, transfer);
    });
  }

  notify(event: string, data?: unknown): void {
    if (this.closedError) return;
    this.endpoint.postMessage({ kind: 'note', event, data } satisfies Message);
  }

  /** Answers `method`; a returned Transfer sends its buffers without copying them. */
  handle<P, R>(method: string, fn: (params: P) => R | Promise<R> | Transfer<R> | Promise<Transfer<R>>): void {
    this.handlers.set(method, fn as (params: never) => unknown);
  }

  on<D>(event: string, fn: (data: D) => void): void {
    const list = this.listeners.get(event) ?? [];
    list.push(fn as (data: never) => void);
    this.listeners.set(event, list);
  }

  /** The other side is gone: every open request fails with `error`, later ones at once. */
  close(error: Error): void {
    this.closedError ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private receive(m: Message): void {
    if (m.kind === 'res') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(Object.assign(new Error(m.error.message), { name: m.error.name, stack: m.error.stack ?? m.error.message, ...(m.error.retriable ? { retriable: true } : {}), ...(m.error.code ? { code: m.error.code } : {}) }));
    } else if (m.kind === 'req') {
      const fn = this.handlers.get(m.method);
      const reply = (value: unknown) => {
        if (value instanceof Transfer) this.endpoint.postMessage({ kind: 'res', id: m.id, ok: true, value: value.value } satisfies Message, value.list);
        else this.endpoint.postMessage({ kind: 'res', id: m.id, ok: true, value } satisfies Message);
      };
      const fail = (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        const code = (err as { code?: unknown }).code;
        this.endpoint.postMessage({ kind: 'res', id: m.id, ok: false, error: { name: err.name, message: err.message, stack: err.stack, retriable: (err as { retriable?: boolean }).retriable === true, ...(typeof code === 'string' ? { code } : {}) } } satisfies Message);
      };
      if (!fn) { fail(new Error(`no handler for ${m.method}`)); return; }
      try {
        const out = fn(m.params as never);
        if (out instanceof Promise) out.then(reply, fail); else reply(out);
      } catch (e) {
        fail(e);
      }
    } else if (m.kind === 'note') {
      for (const fn of this.listeners.get(m.event) ?? []) fn(m.data as never);
    }
  }
}
