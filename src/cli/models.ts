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
 *   models challenger ID --version V --mode shadow|canary [--share 0.1] [--uri URI --features ... : a new version]
 *   models rollback ID                       remove the challenger (the champion scores alone)
 *   models promote ID                        the challenger becomes the serving version
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
import { challengerRecord, prepareChallenger, promotionRecords } from '../ml/serving/challenger';

const USAGE = `usage: kappa-connect models <publish|list|get|retire|challenger|rollback|promote> [options]
  publish --id ID --version V (--uri URI | --inline FILE) --features f1,f2,... [--format onnx|linear|remote]
          [--sha256 HEX] [--algorithm NAME] [--exp-date DATE] [--tensor NAME] [--map feature=field]... [--info k=v]...
  publish --file MESSAGE.json
  list
  get ID
  retire ID
  challenger ID --version V --mode shadow|canary [--share 0.1]
          score version V beside the serving one: shadow (both score every record, V's prediction in
          the headers kappa.challenger.*) or canary (V scores the given share of records, by key);
          V is a published version, or a new one given with the publish options (--uri ... --features ...)
  rollback ID     remove the challenger: the serving version scores alone
  promote ID      the challenger becomes the serving version (from the next batch of every partition)
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

const COMMANDS = ['publish', 'list', 'get', 'retire', 'challenger', 'rollback', 'promote'];
const WITH_ID = ['get', 'retire', 'challenger', 'rollback', 'promote'];

/** The body of a challenger request: version, mode, share, and a new version's publish options if given. */
function challengerBody(p: Parsed): Record<string, unknown> {
  const one = (k: string) => p.opts.get(k)?.[p.opts.get(k)!.length - 1];
  const givesArtifact = p.opts.has('uri') || p.opts.has('inline') || p.opts.has('file');
  const body: Record<string, unknown> = givesArtifact ? buildMessage(p) : { version: one('version') };
  body['id'] = p.positional[0];
  body['mode'] = one('mode');
  const share = one('share');
  if (share !== undefined) body['share'] = Number(share);
  return body;
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
  const route = `/models/${encodeURIComponent(p.positional[0] ?? '')}`;
  if (cmd === 'publish') res = await call('POST', '/models', buildMessage(p));
  else if (cmd === 'list') res = await call('GET', '/models');
  else if (cmd === 'get') res = await call('GET', route);
  else if (cmd === 'challenger') res = await call('POST', `${route}/challenger`, challengerBody(p));
  else if (cmd === 'rollback') res = await call('DELETE', `${route}/challenger`);
  else if (cmd === 'promote') res = await call('POST', `${route}/promote`);
  else res = await call('DELETE', route);
  if (res.status >= 400) {
    let message = res.text;
    try { message = (JSON.parse(res.text) as { message?: string }).message ?? res.text; } catch { /* not JSON */ }
    throw new Error(`HTTP ${res.status}: ${message}`);
  }
  if (cmd === 'retire') out(`retired ${p.positional[0]}`);
  else if (cmd === 'rollback') out(`removed the challenger of ${p.positional[0]}`);
  else out(JSON.stringify(JSON.parse(res.text), null, 2));
  return 0;
}

function challengerView(controls: ControlLog, id: string): Record<string, unknown> | null {
  const c = controls.challenger(id);
  return c ? { version: c.version, mode: c.mode, share: c.share, set_at: c.set_at, sha256: c.model.sha256, uri: describeUri(c.model.uri) } : null;
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
    const fetchLocal = (uri: string) => new ArtifactStore({ cacheDir: null, policy: ArtifactPolicy.local() }).fetch(uri);
    const id = p.positional[0] ?? '';
    if (cmd === 'challenger') {
      const c = await prepareChallenger(id, challengerBody(p), controls, (body) => preparePublish(body, fetchLocal));
      await kafka.send([challengerRecord(topic, id, c)]);
      out(JSON.stringify({ ...c, model: { ...c.model, uri: describeUri(c.model.uri) } }, null, 2));
      return 0;
    }
    if (cmd === 'rollback' || cmd === 'promote') {
      if (!controls.versions(id)) throw new Error(`model ${id} not found`);
      const c = controls.challenger(id);
      if (!c) throw new Error(`model ${id} has no challenger`);
      if (cmd === 'rollback') {
        await kafka.send([challengerRecord(topic, id, null)]);
        out(`removed the challenger of ${id}`);
      } else {
        const previous = controls.latest(id)!.version;
        await kafka.send(promotionRecords(topic, c));
        out(JSON.stringify({ id, promoted_version: c.version, previous_version: previous, mode: c.mode }, null, 2));
      }
      return 0;
    }
    if (cmd === 'publish') {
      const control = await preparePublish(buildMessage(p), fetchLocal);
      const existing = controls.versions(control.id)?.find((v) => v.version === control.version);
      if (existing && existing.sha256 !== control.sha256) throw new Error(`model ${control.id} version ${control.version} already exists with sha256 ${existing.sha256}`);
      await kafka.send([controlRecord(topic, control.id, control)]);
      out(JSON.stringify({ ...control, uri: describeUri(control.uri) }, null, 2));
    } else if (cmd === 'retire') {
      if (!controls.versions(id)) throw new Error(`model ${id} not found`);
      await kafka.send([controlRecord(topic, id, null), ...(controls.challenger(id) ? [challengerRecord(topic, id, null)] : [])]);
      out(`retired ${id}`);
    } else {
      const ids = cmd === 'get' ? [p.positional[0] ?? ''] : controls.ids();
      const models = ids.filter((id) => controls.versions(id)).map((id) => ({
        id, latest_version: controls.latest(id)!.version, versions: controls.versions(id)!.map((v) => ({ ...v, uri: describeUri(v.uri) })),
        challenger: challengerView(controls, id),
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
    if (!cmd || !COMMANDS.includes(cmd) || p.opts.has('help')) {
      process.stderr.write(`${USAGE}\n`);
      return cmd === undefined || p.opts.has('help') ? 0 : 2;
    }
    if (WITH_ID.includes(cmd) && !p.positional[0]) throw new Error(`${cmd} needs a model id`);
    const servers = p.opts.get('bootstrap-servers')?.[0];
    if (servers) return await viaKafka(servers, p.opts.get('topic')?.[0] ?? DEFAULT_MODEL_TOPIC, cmd, p, out);
    return await viaRest(p.opts.get('url')?.[0] ?? process.env.KAPPA_CONNECT_URL ?? 'http://localhost:8083', cmd, p, out);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 1;
  }
}
