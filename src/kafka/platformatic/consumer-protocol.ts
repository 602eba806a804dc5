/**
 * The "consumer" embedded protocol of Kafka's classic consumer groups: what a member puts in
 * JoinGroup (its subscription) and what the leader sends back in SyncGroup (each member's
 * partitions), encoded as Apache Kafka's ConsumerProtocol does (version 0), so that kafka-ui,
 * AKHQ or `kafka-consumer-groups.sh --describe` read a task's group as any other consumer group.
 * The assignor is Kafka's RangeAssignor ("range", Connect's default consumer strategy).
 */
import type { TopicPartition } from '../port';

export const RANGE_PROTOCOL = 'range';

function writeString(parts: Buffer[], s: string): void {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeInt16BE(b.length);
  parts.push(len, b);
}

function int16(v: number): Buffer { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; }
function int32(v: number): Buffer { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; }

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  int16(): number { const v = this.b.readInt16BE(this.at); this.at += 2; return v; }
  int32(): number { const v = this.b.readInt32BE(this.at); this.at += 4; return v; }
  string(): string {
    const len = this.int16();
    const s = this.b.toString('utf8', this.at, this.at + len);
    this.at += len;
    return s;
  }
}

/** Subscription v0: version, topics, user data (none). */
export function encodeSubscription(topics: readonly string[]): Buffer {
  const parts: Buffer[] = [int16(0), int32(topics.length)];
  for (const t of topics) writeString(parts, t);
  parts.push(int32(-1));
  return Buffer.concat(parts);
}

/** The subscribed topics of any subscription version (later versions only add fields after them). */
export function decodeSubscription(b: Buffer): string[] {
  const r = new Reader(b);
  r.int16();
  const n = r.int32();
  const topics: string[] = [];
  for (let i = 0; i < n; i++) topics.push(r.string());
  return topics;
}

/** Assignment v0: version, partitions per topic, user data (none). */
export function encodeAssignment(partitions: readonly TopicPartition[]): Buffer {
  const byTopic = new Map<string, number[]>();
  for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
  const parts: Buffer[] = [int16(0), int32(byTopic.size)];
  for (const [topic, ps] of byTopic) {
    writeString(parts, topic);
    parts.push(int32(ps.length), ...ps.map(int32));
  }
  parts.push(int32(-1));
  return Buffer.concat(parts);
}

export function decodeAssignment(b: Buffer): { topic: string; partitions: number[] }[] {
  if (b.length < 6) return []; // an empty assignment (a member the leader gave nothing)
  const r = new Reader(b);
  r.int16();
  const n = r.int32();
  const out: { topic: string; partitions: number[] }[] = [];
  for (let i = 0; i < n; i++) {
    const topic = r.string();
    const count = r.int32();
    const partitions: number[] = [];
    for (let j = 0; j < count; j++) partitions.push(r.int32());
    out.push({ topic, partitions });
  }
  return out;
}

/**
 * Kafka's RangeAssignor: per topic, the members subscribed to it in member id order each take a
 * contiguous range of partitions; the first (partitions mod members) take one more. Connect's task
 * consumers are named `connector-consumer-<name>-<task>-…`, so task 0 gets the first range.
 */
export function rangeAssign(members: readonly { memberId: string; topics: readonly string[] }[], partitionCounts: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic) ?? 0;
    const subscribers = members.filter((m) => m.topics.includes(topic)).map((m) => m.memberId).sort();
    if (count === 0 || subscribers.length === 0) continue;
    const per = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    subscribers.forEach((memberId, i) => {
      const start = per * i + Math.min(i, extra);
      const length = per + (i < extra ? 1 : 0);
      for (let p = start; p < start + length; p++) out.get(memberId)!.push({ topic, partition: p });
    });
  }
  return out;
}
