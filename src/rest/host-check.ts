/**
 * The Host header check (a DNS rebinding defense). A web page on evil.example can make a browser
 * resolve evil.example to 127.0.0.1 and then send requests to this worker's loopback listener;
 * the browser still sends `Host: evil.example`. Requests naming a host this worker is not known by
 * are refused, before any route runs.
 *
 * Accepted: the listener's host, `rest.advertised.host.name`, loopback names (localhost,
 * *.localhost, 127.0.0.0/8, ::1), the names in `kappa.rest.allowed.hosts` (`*` accepts any), and,
 * when the listener binds every interface, this machine's host name and interface addresses. A
 * request without a Host header (HTTP/1.0 tools) is not a browser's and is accepted.
 */
import * as os from 'os';
import type { WorkerConfig } from '../config/worker-config';

/** The host part of a Host header value: lower case, without port, brackets or a trailing dot. */
export function hostOf(header: string): string {
  let h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(1, end) : h;
  } else if (h.indexOf(':') === h.lastIndexOf(':')) {
    h = h.replace(/:\d*$/, '');
  }
  return h.replace(/\.$/, '');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '::1';
}

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

/** A predicate over Host header values, compiled once from the worker config. */
export function hostChecker(config: Pick<WorkerConfig, 'listener' | 'advertisedHost' | 'restAllowedHosts'> & Partial<Pick<WorkerConfig, 'listeners'>>): (header: string | undefined) => boolean {
  if (config.restAllowedHosts.includes('*')) return () => true;
  // every listener's host (an http and an https listener may bind different names)
  const listenerHosts = (config.listeners ?? [config.listener]).map((l) => l.host);
  const names = new Set<string>([...listenerHosts, config.advertisedHost, ...config.restAllowedHosts].map(hostOf));
  if (listenerHosts.some((h) => WILDCARDS.has(h))) {
    names.add(os.hostname().toLowerCase());
    for (const addrs of Object.values(os.networkInterfaces())) for (const a of addrs ?? []) names.add(a.address.toLowerCase());
  }
  return (header) => {
    if (header === undefined || header === '') return true;
    const host = hostOf(header);
    return isLoopback(host) || names.has(host);
  };
}
