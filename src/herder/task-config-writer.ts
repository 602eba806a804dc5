/**
 * The leader's duty of writing task configs: when a connector's config or target state changes,
 * its task configs are generated again (an instance of the connector class, started on the config,
 * asked for taskConfigs(tasks.max), stopped) and written to the config topic when they differ
 * from the stored ones. STOPPED connectors have none (the stop request writes the empty list).
 *
 * Connect generates them in the worker that runs the connector and forwards them to the leader;
 * here the leader generates them itself, which needs no internal REST call and gives the same
 * result for connectors whose taskConfigs() depends only on their config (every built-in one).
 * A connector whose start fails gets no task configs; the worker running it reports the failure.
 */
import type { Logger, SinkConnectorDescriptor } from '../api';
import type { PluginRegistry } from '../plugins/registry';
import type { ConfigStore, TargetState } from '../storage/config-store';
import { generateTaskConfigs, sameConfig, sameConfigs } from './task-configs';
import { ConfigResolver } from '../config/providers/resolver';

export class TaskConfigWriter {
  /** what the task configs were last generated from, per connector */
  private readonly seen = new Map<string, { config: Readonly<Record<string, string>>; target: TargetState }>();
  private readonly chains = new Map<string, Promise<void>>();
  private leader = true;

  constructor(private readonly configs: ConfigStore, private readonly registry: PluginRegistry, private readonly log: Logger, private readonly maxTasks: number, private readonly resolver: ConfigResolver = ConfigResolver.none()) {}

  /** Only the leader writes; a worker that becomes leader regenerates everything it did not see. */
  setLeader(leader: boolean): void {
    const became = leader && !this.leader;
    this.leader = leader;
    if (became) {
      this.seen.clear();
      for (const name of this.configs.names()) void this.schedule(name);
    }
  }

  schedule(name: string): Promise<void> {
    const prev = this.chains.get(name) ?? Promise.resolve();
    const next = prev.then(() => this.update(name)).catch((e: Error) => this.log.warn(`Could not write the task configs of ${name}: ${e.message}`));
    this.chains.set(name, next);
    void next.then(() => { if (this.chains.get(name) === next) this.chains.delete(name); });
    return next;
  }

  private async update(name: string): Promise<void> {
    if (!this.leader) return;
    const state = this.configs.get(name);
    if (!state) {
      this.seen.delete(name);
      return;
    }
    const last = this.seen.get(name);
    if (last && last.target === state.targetState && sameConfig(last.config, state.config)) return;
    this.seen.set(name, { config: state.config, target: state.targetState });
    if (state.targetState === 'STOPPED') return;
    const cls = state.config['connector.class'] ?? '';
    const descriptor = this.registry.findConnector(cls) as SinkConnectorDescriptor | undefined;
    if (!descriptor) return;
    let configs: Record<string, string>[];
    const instance = descriptor.create();
    try {
      // generated from the resolved config, stored with the user's placeholders put back
      const resolved = this.resolver.resolve(state.config).config;
      await instance.start(resolved);
      configs = ConfigResolver.unresolveTaskConfigs(state.config, generateTaskConfigs(name, instance, descriptor, resolved, this.maxTasks));
    } catch (e) {
      this.log.debug(`connector ${name} gives no task configs: ${(e as Error).message}`);
      return;
    } finally {
      try { await instance.stop(); } catch { /* generation instance only */ }
    }
    const now = this.configs.get(name);
    if (!now || !sameConfig(now.config, state.config) || now.targetState === 'STOPPED') return; // changed meanwhile: that change schedules again
    if (!sameConfigs(configs, now.taskConfigs)) await this.configs.putTaskConfigs(name, configs);
  }
}
