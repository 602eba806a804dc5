/**
 * `kappa-connect models <command>`: publish, list, get and retire model versions, through a
 * worker's REST API (default) or directly on the model-control topic (--bootstrap-servers).
 *
 *   models publish --id iris --version 2 --uri file:///models/iris.onnx --features x1,x2,x3,x4
 *                  [--format onnx|linear|remote] [--sha256 HEX] [--algorithm NAME] [--exp-date 2026-12-31]
 *                  [--tensor float_input] [--map feature=field ...] [--info key=value ...]
 *   models publish --file model.json         a whole model-control message
 *   models publish ... --inline FILE          the artifact inline (a data: URI) instead of --uri
 *   models list | models get ID | models retire ID
 *
 * Options: --url http://host:8083 (or KAPPA_CONNECT_URL), or --bootstrap-servers HOST:PORT and
 * --topic (default kappa-models) to talk to Kafka directly.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { createKafkaClient } from '../kafka';
import { ArtifactPolicy, ArtifactStore, describeUri } from '../ml/serving/artifacts';
import { DEFAULT_MODEL_TOPIC } from '../ml/serving/control';
import { ControlLog, controlRecord, preparePublish } from '../ml/serving/control-log';

const USAGE = `usage: kappa-connect models <publish|list|get|retire> [options]
  publish --id ID --version V (--uri URI | --inline FILE) --features f1,f2,... [--format onnx|linear|remote]
          [--sha256 HEX] [--algorithm NAME] [--exp-date DATE] [--tensor NAME] [--map feature=field]... [--info k=v]...
  publish --file MESSAGE.json
  list
  get ID
  retire ID
options: --url URL (default $KAPPA_CONNECT_URL or http://localhost:8083)
         --bootstrap-servers HOST:PORT [--topic kappa-models]  (write/read the control topic directly)`;

interface Parsed { positional: string[]; opts: Map<string, string[]> }

function parseArgs(args: string[]): Parsed {
  const positional: string[] = [];
  const opts = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const value = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw new Error(`option --${name} needs a value`);
      opts.set(name, [...(opts.get(name) ?? []), value]);
    } else positional.push(a);
  }
  return { positional, opts };
}

function buildMessage(p: Parsed): Record<string, unknown> {
  const one = (k: string) => p.opts.get(k)?.[p.opts.get(k)!.length - 1];
  const file = one('file');
  const body: Record<string, unknown> = file ? JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> : {};
  const set = (k: string, v: unknown) => { if (v !== undefined) body[k] = v; };
  set('id', one('id'));
  set('version', one('version'));
  set('format', one('format'));
  set('algorithm', one('algorithm'));
  set('sha256', one('sha256'));
  set('exp_date', one('exp-date'));
  const uri = one('uri');
  if (uri) body['uri'] = /^[a-z][a-z0-9+.-]*:/i.test(uri) ? uri : pathToFileURL(path.resolve(uri)).href;
  const inline = one('inline');
  if (inline) body['artifact_base64'] = fs.readFileSync(inline).toString('base64');
  const input = { ...((body['input'] as Record<string, unknown> | undefined) ?? {}) };
  const features = one('features');
  if (features) input['features'] = features.split(',').map((s) => s.trim()).filter(Boolean);
  if (one('tensor')) input['tensor'] = one('tensor');
  const maps = p.opts.get('map') ?? [];
  if (maps.length > 0) {
    const fields: Record<string, string> = { ...((input['fields'] as Record<string, string> | undefined) ?? {}) };
    for (const m of maps) {
      const [k, v] = m.split('=', 2);
      if (!k || !v) throw new Error(`--map wants feature=field, got ${m}`);
      fields[k] = v;
    }
    input['fields'] = fields;
  }
  if (Object.keys(input).length > 0) body['input'] = input;
  const infos = p.opts.get('info') ?? [];
  if (infos.length > 0) {
    const info: Record<string, string> = { ...((body['more_info'] as Record<string, string> | undefined) ?? {}) };
    for (const m of infos) {
      const i = m.indexOf('=');
      if (i <= 0) throw new Error(`--info wants key=value, got ${m}`);
      info[m.slice(0, i)] = m.slice(i + 1);
    }
    body['more_info'] = info;
  }
  return body;
}

async function viaRest(url: string, cmd: string, p: Parsed, out: (s: string) => void): Promise<number> {
  const call = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(url.replace(/\/+$/, '') + route, {
      method,
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text };
  };
  let res: { status: number; text: string };
  if (cmd === 'publish') res = await call('POST', '/models', buildMessage(p));
  else if (cmd === 'list') res = await call('GET', '/models');
  else if (cmd === 'get') res = await call('GET', `/models/${encodeURIComponent(p.positional[0] ?? '')}`);
  else res = await call('DELETE', `/models/${encodeURIComponent(p.positional[0] ?? '')}`);
  if (res.status >= 400) {
    let message = res.text;
    try { message = (JSON.parse(res.text) as { message?: string }).message ?? res.text; } catch { /* not JSON */ }
    throw new Error(`HTTP ${res.status}: ${message}`);
  }
  if (cmd === 'retire') out(`retired ${p.positional[0]}`);
  else out(JSON.stringify(JSON.parse(res.text), null, 2));
  return 0;
}

async function viaKafka(servers: string, topic: string, cmd: string, p: Parsed, out: (s: string) => void): Promise<number> {
  const log = { info() {}, debug() {}, warn() {}, error: (m: string) => process.stderr.write(`${m}\n`) };
  const kafka = createKafkaClient('platformatic', { bootstrapServers: servers.split(',').map((s) => s.trim()), clientId: 'kappa-connect-models-cli', logger: log });
  try {
    await kafka.ensureTopics([{ topic, partitions: 1, replicationFactor: -1, config: { 'cleanup.policy': 'compact' } }]);
    const controls = new ControlLog();
    const reader = kafka.topicReader([topic], (m) => controls.apply(m.key, m.value), `kappa-connect-models-cli-${process.pid}-${Date.now()}`);
    try {
      await reader.readToEnd();
    } finally {
      await reader.stop();
    }
    if (cmd === 'publish') {
      const control = await preparePublish(buildMessage(p), (uri) => new ArtifactStore({ cacheDir: null, policy: ArtifactPolicy.local() }).fetch(uri));
      const existing = controls.versions(control.id)?.find((v) => v.version === control.version);
      if (existing && existing.sha256 !== control.sha256) throw new Error(`model ${control.id} version ${control.version} already exists with sha256 ${existing.sha256}`);
      await kafka.send([controlRecord(topic, control.id, control)]);
      out(JSON.stringify({ ...control, uri: describeUri(control.uri) }, null, 2));
    } else if (cmd === 'retire') {
      const id = p.positional[0] ?? '';
      if (!controls.versions(id)) throw new Error(`model ${id} not found`);
      await kafka.send([controlRecord(topic, id, null)]);
      out(`retired ${id}`);
    } else {
      const ids = cmd === 'get' ? [p.positional[0] ?? ''] : controls.ids();
      const models = ids.filter((id) => controls.versions(id)).map((id) => ({
        id, latest_version: controls.latest(id)!.version, versions: controls.versions(id)!.map((v) => ({ ...v, uri: describeUri(v.uri) })),
      }));
      if (cmd === 'get' && models.length === 0) throw new Error(`model ${ids[0]} not found`);
      out(JSON.stringify(cmd === 'get' ? models[0] : models, null, 2));
    }
    return 0;
  } finally {
    await kafka.close();
  }
}

/** Runs `models ...` (argv after "models"); resolves to the exit code. */
export async function runModelsCli(args: string[], out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  try {
    const p = parseArgs(args);
    const cmd = p.positional.shift();
    if (!cmd || !['publish', 'list', 'get', 'retire'].includes(cmd) || p.opts.has('help')) {
      process.stderr.write(`${USAGE}\n`);
      return cmd === undefined || p.opts.has('help') ? 0 : 2;
    }
    if ((cmd === 'get' || cmd === 'retire') && !p.positional[0]) throw new Error(`${cmd} needs a model id`);
    const servers = p.opts.get('bootstrap-servers')?.[0];
    if (servers) return await viaKafka(servers, p.opts.get('topic')?.[0] ?? DEFAULT_MODEL_TOPIC, cmd, p, out);
    return await viaRest(p.opts.get('url')?.[0] ?? process.env.KAPPA_CONNECT_URL ?? 'http://localhost:8083', cmd, p, out);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  }
}
