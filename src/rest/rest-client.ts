/**
 * Requests from this worker to another worker's REST API (forwarding), over http or https. An
 * https target is verified against the trusted CAs of this worker's TLS settings (its truststore,
 * as Connect's REST client uses it) and the system's; the host name is checked as usual.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';

export interface RestAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface RestCall {
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** trust and client certificate for https targets */
  tls?: tls.ConnectionOptions;
}

export function restRequest(url: URL, call: RestCall): Promise<RestAnswer> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: call.method,
      headers: { ...call.headers, 'content-length': String(call.body === undefined ? 0 : Buffer.byteLength(call.body)) },
      // one connection per request: forwarding is rare, and a pooled socket the other worker closed
      // meanwhile would fail the request instead of reaching it
      agent: false,
    };
    if (secure && call.tls) {
      // the system CAs stay trusted beside the truststore's
      const ca = call.tls.ca ? [...tls.rootCertificates, ...[call.tls.ca].flat().map(String)] : undefined;
      Object.assign(options, { ...call.tls, ...(ca ? { ca } : {}) });
    }
    const req = (secure ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }); });
      res.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url.origin} within ${call.timeoutMs} ms`)), call.timeoutMs);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.end(call.body);
  });
}
