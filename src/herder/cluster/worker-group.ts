/**
 * This worker's place in its Connect cluster: a member of the group `group.id` (protocol type
 * "connect") whose leader assigns connectors and tasks to the workers. It feeds the assignment to
 * the ConnectorRuntime, the leader role to the TaskConfigWriter, and tells the REST layer where
 * the leader is (writes are forwarded there).
 *
 *   join: metadata = this worker's URL, the config-topic offset it has read, what it runs now
 *   leader: reads the config topic to its end, then assigns (assignor.ts); held work of a departed
 *           worker makes it rebalance again when the delay is over
 *   member: stops what is revoked, runs what is assigned; after revoking, rejoins at once
 *   config changes that add or remove work make the leader rebalance
 */
import type { Logger } from '../../api';
import type { WorkerConfig } from '../../config/worker-config';
import type { GroupMembership, KafkaClient } from '../../kafka/port';
import type { ClusterState } from '../../storage/cluster-state';
import type { Assignment, ConnectorRuntime } from '../connector-runtime';
import type { TaskConfigWriter } from '../task-config-writer';
import { assign, newAssignorMemory } from './assignor';
import {
  COMPATIBLE_PROTOCOL, CONNECT_PROTOCOL_TYPE, decodeAssignment, decodeMetadata, emptyAssignment, encodeAssignment, encodeMetadata,
  type WorkerAssignment, type WorkerMetadata,
} from './protocol';

export interface ClusterSettings {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  scheduledRebalanceMaxDelayMs: number;
}

function assignmentOf(a: WorkerAssignment): Assignment {
  const connectors = new Set(a.connectors);
  const tasks = new Set(a.tasks.map((t) => `${t.connector}\u0000${t.task}`));
  return { ownsConnector: (n) => connectors.has(n), ownsTask: (n, id) => tasks.has(`${n}\u0000${id}`) };
}

export class WorkerGroup {
  private membership?: GroupMembership;
  private readonly memory = newAssignorMemory();
  /** what this worker runs (its last assignment) */
  private current: WorkerAssignment = emptyAssignment();
  private leader = false;
  private leaderUrlValue: string | null = null;
  private rebalancing = true;
  private delayTimer?: NodeJS.Timeout;
  private rebalanceSoon?: NodeJS.Timeout;
  private stopped = false;
  /** work the leader's last round gave out: connector → task count, to notice config changes that need a rebalance */
  private assignedShape = new Map<string, number>();
  /** the owner URL of every connector and task in the leader's last round (task restarts go there) */
  private owners = new Map<string, string>();
  private settledWaiters: (() => void)[] = [];
  private firstAssignment!: Promise<void>;
  private resolveFirst!: () => void;

  constructor(
    private readonly kafka: KafkaClient,
    private readonly config: WorkerConfig,
    private readonly settings: ClusterSettings,
    private readonly state: ClusterState,
    private readonly runtime: ConnectorRuntime,
    private readonly writer: TaskConfigWriter,
    private readonly log: Logger,
  ) {
    this.firstAssignment = new Promise((r) => { this.resolveFirst = r; });
  }

  get url(): string {
    return this.config.advertisedUrl;
  }

  get isLeader(): boolean { return this.leader && !this.rebalancing; }
  /** the leader's advertised URL, null while unknown (during a rebalance) */
  get leaderUrl(): string | null { return this.rebalancing ? null : this.leaderUrlValue; }
  get inRebalance(): boolean { return this.rebalancing; }
  /**
   * Led the last generation and is still a member: a rebalance (most often the one its own config
   * write started) keeps the leader unless it leaves, so it may go on writing configs meanwhile.
   */
  get ledLastGeneration(): boolean { return this.leader; }

  /**
   * Resolves once no rebalance is under way (or after `timeoutMs`): requests arriving during a
   * rebalance wait for its end, as Connect's herder queues them until its next tick.
   */
  settled(timeoutMs: number): Promise<void> {
    if (!this.rebalancing) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() { clearTimeout(timer); resolve(); }
      this.settledWaiters.push(done);
    });
  }

  /** The URL of the worker that runs a connector instance or task (leader only; null when unknown). */
  ownerOf(connector: string, task?: number): string | null {
    return this.owners.get(task === undefined ? `c\u0000${connector}` : `t\u0000${connector}\u0000${task}`) ?? null;
  }

  /** Joins the group; resolves once this worker has its first assignment. */
  async start(): Promise<void> {
    this.writer.setLeader(false);
    this.runtime.setAssignment({ ownsConnector: () => false, ownsTask: () => false }, 0).catch(() => undefined);
    this.membership = this.kafka.groupMembership({
      groupId: this.config.groupId,
      clientId: `connect-${this.config.groupId}-${this.config.advertisedHost}:${this.config.advertisedPort}`,
      protocolType: CONNECT_PROTOCOL_TYPE,
      sessionTimeoutMs: this.settings.sessionTimeoutMs,
      rebalanceTimeoutMs: this.settings.rebalanceTimeoutMs,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
      protocols: () => {
        this.rebalancing = true;
        return [{ name: COMPATIBLE_PROTOCOL, metadata: encodeMetadata({ url: this.url, configOffset: this.state.configs.offset, current: this.current }) }];
      },
      assign: (g) => this.assignAsLeader(g),
      onAssigned: (a) => this.onAssigned(a),
      onLost: (reason) => this.onLost(reason),
      // as Connect: a worker cut off from the group keeps its work for scheduled.rebalance.max.delay.ms
      // (a broker restart must not stop every task), then stops it so it never runs twice for long
      lostAfterMs: this.settings.scheduledRebalanceMaxDelayMs,
    });
    this.state.configs.onChange((name) => this.configChanged(name));
    this.membership.start();
    await this.firstAssignment;
  }

  private async assignAsLeader(g: { generation: number; leaderId: string; members: { memberId: string; metadata: Buffer }[] }): Promise<Map<string, Buffer>> {
    // the leader assigns from the newest config it can read
    await this.state.readToEnd();
    const members = new Map<string, WorkerMetadata>();
    for (const m of g.members) {
      try {
        members.set(m.memberId, decodeMetadata(m.metadata));
      } catch (e) {
        this.log.warn(`Ignoring the unreadable metadata of group member ${m.memberId}: ${(e as Error).message}`);
      }
    }
    const shape = this.configShape();
    const leaderUrl = members.get(g.leaderId)?.url ?? this.url;
    const out = assign({
      leaderId: g.leaderId,
      leaderUrl,
      configOffset: this.state.configs.offset,
      connectors: shape,
      members,
      now: Date.now(),
      maxDelayMs: this.settings.scheduledRebalanceMaxDelayMs,
      memory: this.memory,
    });
    this.assignedShape = shape;
    this.owners = new Map();
    for (const [memberId, a] of out.assignments) {
      const url = members.get(memberId)!.url;
      for (const c of a.assigned.connectors) this.owners.set(`c\u0000${c}`, url);
      for (const t of a.assigned.tasks) this.owners.set(`t\u0000${t.connector}\u0000${t.task}`, url);
    }
    if (this.delayTimer) clearTimeout(this.delayTimer);
    if (out.delayMs > 0) {
      this.delayTimer = setTimeout(() => this.membership?.requestRejoin('the delay for a departed worker\'s work is over'), out.delayMs);
      this.delayTimer.unref();
    }
    const summary = [...out.assignments].map(([m, a]) => `${members.get(m)!.url}: ${a.assigned.connectors.length} connector(s), ${a.assigned.tasks.length} task(s)${a.revoked.connectors.length + a.revoked.tasks.length > 0 ? `, revoking ${a.revoked.connectors.length + a.revoked.tasks.length}` : ''}`);
    this.log.info(`Assignment for generation ${g.generation}: ${summary.join('; ')}${out.delayMs > 0 ? ` (holding a departed worker's work for ${out.delayMs} ms)` : ''}`);
    return new Map([...out.assignments].map(([m, a]) => [m, encodeAssignment(a)]));
  }

  /** Connectors with the number of tasks they should run now (STOPPED: none). */
  private configShape(): Map<string, number> {
    const shape = new Map<string, number>();
    for (const name of this.state.configs.names()) {
      const c = this.state.configs.get(name)!;
      shape.set(name, c.targetState === 'STOPPED' ? 0 : c.taskConfigs.length);
    }
    return shape;
  }

  private onAssigned(a: { generation: number; memberId: string; leaderId: string; assignment: Buffer }): void {
    let msg;
    try {
      msg = decodeAssignment(a.assignment);
    } catch (e) {
      this.log.error(`Unreadable assignment for generation ${a.generation}: ${(e as Error).message}; rejoining`);
      this.membership?.requestRejoin('unreadable assignment');
      return;
    }
    this.current = msg.assigned;
    this.leader = a.leaderId === a.memberId;
    this.leaderUrlValue = msg.leaderUrl;
    this.rebalancing = false;
    for (const w of this.settledWaiters.splice(0)) w();
    this.writer.setLeader(this.leader);
    const revoked = msg.revoked.connectors.length + msg.revoked.tasks.length;
    this.log.info(`Joined generation ${a.generation} as ${this.leader ? 'leader' : 'member'} (leader ${msg.leaderUrl}): ${msg.assigned.connectors.length} connector(s), ${msg.assigned.tasks.length} task(s)${revoked > 0 ? `, ${revoked} revoked` : ''}`);
    void this.runtime.setAssignment(assignmentOf(msg.assigned), a.generation).then(() => {
      // revoked work is stopped now: rejoin so the leader can give it to another worker
      if (revoked > 0 && !this.stopped) this.membership?.requestRejoin('revoked work stopped');
      this.resolveFirst();
    });
    if (this.leader && this.shapeChanged()) this.membership?.requestRejoin('the configuration changed during the rebalance');
  }

  private onLost(reason: string): void {
    this.log.warn(`Lost the membership of group ${this.config.groupId} (${reason}); stopping this worker's connectors and tasks until it has rejoined`);
    this.current = emptyAssignment();
    this.rebalancing = true;
    this.leader = false;
    this.writer.setLeader(false);
    void this.runtime.setAssignment({ ownsConnector: () => false, ownsTask: () => false }, -1);
  }

  private shapeChanged(): boolean {
    const now = this.configShape();
    if (now.size !== this.assignedShape.size) return true;
    for (const [name, n] of now) if (this.assignedShape.get(name) !== n) return true;
    return false;
  }

  /** Config records come in bursts (a connector, then its task configs): one rebalance after the burst. */
  private configChanged(_name: string): void {
    if (!this.leader || this.rebalanceSoon) return;
    this.rebalanceSoon = setTimeout(() => {
      this.rebalanceSoon = undefined;
      if (this.leader && !this.rebalancing && !this.stopped && this.shapeChanged()) this.membership?.requestRejoin('connectors or tasks were added or removed');
    }, 20);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.delayTimer) clearTimeout(this.delayTimer);
    await this.membership?.stop();
  }
}
