/**
 * What workers tell each other through the group coordinator, in the binary layout of Connect's
 * incremental cooperative protocol (protocol type "connect", protocol name "compatible", version 1),
 * so group tools show Kappa workers the way they show Connect workers:
 *
 *   subscription  int16 version · string url · int64 config offset · nullable bytes current assignment
 *   assignment    int16 version · int16 error · string leader id · string leader url · int64 config offset
 *                 · nullable [connector assignment] assigned · nullable [connector assignment] revoked
 *                 · int32 delay (ms)
 *   connector assignment  string connector · [int32 task] (-1 stands for the connector instance itself)
 *
 * Here `assigned` is the member's whole target assignment for the generation and `revoked` what it
 * must stop now (it rejoins after stopping it); strings are int16-length UTF-8, arrays int32-counted.
 */
export const CONNECT_PROTOCOL_TYPE = 'connect';
export const COMPATIBLE_PROTOCOL = 'compatible';
export const PROTOCOL_VERSION = 1;
/** the task id that stands for the connector instance in an assignment */
export const CONNECTOR_TASK = -1;

export const ASSIGNMENT_OK = 0;
/** the leader's config was behind a member's: the member reads the config topic and rejoins */
export const CONFIG_MISMATCH = 1;

export interface WorkerAssignment {
  connectors: string[];
  tasks: { connector: string; task: number }[];
}

export interface WorkerMetadata {
  url: string;
  configOffset: number;
  /** what the worker runs now (empty for a new member) */
  current: WorkerAssignment;
}

export interface AssignmentMessage {
  error: number;
  leader: string;
  leaderUrl: string;
  configOffset: number;
  assigned: WorkerAssignment;
  revoked: WorkerAssignment;
  delayMs: number;
}

export const emptyAssignment = (): WorkerAssignment => ({ connectors: [], tasks: [] });

class Writer {
  private readonly parts: Buffer[] = [];
  int16(v: number): this { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  int32(v: number): this { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  int64(v: number): this { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); this.parts.push(b); return this; }
  string(s: string): this { const b = Buffer.from(s, 'utf8'); this.int16(b.length); this.parts.push(b); return this; }
  bytes(b: Buffer | null): this { if (b === null) return this.int32(-1); this.int32(b.length); this.parts.push(b); return this; }
  done(): Buffer { return Buffer.concat(this.parts); }
}

class Reader {
  private pos = 0;
  constructor(private readonly b: Buffer) {}
  private need(n: number): void { if (this.pos + n > this.b.length) throw new Error('truncated connect protocol message'); }
  int16(): number { this.need(2); const v = this.b.readInt16BE(this.pos); this.pos += 2; return v; }
  int32(): number { this.need(4); const v = this.b.readInt32BE(this.pos); this.pos += 4; return v; }
  int64(): number { this.need(8); const v = Number(this.b.readBigInt64BE(this.pos)); this.pos += 8; return v; }
  string(): string { const n = this.int16(); this.need(n); const s = this.b.toString('utf8', this.pos, this.pos + n); this.pos += n; return s; }
  bytes(): Buffer | null { const n = this.int32(); if (n < 0) return null; this.need(n); const s = this.b.subarray(this.pos, this.pos + n); this.pos += n; return s; }
  get remaining(): number { return this.b.length - this.pos; }
}

/** Groups an assignment by connector: the instance as task -1, then its task ids. */
function writeConnectorAssignments(w: Writer, a: WorkerAssignment): void {
  const byConnector = new Map<string, number[]>();
  for (const c of a.connectors) byConnector.set(c, [CONNECTOR_TASK]);
  for (const t of a.tasks) {
    const list = byConnector.get(t.connector) ?? [];
    list.push(t.task);
    byConnector.set(t.connector, list);
  }
  w.int32(byConnector.size);
  for (const [connector, ids] of byConnector) {
    w.string(connector).int32(ids.length);
    for (const id of ids) w.int32(id);
  }
}

function readConnectorAssignments(r: Reader): WorkerAssignment {
  const out = emptyAssignment();
  const n = r.int32();
  for (let i = 0; i < n; i++) {
    const connector = r.string();
    const m = r.int32();
    for (let j = 0; j < m; j++) {
      const id = r.int32();
      if (id === CONNECTOR_TASK) out.connectors.push(connector); else out.tasks.push({ connector, task: id });
    }
  }
  return out;
}

export function encodeAssignment(a: AssignmentMessage): Buffer {
  const w = new Writer().int16(PROTOCOL_VERSION).int16(a.error).string(a.leader).string(a.leaderUrl).int64(a.configOffset);
  writeConnectorAssignments(w, a.assigned);
  writeConnectorAssignments(w, a.revoked);
  return w.int32(a.delayMs).done();
}

export function decodeAssignment(b: Buffer): AssignmentMessage {
  const r = new Reader(b);
  const version = r.int16();
  if (version < 0) throw new Error(`unsupported connect assignment version ${version}`);
  const error = r.int16();
  const leader = r.string();
  const leaderUrl = r.string();
  const configOffset = r.int64();
  const assigned = readConnectorAssignments(r);
  const revoked = version >= 1 && r.remaining > 0 ? readConnectorAssignments(r) : emptyAssignment();
  const delayMs = version >= 1 && r.remaining >= 4 ? r.int32() : 0;
  return { error, leader, leaderUrl, configOffset, assigned, revoked, delayMs };
}

export function encodeMetadata(m: WorkerMetadata): Buffer {
  const current = m.current.connectors.length + m.current.tasks.length > 0
    ? encodeAssignment({ error: ASSIGNMENT_OK, leader: '', leaderUrl: '', configOffset: m.configOffset, assigned: m.current, revoked: emptyAssignment(), delayMs: 0 })
    : null;
  return new Writer().int16(PROTOCOL_VERSION).string(m.url).int64(m.configOffset).bytes(current).done();
}

export function decodeMetadata(b: Buffer): WorkerMetadata {
  const r = new Reader(b);
  r.int16();
  const url = r.string();
  const configOffset = r.int64();
  const current = r.remaining >= 4 ? r.bytes() : null;
  return { url, configOffset, current: current ? decodeAssignment(current).assigned : emptyAssignment() };
}
