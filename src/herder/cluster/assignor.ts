/**
 * The leader's assignment of connectors and tasks to workers, incremental and cooperative like
 * Connect's IncrementalCooperativeAssignor: a pure function of the members (with what each runs
 * now), the configured connectors and tasks, the clock, and what the leader remembers between
 * rounds.
 *
 * Rules:
 * - What runs and should run stays where it runs (no stop/start for it).
 * - New connectors and tasks go to the least loaded workers at once.
 * - Work of a worker that left is held for `scheduled.rebalance.max.delay.ms` (it may come back,
 *   e.g. a rolling restart): a worker with the same URL that rejoins gets it back; a new empty
 *   worker may take it; when the delay is over it is spread over the others.
 * - Balance: connectors and tasks are each spread evenly (loads differ by at most one). An
 *   overloaded worker is asked to revoke its excess in one round; the next round (after it rejoins
 *   without it) gives that work to the others. Nothing is ever assigned to two workers at once.
 */
import { ASSIGNMENT_OK, emptyAssignment, type AssignmentMessage, type WorkerAssignment, type WorkerMetadata } from './protocol';

export interface AssignorMemory {
  /** the last round's owner (URL) of every item */
  owners: Map<string, string>;
  /** since when an item's owner is gone */
  lostSince: Map<string, number>;
}

export const newAssignorMemory = (): AssignorMemory => ({ owners: new Map(), lostSince: new Map() });

export interface AssignorInput {
  leaderId: string;
  leaderUrl: string;
  configOffset: number;
  /** every configured connector with its number of tasks (0 when STOPPED or not generated yet) */
  connectors: ReadonlyMap<string, number>;
  members: ReadonlyMap<string, WorkerMetadata>;
  now: number;
  maxDelayMs: number;
  memory: AssignorMemory;
}

export interface AssignorOutput {
  assignments: Map<string, AssignmentMessage>;
  /** when > 0, the leader rebalances again after this long (held work of a departed worker) */
  delayMs: number;
}

type Item = string; // "c\u0000name" or "t\u0000name\u0000id"
const connectorItem = (name: string): Item => `c\u0000${name}`;
const taskItem = (name: string, id: number): Item => `t\u0000${name}\u0000${id}`;
const isConnector = (i: Item) => i.startsWith('c\u0000');

function toAssignment(items: Iterable<Item>): WorkerAssignment {
  const a = emptyAssignment();
  for (const i of [...items].sort(compareItems)) {
    const parts = i.split('\u0000');
    if (parts[0] === 'c') a.connectors.push(parts[1]!);
    else a.tasks.push({ connector: parts[1]!, task: Number(parts[2]) });
  }
  return a;
}

function compareItems(a: Item, b: Item): number {
  const pa = a.split('\u0000');
  const pb = b.split('\u0000');
  if (pa[0] !== pb[0]) return pa[0]! < pb[0]! ? -1 : 1;
  if (pa[1] !== pb[1]) return pa[1]! < pb[1]! ? -1 : 1;
  return Number(pa[2] ?? -1) - Number(pb[2] ?? -1);
}

export function assign(input: AssignorInput): AssignorOutput {
  const { members, memory, now } = input;
  const memberIds = [...members.keys()].sort();
  const desired = new Set<Item>();
  for (const [name, tasks] of [...input.connectors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    desired.add(connectorItem(name));
    for (let i = 0; i < tasks; i++) desired.add(taskItem(name, i));
  }

  // what each member keeps, what it must stop
  const keep = new Map<string, Set<Item>>(memberIds.map((m) => [m, new Set<Item>()]));
  const revoke = new Map<string, Set<Item>>(memberIds.map((m) => [m, new Set<Item>()]));
  const owned = new Map<Item, string>();
  for (const m of memberIds) {
    const cur = members.get(m)!.current;
    const items = [...cur.connectors.map(connectorItem), ...cur.tasks.map((t) => taskItem(t.connector, t.task))];
    for (const i of items) {
      if (!desired.has(i)) { revoke.get(m)!.add(i); continue; } // deleted or no longer configured
      if (owned.has(i)) { revoke.get(m)!.add(i); continue; } // runs twice: the first member keeps it
      owned.set(i, m);
      keep.get(m)!.add(i);
    }
  }

  // work nobody runs: new, or of a departed worker (held for a while)
  const urlToMember = new Map<string, string>();
  for (const m of memberIds) urlToMember.set(members.get(m)!.url, m);
  const unowned: Item[] = [];
  const held: Item[] = [];
  let delayMs = 0;
  for (const i of desired) {
    if (owned.has(i)) { memory.lostSince.delete(i); continue; }
    const formerUrl = memory.owners.get(i);
    const formerMember = formerUrl !== undefined ? urlToMember.get(formerUrl) : undefined;
    if (formerUrl === undefined || formerMember !== undefined) {
      // new work, or its worker is back (under a new member id): assign now
      memory.lostSince.delete(i);
      if (formerMember !== undefined && members.get(formerMember)!.current.connectors.length + members.get(formerMember)!.current.tasks.length === 0) {
        owned.set(i, formerMember);
        keep.get(formerMember)!.add(i);
        continue;
      }
      unowned.push(i);
      continue;
    }
    const since = memory.lostSince.get(i) ?? now;
    memory.lostSince.set(i, since);
    const left = since + input.maxDelayMs - now;
    if (left > 0) {
      held.push(i);
      delayMs = delayMs === 0 ? left : Math.min(delayMs, left);
    } else {
      memory.lostSince.delete(i);
      unowned.push(i);
    }
  }
  // members that joined with nothing may take held work right away
  const empty = memberIds.filter((m) => keep.get(m)!.size === 0 && members.get(m)!.current.connectors.length + members.get(m)!.current.tasks.length === 0);
  if (held.length > 0 && empty.length > 0) {
    for (const i of held) { memory.lostSince.delete(i); unowned.push(i); }
    held.length = 0;
    delayMs = 0;
  }

  // balance connectors and tasks separately
  const assigned = new Map<string, Set<Item>>(memberIds.map((m) => [m, new Set<Item>()]));
  for (const kind of ['connector', 'task'] as const) {
    const ofKind = (i: Item) => (kind === 'connector') === isConnector(i);
    const total = [...desired].filter(ofKind).length - held.filter(ofKind).length;
    if (memberIds.length === 0) break;
    const floor = Math.floor(total / memberIds.length);
    const extra = total % memberIds.length;
    const load = (m: string) => [...keep.get(m)!].filter(ofKind).length + [...assigned.get(m)!].filter(ofKind).length;
    // the most loaded members keep the larger shares, so as little as possible moves
    const byLoad = [...memberIds].sort((a, b) => load(b) - load(a) || (a < b ? -1 : 1));
    const target = new Map<string, number>(byLoad.map((m, idx) => [m, floor + (idx < extra ? 1 : 0)]));
    // overloaded members give back their excess (the newest tasks of their busiest connectors first)
    for (const m of byLoad) {
      let excess = load(m) - target.get(m)!;
      if (excess <= 0) continue;
      const mine = [...keep.get(m)!].filter(ofKind).sort(compareItems).reverse();
      for (const i of mine) {
        if (excess <= 0) break;
        keep.get(m)!.delete(i);
        revoke.get(m)!.add(i);
        excess--;
      }
    }
    // unowned work of this kind to the least loaded members, up to their targets
    for (const i of unowned.filter(ofKind).sort(compareItems)) {
      const candidates = [...memberIds].sort((a, b) => (load(a) - target.get(a)!) - (load(b) - target.get(b)!) || load(a) - load(b) || (a < b ? -1 : 1));
      const m = candidates[0]!;
      assigned.get(m)!.add(i);
    }
  }

  // remember owners for the next round (held work stays under its departed owner)
  const heldOwners = new Map(held.map((i) => [i, memory.owners.get(i)!] as const));
  memory.owners.clear();
  for (const [i, url] of heldOwners) memory.owners.set(i, url);
  const assignments = new Map<string, AssignmentMessage>();
  for (const m of memberIds) {
    const url = members.get(m)!.url;
    const all = new Set([...keep.get(m)!, ...assigned.get(m)!]);
    for (const i of all) memory.owners.set(i, url);
    for (const i of revoke.get(m)!) if (desired.has(i) && !memory.owners.has(i)) memory.owners.set(i, url);
    assignments.set(m, {
      error: ASSIGNMENT_OK,
      leader: input.leaderId,
      leaderUrl: input.leaderUrl,
      configOffset: input.configOffset,
      assigned: toAssignment(all),
      revoked: toAssignment(revoke.get(m)!),
      delayMs,
    });
  }
  return { assignments, delayMs };
}
