/**
 * Membership of a group with a protocol type of our own (Connect's "connect" worker groups), on
 * @platformatic/kafka's protocol API: FindCoordinator, JoinGroup, SyncGroup, Heartbeat and
 * LeaveGroup, each a request on a connection to the coordinator. The member loop:
 *
 *   find the coordinator → JoinGroup (the leader gets every member's metadata) → the leader computes
 *   the assignments → SyncGroup (each member gets its own) → heartbeat every heartbeat.interval.ms
 *   until the coordinator says a rebalance is due (REBALANCE_IN_PROGRESS), the generation is gone
 *   (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) or a rejoin was requested → JoinGroup again.
 *
 * JoinGroup and SyncGroup wait on the broker side (up to rebalance.timeout.ms), so they use their
 * own connection; heartbeats use another. When the coordinator cannot be reached for longer than
 * the session timeout, the member counts its membership as lost (onLost): the group has moved its
 * work elsewhere by then.
 */
import { Connection, FindCoordinatorKeyTypes, findCoordinatorV6, heartbeatV4, joinGroupV9, leaveGroupV5, offsetCommitV8, offsetFetchV8, syncGroupV5, txnOffsetCommitV4 } from '@platformatic/kafka';
import type { Logger } from '../../api';
import type { GroupMembership, GroupMembershipOptions, TopicPartitionOffset } from '../port';
import { hasApiError } from './errors';
import type { ConnectionSecurity } from './options';

/** How long a TxnOffsetCommit is asked again on retriable answers (well within a transaction's timeout). */
const TXN_OFFSET_COMMIT_RETRY_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Endpoint { host: string; port: number }

function parseServer(s: string): Endpoint {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

class RejoinNeeded extends Error {}

/** The transactional producer whose open transaction carries the offsets. */
export interface TransactionIdentity { transactionalId: string; producerId: bigint; producerEpoch: number }

export class PlatformaticGroupMembership implements GroupMembership {
  private stopped = false;
  private running?: Promise<void>;
  private joinConnection?: Connection;
  private heartbeatConnection?: Connection;
  private coordinator?: Endpoint;
  private rejoinReason?: string;
  private wakeHeartbeat?: () => void;
  private lastContact = Date.now();
  private lostReported = false;
  /** whether the member holds an assignment it has not given back (see giveBack) */
  private assigned = false;
  memberId: string | null = null;
  generation = -1;
  /** the coordinator's broker id (a transactional producer sends the group's offsets there) */
  coordinatorId = -1;

  constructor(private readonly bootstrapServers: string[], private readonly connection: ConnectionSecurity, private readonly o: GroupMembershipOptions, private readonly log: Logger) {}

  start(): void {
    this.running ??= this.loop();
  }

  requestRejoin(reason: string): void {
    this.rejoinReason ??= reason;
    this.wakeHeartbeat?.();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.joinAndSync();
        if (this.stopped) return;
        failures = 0;
        await this.heartbeatUntilRebalance();
      } catch (e) {
        if (this.stopped) return;
        const error = e as Error;
        if (hasApiError(error, 'UNKNOWN_MEMBER_ID') || hasApiError(error, 'ILLEGAL_GENERATION') || hasApiError(error, 'FENCED_INSTANCE_ID')) {
          if (hasApiError(error, 'UNKNOWN_MEMBER_ID')) this.memberId = null;
          await this.giveBack(false);
          continue;
        }
        if (e instanceof RejoinNeeded || hasApiError(error, 'REBALANCE_IN_PROGRESS')) {
          await this.giveBack(true);
          continue;
        }
        failures++;
        this.o.onJoinFailing?.(failures, error);
        await this.resetConnections();
        this.checkLost();
        if (failures === 1) this.log.debug(`group ${this.o.groupId}: ${error.message}; retrying`);
        await this.pause(Math.min(5000, 200 * 2 ** Math.min(5, failures - 1)));
      }
    }
  }

  /**
   * Before joining again, the member gives its assignment back (eager rebalancing): `beforeRejoin`
   * lets the owner finish and commit its work while the generation is still valid (`stillMember`),
   * so the next owner starts exactly where this one stopped. The group waits for the JoinGroup
   * up to rebalance.timeout.ms meanwhile.
   */
  private async giveBack(stillMember: boolean): Promise<void> {
    if (!this.assigned) return;
    this.assigned = false;
    try {
      await this.o.beforeRejoin?.(stillMember);
    } catch (e) {
      this.log.warn(`group ${this.o.groupId}: giving the assignment back failed: ${(e as Error).message}`);
    }
  }

  /**
   * Commits offsets for the group with this member's generation (Kafka refuses them from a member
   * of an older generation, or once the group is completing a rebalance).
   */
  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    if (this.memberId === null || this.generation < 0) throw new Error(`not a member of group ${this.o.groupId} (rejoining)`);
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string }[]>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, committedMetadata: '' });
      byTopic.set(o.topic, list);
    }
    const c = await this.heartbeatConnectionFor();
    try {
      await offsetCommitV8.api.async(c, this.o.groupId, this.generation, this.memberId, null, [...byTopic].map(([name, partitions]) => ({ name, partitions })));
    } catch (e) {
      if (hasApiError(e as Error, 'NOT_COORDINATOR') || hasApiError(e as Error, 'COORDINATOR_NOT_AVAILABLE')) this.coordinator = undefined;
      throw e;
    }
  }

  /**
   * Exactly-once (KIP-447): the offsets of every partition in one TxnOffsetCommit, inside the
   * producer's open transaction (AddOffsetsToTxn already sent) and fenced by this member's
   * generation. The library sends one request per partition, one after another, which a commit
   * every 100 ms pays on every partition the task owns.
   */
  async commitOffsetsInTransaction(producer: TransactionIdentity, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    if (this.memberId === null || this.generation < 0) throw new Error(`not a member of group ${this.o.groupId} (rejoining)`);
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string }[]>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1, committedMetadata: '' });
      byTopic.set(o.topic, list);
    }
    const topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    // Retriable answers are asked again within a bound, as Java's producer does. The coordinator
    // answers COORDINATOR_LOAD_IN_PROGRESS also while it verifies the transaction (Kafka 4's
    // transaction verification, for requests older than v5) and the previous commit's markers
    // are still being written: that clears within milliseconds.
    const deadline = Date.now() + TXN_OFFSET_COMMIT_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        const c = await this.heartbeatConnectionFor();
        await txnOffsetCommitV4.api.async(c, producer.transactionalId, this.o.groupId, producer.producerId, producer.producerEpoch, this.generation, this.memberId, null, topics);
        return;
      } catch (e) {
        const err = e as Error;
        const moved = hasApiError(err, 'NOT_COORDINATOR') || hasApiError(err, 'COORDINATOR_NOT_AVAILABLE');
        if (moved) this.coordinator = undefined;
        const retriable = moved || hasApiError(err, 'COORDINATOR_LOAD_IN_PROGRESS') || hasApiError(err, 'CONCURRENT_TRANSACTIONS') || hasApiError(err, 'REQUEST_TIMED_OUT');
        if (!retriable || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.min(500, 20 * attempt)));
      }
    }
  }

  /**
   * The group's committed offsets of these partitions (-1 where none), with require_stable: while a
   * transaction holding offsets for a partition is open (exactly-once), the coordinator answers
   * UNSTABLE_OFFSET_COMMIT and the question is asked again, so a new owner never starts before
   * offsets that are about to be committed or aborted.
   */
  async fetchCommittedOffsets(partitions: readonly { topic: string; partition: number }[]): Promise<Map<string, Map<number, bigint>>> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    const out = new Map<string, Map<number, bigint>>();
    if (byTopic.size === 0) return out;
    const deadline = Date.now() + Math.max(60_000, this.o.rebalanceTimeoutMs);
    for (let attempt = 1; ; attempt++) {
      try {
        const c = await this.heartbeatConnectionFor();
        const res = await offsetFetchV8.api.async(c, [{ groupId: this.o.groupId, memberEpoch: -1, topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) }], true);
        for (const g of res.groups) {
          for (const t of g.topics) {
            const m = out.get(t.name) ?? new Map<number, bigint>();
            for (const p of t.partitions) m.set(p.partitionIndex, p.committedOffset);
            out.set(t.name, m);
          }
        }
        return out;
      } catch (e) {
        const err = e as Error;
        if (hasApiError(err, 'NOT_COORDINATOR') || hasApiError(err, 'COORDINATOR_NOT_AVAILABLE')) this.coordinator = undefined;
        const retriable = hasApiError(err, 'UNSTABLE_OFFSET_COMMIT') || hasApiError(err, 'COORDINATOR_LOAD_IN_PROGRESS') || hasApiError(err, 'NOT_COORDINATOR') || hasApiError(err, 'COORDINATOR_NOT_AVAILABLE');
        if (!retriable || Date.now() > deadline) throw err;
        if (attempt === 1) this.log.debug(`group ${this.o.groupId}: committed offsets not stable yet (${err.message}); asking again`);
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * attempt)));
      }
    }
  }

  private async heartbeatConnectionFor(): Promise<Connection> {
    if (!this.heartbeatConnection?.isConnected()) this.heartbeatConnection = await this.connect(await this.findCoordinator());
    return this.heartbeatConnection;
  }

  /**
   * The coordinator has been out of reach for longer than the session (and the configured bound): the
   * group has dropped this member and may have given its work to others by now.
   */
  private checkLost(): void {
    if (this.lostReported || this.memberId === null) return;
    const bound = Math.max(this.o.sessionTimeoutMs, this.o.lostAfterMs ?? 0);
    if (Date.now() - this.lastContact < bound) return;
    this.lostReported = true;
    this.memberId = null;
    this.generation = -1;
    this.assigned = false;
    this.o.onLost?.(`no contact with the group coordinator for ${bound} ms`);
  }

  private async connect(to: Endpoint): Promise<Connection> {
    const c = new Connection(`${this.o.clientId}`, { ...this.connection, connectTimeout: 10_000, requestTimeout: this.o.rebalanceTimeoutMs + 30_000 });
    // A socket error on an open connection (ECONNRESET when the broker goes away) is emitted as an
    // 'error' event; without a listener it is an uncaught exception that ends the thread or process.
    // The requests in flight fail through the close that follows, and the membership retries them.
    c.on('error', (e: Error) => this.log.debug(`group ${this.o.groupId}: connection to ${to.host}:${to.port}: ${e.message}`));
    await c.connect(to.host, to.port);
    return c;
  }

  private async findCoordinator(): Promise<Endpoint> {
    if (this.coordinator) return this.coordinator;
    let last: Error | undefined;
    for (const server of this.bootstrapServers) {
      let c: Connection | undefined;
      try {
        c = await this.connect(parseServer(server));
        const res = await findCoordinatorV6.api.async(c, FindCoordinatorKeyTypes.GROUP, [this.o.groupId]);
        const found = res.coordinators.find((x) => x.key === this.o.groupId) ?? res.coordinators[0];
        if (!found || found.errorCode !== 0 || found.nodeId < 0) throw new Error(`no coordinator for group ${this.o.groupId} yet (error ${found?.errorCode})`);
        this.coordinator = { host: found.host, port: found.port };
        this.coordinatorId = found.nodeId;
        return this.coordinator;
      } catch (e) {
        last = e as Error;
      } finally {
        await c?.close().catch(() => undefined);
      }
    }
    throw last ?? new Error('no bootstrap server');
  }

  private async resetConnections(): Promise<void> {
    this.coordinator = undefined;
    const [a, b] = [this.joinConnection, this.heartbeatConnection];
    this.joinConnection = undefined;
    this.heartbeatConnection = undefined;
    await Promise.allSettled([a?.close(), b?.close()]);
  }

  private async joinConnectionFor(): Promise<Connection> {
    if (this.joinConnection?.isConnected()) return this.joinConnection;
    this.joinConnection = await this.connect(await this.findCoordinator());
    return this.joinConnection;
  }

  private async joinAndSync(): Promise<void> {
    const c = await this.joinConnectionFor();
    this.rejoinReason = undefined;
    const protocols = this.o.protocols();
    let join;
    try {
      join = await joinGroupV9.api.async(c, this.o.groupId, this.o.sessionTimeoutMs, this.o.rebalanceTimeoutMs, this.memberId ?? '', null, this.o.protocolType, protocols, null);
    } catch (e) {
      // the first JoinGroup only obtains a member id (KIP-394): join again with it
      const response = (e as { response?: { memberId?: string } }).response;
      if (hasApiError(e as Error, 'MEMBER_ID_REQUIRED') && response?.memberId) {
        this.memberId = response.memberId;
        if (this.stopped) return this.leave(response.memberId);
        join = await joinGroupV9.api.async(c, this.o.groupId, this.o.sessionTimeoutMs, this.o.rebalanceTimeoutMs, this.memberId, null, this.o.protocolType, protocols, null);
      } else throw e;
    }
    this.contact();
    this.memberId = join.memberId;
    this.generation = join.generationId;
    // stop() came while the JoinGroup was under way: the group must not wait for this member
    if (this.stopped) return this.leave(join.memberId);
    const protocol = join.protocolName ?? protocols[0]!.name;
    let assignments: { memberId: string; assignment: Buffer }[] = [];
    if (join.leader === join.memberId) {
      const map = await this.o.assign({ generation: join.generationId, leaderId: join.leader, protocol, members: join.members.map((m) => ({ memberId: m.memberId, metadata: m.metadata })) });
      assignments = [...map].map(([memberId, assignment]) => ({ memberId, assignment }));
    }
    const sync = await syncGroupV5.api.async(c, this.o.groupId, join.generationId, join.memberId, null, this.o.protocolType, protocol, assignments);
    this.contact();
    if (this.stopped) return this.leave(join.memberId);
    this.assigned = true;
    this.o.onAssigned({ generation: join.generationId, memberId: join.memberId, leaderId: join.leader, protocol, assignment: sync.assignment });
  }

  private contact(): void {
    this.lastContact = Date.now();
    this.lostReported = false;
  }

  /** Waits `ms`, or less when a rejoin is requested or the member stops. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeHeartbeat = () => { clearTimeout(t); resolve(); };
    });
    this.wakeHeartbeat = undefined;
  }

  private async heartbeatUntilRebalance(): Promise<void> {
    for (;;) {
      await this.pause(this.o.heartbeatIntervalMs);
      if (this.stopped) return;
      if (this.rejoinReason !== undefined) {
        this.log.debug(`group ${this.o.groupId}: rejoining (${this.rejoinReason})`);
        throw new RejoinNeeded(this.rejoinReason);
      }
      await heartbeatV4.api.async(await this.heartbeatConnectionFor(), this.o.groupId, this.generation, this.memberId!, null);
      this.contact();
    }
  }

  /**
   * Leaves the group: LeaveGroup for the member id it has, then, if a JoinGroup is still under way,
   * waits (bounded) for the loop, which leaves with the member id that JoinGroup brings, so the
   * group never waits a session timeout for a member that is gone (a task stopped right after it
   * started, e.g. a restart following a config change).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wakeHeartbeat?.();
    if (this.memberId) await this.leave(this.memberId);
    await Promise.race([this.running, sleep(10_000)]);
    await this.resetConnections();
  }

  private readonly left = new Set<string>();

  private async leave(memberId: string): Promise<void> {
    if (this.left.has(memberId)) return;
    this.left.add(memberId);
    try {
      const c = this.heartbeatConnection?.isConnected() ? this.heartbeatConnection : await this.connect(await this.findCoordinator());
      this.heartbeatConnection = c;
      await Promise.race([leaveGroupV5.api.async(c, this.o.groupId, [{ memberId, reason: 'the worker is stopping' }]), sleep(5000)]);
    } catch (e) {
      this.log.debug(`group ${this.o.groupId}: leaving failed: ${(e as Error).message}`);
    }
  }
}
