import { assign, newAssignorMemory, type AssignorMemory } from '../../../src/herder/cluster/assignor';
import { decodeAssignment, decodeMetadata, emptyAssignment, encodeAssignment, encodeMetadata, type WorkerAssignment, type WorkerMetadata } from '../../../src/herder/cluster/protocol';

const worker = (url: string, current: WorkerAssignment = emptyAssignment()): WorkerMetadata => ({ url, configOffset: 10, current });

function connectors(n: number, tasks: number): Map<string, number> {
  return new Map(Array.from({ length: n }, (_v, i) => [`c${i}`, tasks] as [string, number]));
}

function round(members: Map<string, WorkerMetadata>, config: Map<string, number>, memory: AssignorMemory, now = 0, maxDelayMs = 0) {
  return assign({ leaderId: [...members.keys()].sort()[0]!, leaderUrl: 'http://leader', configOffset: 10, connectors: config, members, now, maxDelayMs, memory });
}

/** The members' next metadata: what they run after applying the round (assigned, minus nothing: revoked is not in assigned). */
function apply(members: Map<string, WorkerMetadata>, out: ReturnType<typeof round>): Map<string, WorkerMetadata> {
  return new Map([...members].map(([id, m]) => [id, { ...m, current: out.assignments.get(id)!.assigned }]));
}

function loads(out: ReturnType<typeof round>) {
  return [...out.assignments.values()].map((a) => ({ connectors: a.assigned.connectors.length, tasks: a.assigned.tasks.length }));
}

function everyItemOnce(out: ReturnType<typeof round>, config: Map<string, number>) {
  const seen = new Map<string, number>();
  for (const a of out.assignments.values()) {
    for (const c of a.assigned.connectors) seen.set(`c:${c}`, (seen.get(`c:${c}`) ?? 0) + 1);
    for (const t of a.assigned.tasks) seen.set(`t:${t.connector}:${t.task}`, (seen.get(`t:${t.connector}:${t.task}`) ?? 0) + 1);
  }
  let expected = 0;
  for (const [, n] of config) expected += 1 + n;
  expect(seen.size).toBe(expected);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
}

describe('incremental cooperative assignor', () => {
  it('spreads a fresh cluster evenly: 6 connectors x 2 tasks over 3 workers', () => {
    const members = new Map([['m1', worker('http://a')], ['m2', worker('http://b')], ['m3', worker('http://c')]]);
    const out = round(members, connectors(6, 2), newAssignorMemory());
    everyItemOnce(out, connectors(6, 2));
    expect(loads(out)).toEqual([{ connectors: 2, tasks: 4 }, { connectors: 2, tasks: 4 }, { connectors: 2, tasks: 4 }]);
    expect([...out.assignments.values()].every((a) => a.revoked.connectors.length + a.revoked.tasks.length === 0)).toBe(true);
  });

  it('keeps running work where it runs and gives a departed worker\'s work to the others at once with no delay', () => {
    const memory = newAssignorMemory();
    const config = connectors(6, 2);
    let members = new Map([['m1', worker('http://a')], ['m2', worker('http://b')], ['m3', worker('http://c')]]);
    members = apply(members, round(members, config, memory));
    const before = new Map([...members].map(([id, m]) => [id, JSON.stringify(m.current)]));
    members.delete('m3');
    const out = round(members, config, memory);
    everyItemOnce(out, config);
    for (const id of ['m1', 'm2']) {
      const a = out.assignments.get(id)!;
      const kept = JSON.parse(before.get(id)!) as WorkerAssignment;
      for (const t of kept.tasks) expect(a.assigned.tasks).toContainEqual(t);
      expect(a.revoked.tasks).toEqual([]);
    }
    expect(loads(out)).toEqual([{ connectors: 3, tasks: 6 }, { connectors: 3, tasks: 6 }]);
  });

  it('holds a departed worker\'s work for scheduled.rebalance.max.delay.ms, gives it back when the worker returns', () => {
    const memory = newAssignorMemory();
    const config = connectors(3, 2);
    let members = new Map([['m1', worker('http://a')], ['m2', worker('http://b')], ['m3', worker('http://c')]]);
    members = apply(members, round(members, config, memory, 0, 10_000));
    const lost = members.get('m3')!.current;
    members.delete('m3');
    const held = round(members, config, memory, 1000, 10_000);
    expect(held.delayMs).toBe(10_000);
    const running = [...held.assignments.values()].reduce((n, a) => n + a.assigned.tasks.length, 0);
    expect(running).toBe(6 - lost.tasks.length);
    members = apply(members, held);
    // the same worker (same URL, new member id, nothing running) comes back within the delay
    members.set('m4', worker('http://c'));
    const back = round(members, config, memory, 5000, 10_000);
    everyItemOnce(back, config);
    expect(back.assignments.get('m4')!.assigned).toEqual(lost);
  });

  it('after the delay, spreads the held work over the remaining workers', () => {
    const memory = newAssignorMemory();
    const config = connectors(3, 2);
    let members = new Map([['m1', worker('http://a')], ['m2', worker('http://b')], ['m3', worker('http://c')]]);
    members = apply(members, round(members, config, memory, 0, 10_000));
    members.delete('m3');
    members = apply(members, round(members, config, memory, 1000, 10_000));
    const out = round(members, config, memory, 11_001, 10_000);
    expect(out.delayMs).toBe(0);
    everyItemOnce(out, config);
  });

  it('balances a joining worker in two rounds: revoke the excess first, assign it next, never twice at once', () => {
    const memory = newAssignorMemory();
    const config = connectors(6, 2);
    let members = new Map([['m1', worker('http://a')], ['m2', worker('http://b')]]);
    members = apply(members, round(members, config, memory));
    members.set('m3', worker('http://c'));
    const first = round(members, config, memory);
    const revoked = [...first.assignments.values()].reduce((n, a) => n + a.revoked.tasks.length, 0);
    expect(revoked).toBe(4);
    expect(first.assignments.get('m3')!.assigned.tasks).toEqual([]);
    members = apply(members, first);
    const second = round(members, config, memory);
    everyItemOnce(second, config);
    expect(loads(second).map((l) => l.tasks)).toEqual([4, 4, 4]);
    expect([...second.assignments.values()].every((a) => a.revoked.tasks.length === 0)).toBe(true);
  });

  it('revokes work that runs twice, and work of deleted connectors', () => {
    const memory = newAssignorMemory();
    const dup: WorkerAssignment = { connectors: ['c0'], tasks: [{ connector: 'c0', task: 0 }, { connector: 'gone', task: 0 }] };
    const members = new Map([['m1', worker('http://a', dup)], ['m2', worker('http://b', dup)]]);
    const out = round(members, new Map([['c0', 1]]), memory);
    everyItemOnce(out, new Map([['c0', 1]]));
    expect(out.assignments.get('m2')!.revoked).toEqual({ connectors: ['c0'], tasks: [{ connector: 'c0', task: 0 }, { connector: 'gone', task: 0 }] });
    expect(out.assignments.get('m1')!.revoked).toEqual({ connectors: [], tasks: [{ connector: 'gone', task: 0 }] });
  });
});

describe('connect protocol messages', () => {
  it('round-trips subscriptions and assignments', () => {
    const current: WorkerAssignment = { connectors: ['a'], tasks: [{ connector: 'a', task: 0 }, { connector: 'b', task: 3 }] };
    expect(decodeMetadata(encodeMetadata({ url: 'http://127.0.0.1:8083', configOffset: 42, current }))).toEqual({ url: 'http://127.0.0.1:8083', configOffset: 42, current });
    const msg = { error: 0, leader: 'm1', leaderUrl: 'http://x', configOffset: 7, assigned: current, revoked: { connectors: [], tasks: [{ connector: 'c', task: 1 }] }, delayMs: 500 };
    expect(decodeAssignment(encodeAssignment(msg))).toEqual(msg);
  });
});
