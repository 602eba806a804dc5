/**
 * The fetch loop under both the task consumer and the topic reader: for every partition it is
 * given (with a position), one Fetch request per leader broker is kept in flight; each response
 * is turned into one batch per partition, handed over in offset order, and the next request for
 * that broker goes out at once, so fetching overlaps with whatever the caller does with the
 * batches. The caller's `canFetch()` is the backpressure: while it says no, no new request goes out.
 *
 * Errors: OFFSET_OUT_OF_RANGE resets the partition as `auto.offset.reset` says; every other error
 * (broker unreachable, leader moved, coordinator loading) is retried with backoff, forever: an
 * outage is reported through onRetrying and never ends the loop by itself.
 */
import type { Consumer } from '@platformatic/kafka';
import { NO_HEADERS, type FetchedBatch, type ConsumedMessage } from '../port';
import { withSecurityReason } from './errors';

type FetchOptions = Parameters<Consumer['fetch']>[0];
type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
type RecordsBatch = NonNullable<FetchResponse['responses'][number]['partitions'][number]['records']>[number];

const IS_CONTROL = 0x20;
const IS_TRANSACTIONAL = 0x10;
const LOG_APPEND_TIME = 0x08;
const OFFSET_OUT_OF_RANGE = 1;

export interface FetcherOptions {
  consumer: Consumer;
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  maxBytesPerPartition: number;
  isolationLevel: 'read_uncommitted' | 'read_committed';
  offsetReset: 'earliest' | 'latest' | 'none';
  /** a batch of one partition, in offset order; `end` is the partition's high watermark seen with it */
  onBatch(batch: FetchedBatch, highWatermark: number): void;
  /** the position after a fetch that delivered nothing, or nothing past its last message (markers, aborted records); lets readers know where the end is */
  onCaughtUp?(topic: string, partition: number, position: number, highWatermark: number): void;
  /** backpressure and pause: no request goes out while false */
  canFetch(): boolean;
  /** consecutive failures so far and the last error (for status and logs) */
  onRetrying?(failures: number, error: Error): void;
  onHealthy?(): void;
  /** an error that retrying cannot fix (offset out of range with auto.offset.reset=none) */
  onFatal(error: Error): void;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  position: number;
  /** bumped on seek/reset: a response to an older request is dropped */
  generation: number;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class PartitionFetcher {
  private readonly parts = new Map<string, PartitionState>();
  private readonly busyNodes = new Set<number>();
  private scheduled = false;
  private stopped = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly o: FetcherOptions) {}

  get partitions(): { topic: string; partition: number; position: number }[] {
    return [...this.parts.values()].map((p) => ({ topic: p.topic, partition: p.partition, position: p.position }));
  }

  has(topic: string, partition: number): boolean {
    return this.parts.has(key(topic, partition));
  }

  position(topic: string, partition: number): number | undefined {
    return this.parts.get(key(topic, partition))?.position;
  }

  add(topic: string, partition: number, position: number): void {
    this.parts.set(key(topic, partition), { topic, partition, position, generation: 0 });
    this.kick();
  }

  remove(topic: string, partition: number): void {
    this.parts.delete(key(topic, partition));
  }

  seek(topic: string, partition: number, position: number): void {
    const p = this.parts.get(key(topic, partition));
    if (!p) return;
    p.position = position;
    p.generation++;
    this.kick();
  }

  /** Starts a fetch round soon (idempotent; cheap to call after every release). */
  kick(): void {
    if (this.scheduled || this.stopped || this.retryTimer) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.round();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.parts.clear();
  }

  private round(): void {
    if (this.stopped || this.parts.size === 0 || !this.o.canFetch()) return;
    const topics = [...new Set([...this.parts.values()].map((p) => p.topic))];
    this.o.consumer.metadata({ topics }).then((metadata) => {
      if (this.stopped || !this.o.canFetch()) return;
      const byNode = new Map<number, { topicIds: Map<string, string>; requests: Map<string, { partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }[]>; sent: Map<string, { state: PartitionState; generation: number; offset: number }> }>();
      for (const p of this.parts.values()) {
        const t = metadata.topics.get(p.topic);
        const leader = t?.partitions[p.partition]?.leader;
        if (t === undefined || leader === undefined || leader < 0 || this.busyNodes.has(leader)) continue;
        let entry = byNode.get(leader);
        if (!entry) byNode.set(leader, (entry = { topicIds: new Map(), requests: new Map(), sent: new Map() }));
        entry.topicIds.set(t.id, p.topic);
        let list = entry.requests.get(t.id);
        if (!list) entry.requests.set(t.id, (list = []));
        list.push({ partition: p.partition, fetchOffset: BigInt(p.position), partitionMaxBytes: this.o.maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
        entry.sent.set(key(p.topic, p.partition), { state: p, generation: p.generation, offset: p.position });
      }
      for (const [node, entry] of byNode) this.fetchFrom(node, entry);
    }, (e: Error) => this.retryLater(e));
  }

  private fetchFrom(node: number, entry: { topicIds: Map<string, string>; requests: Map<string, FetchOptions['topics'][number]['partitions']>; sent: Map<string, { state: PartitionState; generation: number; offset: number }> }): void {
    this.busyNodes.add(node);
    const options: FetchOptions = {
      node,
      topics: [...entry.requests].map(([topicId, partitions]) => ({ topicId, partitions })),
      maxWaitTime: this.o.maxWaitTime,
      minBytes: this.o.minBytes,
      maxBytes: this.o.maxBytes,
      isolationLevel: this.o.isolationLevel === 'read_committed' ? 1 : 0,
    };
    this.o.consumer.fetch(options).then((response) => {
      this.busyNodes.delete(node);
      if (this.stopped) return;
      if (this.failures > 0) {
        this.failures = 0;
        this.o.onHealthy?.();
      }
      this.deliver(response, entry.topicIds, entry.sent);
      this.kick();
    }, (e: Error & { response?: FetchResponse }) => {
      this.busyNodes.delete(node);
      if (this.stopped) return;
      if (e.response && this.resetOutOfRange(e.response, entry.topicIds, entry.sent)) {
        this.kick();
        return;
      }
      this.o.consumer.clearMetadata();
      this.retryLater(e);
    });
  }

  private deliver(response: FetchResponse, topicIds: Map<string, string>, sent: Map<string, { state: PartitionState; generation: number; offset: number }>): void {
    for (const t of response.responses) {
      const topic = topicIds.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const k = key(topic, p.partitionIndex);
        const request = sent.get(k);
        // not asked for in this request (an incremental fetch session may add partitions), or sought since
        if (!request || this.parts.get(k) !== request.state || request.state.generation !== request.generation || request.state.position !== request.offset) continue;
        const state = request.state;
        const highWatermark = Number(p.highWatermark);
        const batches = p.records;
        if (!batches || batches.length === 0) {
          this.o.onCaughtUp?.(topic, p.partitionIndex, state.position, highWatermark);
          continue;
        }
        const { messages, bytes, next } = toMessages(batches, topic, p.partitionIndex, request.offset, p.abortedTransactions);
        state.position = Math.max(state.position, next);
        if (messages.length > 0) this.o.onBatch({ topic, partition: p.partitionIndex, messages, bytes }, highWatermark);
        // the position also moved past what is never delivered (transaction markers, aborted records):
        // a reader waiting for the end must learn it now, as a fetch session's later answers may omit
        // the partition altogether once nothing changes there
        if (messages.length === 0 || next > messages[messages.length - 1]!.offset + 1) this.o.onCaughtUp?.(topic, p.partitionIndex, state.position, highWatermark);
      }
    }
  }

  /** OFFSET_OUT_OF_RANGE: move to the log start or end as auto.offset.reset says; false when nothing was reset. */
  private resetOutOfRange(response: FetchResponse, topicIds: Map<string, string>, sent: Map<string, { state: PartitionState; generation: number; offset: number }>): boolean {
    let reset = false;
    for (const t of response.responses ?? []) {
      const topic = topicIds.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        if (p.errorCode !== OFFSET_OUT_OF_RANGE) continue;
        const request = sent.get(key(topic, p.partitionIndex));
        if (!request || this.parts.get(key(topic, p.partitionIndex)) !== request.state) continue;
        if (this.o.offsetReset === 'none') {
          this.o.onFatal(new Error(`Fetch position ${request.offset} is out of range for partition ${topic}-${p.partitionIndex} and auto.offset.reset is none`));
          return true;
        }
        const to = this.o.offsetReset === 'latest' ? Number(p.highWatermark) : Number(p.logStartOffset);
        if (to < 0) continue;
        request.state.position = to;
        request.state.generation++;
        reset = true;
      }
    }
    return reset;
  }

  private retryLater(error: Error): void {
    if (this.stopped || this.retryTimer) return;
    // refused credentials or an untrusted certificate: no outage to wait out
    const security = withSecurityReason(error);
    if (security !== error) {
      this.stop();
      this.o.onFatal(security);
      return;
    }
    this.failures++;
    this.o.onRetrying?.(this.failures, error);
    const delay = Math.min(5000, 100 * 2 ** Math.min(6, this.failures - 1));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.round();
    }, delay);
  }
}

/**
 * Turns record batches into messages from `from` on: control batches (transaction markers) are
 * skipped, as are records before `from` (a fetch returns whole batches). `next` is the offset after
 * the last batch, which moves the position past trailing control records too.
 */
export function toMessages(
  batches: RecordsBatch[], topic: string, partition: number, from: number,
  abortedTransactions?: readonly { producerId: bigint; firstOffset: bigint }[] | null,
): { messages: ConsumedMessage[]; bytes: number; next: number } {
  const messages: ConsumedMessage[] = [];
  let bytes = 0;
  let next = from;
  // read_committed: the broker sends records up to the last stable offset, aborted ones included,
  // with the aborted transactions (producer id, first offset) of the range; the client drops a
  // transactional batch of such a producer until that producer's abort marker (as Kafka's own
  // consumer does). Without this, a reader would apply what a dead task instance never committed.
  const pending = abortedTransactions && abortedTransactions.length > 0
    ? [...abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
    : [];
  const abortedProducers = new Set<bigint>();
  for (const batch of batches) {
    const base = Number(batch.firstOffset);
    const last = base + batch.lastOffsetDelta;
    if (last + 1 > next) next = last + 1;
    while (pending.length > 0 && pending[0]!.firstOffset <= BigInt(last)) abortedProducers.add(pending.shift()!.producerId);
    if ((batch.attributes & IS_CONTROL) !== 0) {
      // the producer's marker ends its aborted transaction: its later batches are committed ones
      abortedProducers.delete(batch.producerId);
      continue;
    }
    if ((batch.attributes & IS_TRANSACTIONAL) !== 0 && abortedProducers.has(batch.producerId)) continue;
    const logAppend = (batch.attributes & LOG_APPEND_TIME) !== 0;
    const firstTs = Number(batch.firstTimestamp);
    const maxTs = Number(batch.maxTimestamp);
    for (const r of batch.records) {
      const offset = base + r.offsetDelta;
      if (offset < from) continue;
      const ts = logAppend ? maxTs : firstTs + Number(r.timestampDelta);
      let headers: readonly { key: string; value: Buffer | null }[] = NO_HEADERS;
      if (r.headers.length > 0) {
        const list: { key: string; value: Buffer | null }[] = new Array(r.headers.length);
        for (let i = 0; i < r.headers.length; i++) {
          const [k, v] = r.headers[i]!;
          list[i] = { key: k === null ? '' : k.toString('utf8'), value: v };
        }
        headers = list;
      }
      messages.push({ topic, partition, offset, timestamp: ts >= 0 ? ts : null, key: r.key, value: r.value, headers });
      bytes += r.length + 64;
    }
  }
  return { messages, bytes, next };
}
