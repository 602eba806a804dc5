/**
 * A task's member of consumer group `connect-<name>` on @platformatic/kafka: the library keeps the
 * membership (JoinGroup/SyncGroup, heartbeats on their own timers, so a long batch never costs the
 * membership); the fetching is ours (PartitionFetcher), so batches come per partition, ahead of
 * processing, bounded by the bytes not yet released.
 *
 * Assignment changes arrive as join events. A partition that stays keeps its position and its
 * queued batches; a revoked one is dropped at once (queued batches discarded, nothing committed
 * for it any more); a new one starts at the group's committed offset, or where auto.offset.reset
 * says when there is none.
 *
 * Outages: fetch errors are retried forever (PartitionFetcher); a membership the library gave up
 * on (its rejoin failed while the broker was away) is rejoined here with backoff. The consumer is
 * closed only by stop(), never restarted behind the owner's back.
 */
import { Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import type { Logger } from '../../api';
import type { FetchedBatch, GroupConsumer, GroupConsumerOptions, TopicPartition, TopicPartitionOffset } from '../port';
import { PartitionFetcher } from './fetcher';
import { baseOptions, fetchTuning } from './options';

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A FIFO whose shift is O(1) (batches are taken from the front many times a second). */
class BatchQueue {
  private items: (FetchedBatch | undefined)[] = [];
  private head = 0;
  get length(): number { return this.items.length - this.head; }
  push(b: FetchedBatch): void { this.items.push(b); }
  shift(): FetchedBatch | undefined {
    if (this.head >= this.items.length) return undefined;
    const b = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
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
    return bytes;
  }
  clear(): void { this.items = []; this.head = 0; }
}

export interface PlatformaticGroupConsumerDeps {
  bootstrapServers: string[];
  /** worker `consumer.*` merged with the connector's `consumer.override.*` */
  props: Readonly<Record<string, string>>;
  logger: Logger;
  listTopics(): Promise<string[]>;
}

export class PlatformaticGroupConsumer implements GroupConsumer {
  private readonly consumer: Consumer;
  private readonly fetcher: PartitionFetcher;
  private readonly tuning: ReturnType<typeof fetchTuning>;
  private readonly queue = new BatchQueue();
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
  private rejoining = false;
  private degraded = false;

  constructor(private readonly deps: PlatformaticGroupConsumerDeps, private readonly o: GroupConsumerOptions) {
    this.tuning = fetchTuning(deps.props);
    this.maxBuffered = o.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.consumer = new Consumer({
      ...baseOptions(deps.bootstrapServers, o.clientId, deps.props, 5),
      groupId: o.groupId,
      autocommit: false,
      autocreateTopics: this.tuning.allowAutoCreateTopics,
      sessionTimeout: this.tuning.sessionTimeout,
      heartbeatInterval: this.tuning.heartbeatInterval,
      rebalanceTimeout: this.tuning.rebalanceTimeout,
      maxWaitTime: this.tuning.maxWaitTime,
      maxBytes: this.tuning.maxBytes,
      minBytes: this.tuning.minBytes,
    });
    // The library emits 'error' when a rejoin failed for good (the broker was away too long):
    // without a listener that would throw; here it means "join again once the broker is back".
    this.consumer.on('error', (e: Error) => this.membershipLost(e));
    this.consumer.on('consumer:group:join', (p: { assignments?: { topic: string; partitions: number[] }[] }) => this.onJoin(p.assignments ?? []));
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
      onBatch: (b) => this.enqueue(b),
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
    await this.join();
    if (this.o.topicsRegex && !this.stopped) {
      this.regexTimer = setInterval(() => { void this.refreshRegex(); }, this.regexRefreshMs());
      this.regexTimer.unref();
    }
  }

  private regexRefreshMs(): number {
    return Number(this.deps.props['metadata.max.age.ms'] ?? 30000);
  }

  private async subscribedTopics(): Promise<string[]> {
    if (!this.o.topicsRegex) return [...(this.o.topics ?? [])];
    const all = await this.deps.listTopics();
    return all.filter((t) => this.o.topicsRegex!.test(t)).sort();
  }

  /** Joins the group, retrying with backoff while the broker, the coordinator or a topic is not there yet. */
  private async join(): Promise<void> {
    let attempt = 0;
    for (;;) {
      if (this.stopped) return;
      try {
        await this.consumer.joinGroup({
          sessionTimeout: this.tuning.sessionTimeout,
          rebalanceTimeout: this.tuning.rebalanceTimeout,
          heartbeatInterval: this.tuning.heartbeatInterval,
        });
        this.setHealthy();
        return;
      } catch (e) {
        if (this.stopped) return;
        attempt++;
        const message = (e as Error).message;
        if (attempt === 1) this.deps.logger.info(`Waiting to join consumer group ${this.o.groupId} (topics ${this.topics.join(',')}): ${message}`);
        else this.deps.logger.debug(`joining ${this.o.groupId} failed (attempt ${attempt}): ${message}`);
        if (attempt === 5) this.setDegraded(`cannot join consumer group ${this.o.groupId}: ${message}`);
        await sleep(Math.min(5000, 200 * 2 ** Math.min(5, attempt - 1)));
      }
    }
  }

  private membershipLost(e: Error): void {
    if (this.stopped || this.rejoining) return;
    this.deps.logger.debug(`consumer group ${this.o.groupId}: membership lost (${e.message}); rejoining`);
    this.rejoining = true;
    void this.join().finally(() => { this.rejoining = false; });
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
    await this.join();
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
      this.o.onRevoked?.(revoked);
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
    const byTopic = new Map<string, number[]>();
    for (const p of parts) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(p.partition);
      byTopic.set(p.topic, list);
    }
    const committed = await this.consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
    const out = new Map<string, number>();
    const missing = new Map<string, number[]>();
    for (const p of parts) {
      const c = committed.get(p.topic)?.[p.partition];
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
    if (b) return Promise.resolve(b);
    this.fetcher.kick();
    return new Promise((resolve) => { this.waiter = resolve; });
  }

  release(batch: FetchedBatch): void {
    this.buffered -= batch.bytes;
    if (this.buffered < this.maxBuffered) this.fetcher.kick();
  }

  owns(topic: string, partition: number): boolean {
    return this.owned.has(key(topic, partition));
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
    this.fetcher.seek(topic, partition, offset);
  }

  /** The library's consumer: a transactional producer of the same client commits offsets for its group. */
  get groupMember(): Consumer {
    return this.consumer;
  }

  async committed(partitions: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    const res = await this.consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })) });
    const out: TopicPartitionOffset[] = [];
    for (const p of partitions) {
      const o = res.get(p.topic)?.[p.partition];
      if (o !== undefined && o >= 0n) out.push({ topic: p.topic, partition: p.partition, offset: Number(o) });
    }
    return out;
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    const mine = offsets.filter((o) => this.owned.has(key(o.topic, o.partition)));
    if (mine.length === 0 || this.stopped) return;
    await this.consumer.commit({ offsets: mine.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: -1 })) });
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
    // LeaveGroup first (the partitions move at once instead of after session.timeout.ms), then the
    // connections; when the broker is away the leave is given up after a bound.
    this.stopping = (async () => {
      const closing = this.consumer.close(true).catch((e: Error) => this.deps.logger.debug(`closing consumer ${this.o.groupId}: ${e.message}`));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closing, new Promise<void>((r) => { timer = setTimeout(r, 10_000); })]);
      if (timer) clearTimeout(timer);
    })();
    return this.stopping;
  }
}
