/**
 * A task's member of consumer group `connect-<name>` on @platformatic/kafka. The membership is
 * ours (PlatformaticGroupMembership: JoinGroup/SyncGroup with Kafka's "consumer" protocol and range
 * assignor, heartbeats on their own timer, so a long batch never costs the membership); so is the
 * fetching (PartitionFetcher: batches per partition, ahead of processing, bounded by the bytes not
 * yet released). The library's Consumer serves fetches, metadata and offset lookups.
 *
 * Rebalances are eager, as the Java consumer's classic protocol is: before joining again the member
 * gives back every partition (onRevoked with `committable`), and the task finishes and commits what
 * it has put while its generation is still valid; the next owner (this task again, or another)
 * starts at that committed offset, so a rebalance delivers nothing twice. A membership the group
 * has already dropped (session expired) gives its partitions back without a commit. A new partition
 * starts at the group's committed offset, or where auto.offset.reset says when there is none.
 *
 * Outages: fetch errors are retried forever (PartitionFetcher); the membership rejoins with backoff.
 * The consumer is closed only by stop(), never restarted behind the owner's back.
 */
import { Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import type { Logger } from '../../api';
import type { FetchedBatch, GroupConsumer, GroupConsumerOptions, TopicPartition, TopicPartitionOffset } from '../port';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, RANGE_PROTOCOL, rangeAssign } from './consumer-protocol';
import { PartitionFetcher } from './fetcher';
import { PlatformaticGroupMembership, type TransactionIdentity } from './group-membership';
import { withSecurityReason } from './errors';
import { baseOptions, fetchTuning, libraryGroupId, type ConnectionSecurity } from './options';

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A FIFO whose shift is O(1) (batches are taken from the front many times a second). A batch
 * fetched while an earlier one of the same partition still waits is appended to that one, up to
 * `maxRecords` (max.poll.records): fetching ahead of a busy task returns a few records at a time
 * (what arrived since the last fetch), and a task handed each of them alone pays its per-batch
 * costs (a model call, a commit check) per handful of records, falls behind a trickle of 2,000
 * records/s and never catches up.
 */
class BatchQueue {
  private items: (FetchedBatch | undefined)[] = [];
  private head = 0;
  /** the last queued batch of each partition (not handed out yet) */
  private readonly tails = new Map<string, FetchedBatch>();
  constructor(private readonly maxRecords: number) {}
  get length(): number { return this.items.length - this.head; }
  push(b: FetchedBatch): void {
    const k = key(b.topic, b.partition);
    const tail = this.tails.get(k);
    if (tail && tail.messages.length + b.messages.length <= this.maxRecords) {
      for (const m of b.messages) tail.messages.push(m);
      (tail as { bytes: number }).bytes += b.bytes;
      return;
    }
    this.items.push(b);
    this.tails.set(k, b);
  }
  peek(): FetchedBatch | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }
  shift(): FetchedBatch | undefined {
    if (this.head >= this.items.length) return undefined;
    const b = this.items[this.head]!;
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
    const k = key(b.topic, b.partition);
    if (this.tails.get(k) === b) this.tails.delete(k);
    return b;
  }
  /** removes every batch matching `drop`; returns their bytes */
  remove(drop: (b: FetchedBatch) => boolean): number {
    let bytes = 0;
    const kept: FetchedBatch[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const b = this.items[i]!;
      if (drop(b)) bytes += b.bytes; else kept.push(b);
    }
    this.items = kept;
    this.head = 0;
    this.tails.clear();
    for (const b of kept) this.tails.set(key(b.topic, b.partition), b);
    return bytes;
  }
  clear(): void { this.items = []; this.head = 0; this.tails.clear(); }
}

export interface PlatformaticGroupConsumerDeps {
  bootstrapServers: string[];
  /** TLS and SASL of this consumer (its group membership included) */
  connection: ConnectionSecurity;
  /** worker `consumer.*` merged with the connector's `consumer.override.*` */
  props: Readonly<Record<string, string>>;
  logger: Logger;
  listTopics(): Promise<string[]>;
}

export class PlatformaticGroupConsumer implements GroupConsumer {
  private readonly consumer: Consumer;
  private readonly fetcher: PartitionFetcher;
  private readonly tuning: ReturnType<typeof fetchTuning>;
  private readonly queue: BatchQueue;
  private readonly maxBuffered: number;
  private waiter?: (b: FetchedBatch | null) => void;
  private buffered = 0;
  private paused = false;
  private stopped = false;
  private stopping?: Promise<void>;
  /** partitions of the current assignment */
  private owned = new Set<string>();
  /** owned partitions whose start position is being looked up */
  private readonly resolving = new Set<string>();
  private topics: string[] = [];
  private regexTimer?: NodeJS.Timeout;
  private degraded = false;
  private readonly membership: PlatformaticGroupMembership;
  private joined?: () => void;
  /** batches handed out by next() and not yet released */
  private readonly handedOut = new Set<FetchedBatch>();
  /** handed-out batches whose partition was given back or moved since (never to be processed) */
  private readonly stale = new WeakSet<FetchedBatch>();
  private stopWaiting?: () => void;

  constructor(private readonly deps: PlatformaticGroupConsumerDeps, private readonly o: GroupConsumerOptions) {
    this.tuning = fetchTuning(deps.props);
    this.maxBuffered = o.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.queue = new BatchQueue(this.tuning.maxPollRecords);
    this.consumer = new Consumer({
      ...baseOptions(deps.bootstrapServers, o.clientId, deps.props, 5, deps.connection),
      groupId: libraryGroupId(o.groupId),
      autocommit: false,
      autocreateTopics: this.tuning.allowAutoCreateTopics,
      sessionTimeout: this.tuning.sessionTimeout,
      heartbeatInterval: this.tuning.heartbeatInterval,
      rebalanceTimeout: this.tuning.rebalanceTimeout,
      maxWaitTime: this.tuning.maxWaitTime,
      maxBytes: this.tuning.maxBytes,
      minBytes: this.tuning.minBytes,
    });
    // the library never joins the group here; anything it reports is only worth a debug line
    this.consumer.on('error', (e: Error) => this.deps.logger.debug(`consumer ${o.groupId}: ${e.message}`));
    this.membership = new PlatformaticGroupMembership(deps.bootstrapServers, deps.connection, {
      groupId: o.groupId,
      clientId: o.clientId,
      protocolType: 'consumer',
      sessionTimeoutMs: this.tuning.sessionTimeout,
      rebalanceTimeoutMs: this.tuning.rebalanceTimeout,
      heartbeatIntervalMs: this.tuning.heartbeatInterval,
      protocols: () => [{ name: RANGE_PROTOCOL, metadata: encodeSubscription(this.topics) }],
      assign: (g) => this.assign(g.members),
      onAssigned: (a) => {
        this.setHealthy();
        this.onJoin(decodeAssignment(a.assignment));
        this.joined?.();
      },
      beforeRejoin: (stillMember) => this.giveBackAll(stillMember),
      onLost: () => { void this.giveBackAll(false); },
      onJoinFailing: (failures, e) => {
        // refused credentials or an untrusted certificate will not mend by waiting: the task fails with the reason
        const security = withSecurityReason(e);
        if (security !== e) {
          if (failures === 1 && !this.stopped) this.o.onFatal?.(security);
          return;
        }
        if (failures === 1) this.deps.logger.info(`Waiting to join consumer group ${o.groupId} (topics ${this.topics.join(',')}): ${e.message}`);
        if (failures === 5) this.setDegraded(`cannot join consumer group ${o.groupId}: ${e.message}`);
      },
    }, deps.logger);
    this.fetcher = new PartitionFetcher({
      consumer: this.consumer,
      maxWaitTime: this.tuning.maxWaitTime,
      minBytes: this.tuning.minBytes,
      // never ask for more than the buffer may still take, but at least one partition's worth
      maxBytes: Math.max(this.tuning.maxBytesPerPartition, Math.min(this.tuning.maxBytes, this.maxBuffered)),
      maxBytesPerPartition: this.tuning.maxBytesPerPartition,
      isolationLevel: o.readCommitted ? 'read_committed' : this.tuning.isolationLevel,
      offsetReset: this.tuning.offsetReset,
      canFetch: () => !this.paused && !this.stopped && this.buffered < this.maxBuffered,
      onBatch: (b, highWatermark) => this.enqueue({ ...b, highWatermark }),
      onRetrying: (failures, e) => {
        this.deps.logger.debug(`fetch failed (${failures} in a row), retrying: ${e.message} (${o.groupId})`);
        if (failures === 3) this.setDegraded(`cannot fetch from Kafka: ${e.message}`);
      },
      onHealthy: () => this.setHealthy(),
      onFatal: (e) => { if (!this.stopped) this.o.onFatal?.(e); },
    });
  }

  async start(): Promise<void> {
    this.topics = await this.subscribedTopics();
    while (this.topics.length === 0 && this.o.topicsRegex && !this.stopped) {
      // nothing matches yet: look again every metadata.max.age.ms (Connect's regex subscriptions do the same)
      await sleep(this.regexRefreshMs());
      this.topics = await this.subscribedTopics().catch(() => []);
    }
    if (this.stopped) return;
    this.consumer.topics.trackAll(...this.topics);
    // resolves with the first assignment (the member may wait there while the broker is away)
    await new Promise<void>((resolve) => {
      this.joined = resolve;
      this.stopWaiting = resolve;
      this.membership.start();
    });
    this.joined = undefined;
    if (this.o.topicsRegex && !this.stopped) {
      this.regexTimer = setInterval(() => { void this.refreshRegex(); }, this.regexRefreshMs());
      this.regexTimer.unref();
    }
  }

  /** The leader's job: Kafka's range assignment over the subscribed topics' partitions. */
  private async assign(members: { memberId: string; metadata: Buffer }[]): Promise<Map<string, Buffer>> {
    const subscriptions = members.map((m) => ({ memberId: m.memberId, topics: decodeSubscription(m.metadata) }));
    const topics = [...new Set(subscriptions.flatMap((m) => m.topics))];
    const counts = new Map<string, number>();
    if (topics.length > 0) {
      const metadata = await this.consumer.metadata({ topics, autocreateTopics: this.tuning.allowAutoCreateTopics });
      for (const t of topics) {
        const n = metadata.topics.get(t)?.partitionsCount;
        if (n) counts.set(t, n);
      }
    }
    const out = new Map<string, Buffer>();
    for (const [memberId, parts] of rangeAssign(subscriptions, counts)) out.set(memberId, encodeAssignment(parts));
    return out;
  }

  /**
   * Gives every partition back before the member joins again: fetching them stops, their queued
   * batches are dropped, and the owner commits what it has put (when `stillMember`) before the
   * partitions leave `owned`, so commit() still takes their offsets meanwhile.
   */
  private async giveBackAll(stillMember: boolean): Promise<void> {
    for (const b of this.handedOut) this.stale.add(b);
    const revoked: TopicPartition[] = [];
    for (const k of this.owned) {
      const sep = k.lastIndexOf('\u0000');
      const tp = { topic: k.slice(0, sep), partition: Number(k.slice(sep + 1)) };
      revoked.push(tp);
      this.fetcher.remove(tp.topic, tp.partition);
      this.resolving.delete(k);
    }
    this.buffered -= this.queue.remove(() => true);
    if (revoked.length > 0 && !this.stopped) {
      try {
        await this.o.onRevoked?.(revoked, { committable: stillMember });
      } catch (e) {
        this.deps.logger.warn(`committing before giving partitions back failed (${this.o.groupId}): ${(e as Error).message}`);
      }
    }
    this.owned = new Set();
  }

  private regexRefreshMs(): number {
    return Number(this.deps.props['metadata.max.age.ms'] ?? 30000);
  }

  private async subscribedTopics(): Promise<string[]> {
    if (!this.o.topicsRegex) return [...(this.o.topics ?? [])];
    const all = await this.deps.listTopics();
    return all.filter((t) => this.o.topicsRegex!.test(t)).sort();
  }

  private async refreshRegex(): Promise<void> {
    if (this.stopped) return;
    let now: string[];
    try {
      now = await this.subscribedTopics();
    } catch {
      return;
    }
    const added = now.filter((t) => !this.topics.includes(t));
    if (added.length === 0 || this.stopped) return;
    this.deps.logger.info(`New topics match ${String(this.o.topicsRegex)}: ${added.join(',')}; rejoining (${this.o.groupId})`);
    this.topics = now;
    this.consumer.topics.trackAll(...added);
    this.membership.requestRejoin(`new topics ${added.join(',')}`);
  }

  private onJoin(assignments: { topic: string; partitions: number[] }[]): void {
    if (this.stopped) return;
    const now = new Set<string>();
    const parts = new Map<string, TopicPartition>();
    for (const a of assignments) for (const partition of a.partitions) {
      const k = key(a.topic, partition);
      now.add(k);
      parts.set(k, { topic: a.topic, partition });
    }
    const revoked: TopicPartition[] = [];
    for (const k of this.owned) {
      if (now.has(k)) continue;
      const sep = k.lastIndexOf('\u0000');
      const tp = { topic: k.slice(0, sep), partition: Number(k.slice(sep + 1)) };
      revoked.push(tp);
      this.fetcher.remove(tp.topic, tp.partition);
      this.resolving.delete(k);
    }
    this.owned = now;
    if (revoked.length > 0) {
      const gone = new Set(revoked.map((r) => key(r.topic, r.partition)));
      this.buffered -= this.queue.remove((b) => gone.has(key(b.topic, b.partition)));
      for (const b of this.handedOut) if (gone.has(key(b.topic, b.partition))) this.stale.add(b);
      void this.o.onRevoked?.(revoked, { committable: false });
    }
    const fresh = [...parts].filter(([k, tp]) => !this.fetcher.has(tp.topic, tp.partition) && !this.resolving.has(k)).map(([, tp]) => tp);
    if (fresh.length > 0) void this.startPartitions(fresh);
  }

  /** Looks up where each new partition starts (committed offset, else auto.offset.reset), retrying until it knows. */
  private async startPartitions(parts: TopicPartition[]): Promise<void> {
    for (const p of parts) this.resolving.add(key(p.topic, p.partition));
    let attempt = 0;
    for (;;) {
      const pending = parts.filter((p) => this.resolving.has(key(p.topic, p.partition)) && this.owned.has(key(p.topic, p.partition)));
      if (pending.length === 0 || this.stopped) return;
      try {
        const positions = await this.startPositions(pending);
        const started: TopicPartition[] = [];
        for (const p of pending) {
          const k = key(p.topic, p.partition);
          if (!this.resolving.delete(k) || !this.owned.has(k)) continue;
          this.fetcher.add(p.topic, p.partition, positions.get(k)!);
          started.push(p);
        }
        if (started.length > 0) this.o.onAssigned?.(started);
        return;
      } catch (e) {
        if (this.stopped) return;
        attempt++;
        if ((e as { fatal?: boolean }).fatal) {
          this.o.onFatal?.(e as Error);
          return;
        }
        this.deps.logger.debug(`looking up start offsets of ${this.o.groupId} failed (attempt ${attempt}): ${(e as Error).message}`);
        await sleep(Math.min(5000, 200 * 2 ** Math.min(5, attempt - 1)));
      }
    }
  }

  private async startPositions(parts: TopicPartition[]): Promise<Map<string, number>> {
    const committed = await this.membership.fetchCommittedOffsets(parts);
    const out = new Map<string, number>();
    const missing = new Map<string, number[]>();
    for (const p of parts) {
      const c = committed.get(p.topic)?.get(p.partition);
      if (c !== undefined && c >= 0n) out.set(key(p.topic, p.partition), Number(c));
      else {
        const list = missing.get(p.topic) ?? [];
        list.push(p.partition);
        missing.set(p.topic, list);
      }
    }
    if (missing.size === 0) return out;
    if (this.tuning.offsetReset === 'none') {
      throw Object.assign(new Error(`No committed offset for ${[...missing].map(([t, ps]) => ps.map((p) => `${t}-${p}`).join(',')).join(',')} in group ${this.o.groupId} and auto.offset.reset is none`), { fatal: true });
    }
    const timestamp = this.tuning.offsetReset === 'latest' ? ListOffsetTimestamps.LATEST : ListOffsetTimestamps.EARLIEST;
    const listed = await this.consumer.listOffsets({ topics: [...missing.keys()], partitions: Object.fromEntries(missing), timestamp });
    for (const [topic, partitions] of missing) for (const partition of partitions) {
      const o = listed.get(topic)?.[partition];
      if (o === undefined || o < 0n) throw new Error(`no ${this.tuning.offsetReset} offset for ${topic}-${partition}`);
      out.set(key(topic, partition), Number(o));
    }
    return out;
  }

  private enqueue(batch: FetchedBatch): void {
    if (!this.owned.has(key(batch.topic, batch.partition))) return;
    this.buffered += batch.bytes;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      this.handedOut.add(batch);
      w(batch);
    } else this.queue.push(batch);
  }

  private setDegraded(reason: string): void {
    if (this.degraded || this.stopped) return;
    this.degraded = true;
    this.o.onDegraded?.(reason);
  }

  private setHealthy(): void {
    if (!this.degraded || this.stopped) return;
    this.degraded = false;
    this.o.onRecovered?.();
  }

  next(): Promise<FetchedBatch | null> {
    if (this.stopped) return Promise.resolve(null);
    const b = this.queue.shift();
    if (b) {
      this.handedOut.add(b);
      return Promise.resolve(b);
    }
    this.fetcher.kick();
    return new Promise((resolve) => { this.waiter = resolve; });
  }

  async nextPoll(): Promise<FetchedBatch[] | null> {
    const first = await this.next();
    if (!first) return null;
    const out = [first];
    let records = first.messages.length;
    for (let b = this.queue.peek(); b && records + b.messages.length <= this.tuning.maxPollRecords; b = this.queue.peek()) {
      this.queue.shift();
      this.handedOut.add(b);
      out.push(b);
      records += b.messages.length;
    }
    return out;
  }

  release(batch: FetchedBatch): void {
    this.handedOut.delete(batch);
    this.buffered -= batch.bytes;
    if (this.buffered < this.maxBuffered) this.fetcher.kick();
  }

  owns(topic: string, partition: number): boolean {
    return this.owned.has(key(topic, partition));
  }

  isCurrent(batch: FetchedBatch): boolean {
    return this.owned.has(key(batch.topic, batch.partition)) && !this.stale.has(batch);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.fetcher.kick();
  }

  seek(topic: string, partition: number, offset: number): void {
    const k = key(topic, partition);
    this.buffered -= this.queue.remove((b) => key(b.topic, b.partition) === k);
    for (const b of this.handedOut) if (key(b.topic, b.partition) === k) this.stale.add(b);
    this.fetcher.seek(topic, partition, offset);
  }

  /** What a transactional producer needs to commit offsets for this member's group (KIP-447). */
  get groupMember(): { groupId: string; generationId: number; memberId: string; coordinatorId: number } {
    return { groupId: this.o.groupId, generationId: this.membership.generation, memberId: this.membership.memberId ?? '', coordinatorId: this.membership.coordinatorId };
  }

  /** Exactly-once: the offsets of the partitions this member owns, in the producer's transaction (one request). */
  async commitInTransaction(producer: TransactionIdentity, offsets: TopicPartitionOffset[]): Promise<void> {
    await this.membership.commitOffsetsInTransaction(producer, offsets.filter((o) => this.owned.has(key(o.topic, o.partition))));
  }

  async committed(partitions: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    const res = await this.membership.fetchCommittedOffsets(partitions);
    const out: TopicPartitionOffset[] = [];
    for (const p of partitions) {
      const o = res.get(p.topic)?.get(p.partition);
      if (o !== undefined && o >= 0n) out.push({ topic: p.topic, partition: p.partition, offset: Number(o) });
    }
    return out;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const mine = offsets.filter((o) => this.owned.has(key(o.topic, o.partition)));
    if (mine.length === 0 || this.stopped) return;
    await this.membership.commitOffsets(mine);
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopped = true;
    if (this.regexTimer) clearInterval(this.regexTimer);
    this.fetcher.stop();
    this.queue.clear();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(null);
    }
    this.stopWaiting?.();
    // LeaveGroup first (the partitions move at once instead of after session.timeout.ms), then the
    // connections; when the broker is away the leave is given up after a bound (inside stop()).
    this.stopping = (async () => {
      await this.membership.stop().catch((e: Error) => this.deps.logger.debug(`leaving ${this.o.groupId}: ${e.message}`));
      const closing = this.consumer.close(true).catch((e: Error) => this.deps.logger.debug(`closing consumer ${this.o.groupId}: ${e.message}`));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closing, new Promise<void>((r) => { timer = setTimeout(r, 10_000); })]);
      if (timer) clearTimeout(timer);
    })();
    return this.stopping;
  }
}
