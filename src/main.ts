#!/usr/bin/env node
/**
 * Process entry: `kappa-connect <worker.properties>`. Properties from the file, overridden by
 * CONNECT_* environment variables, compile into the worker config; an invalid config exits with
 * one message naming the key. SIGTERM/SIGINT stop the worker in order (tasks flush and commit).
 */
import * as fs from 'node:fs';
import { ConfigException } from './api';
import { parseProperties, propertiesFromEnv } from './config/properties';
import { compileWorkerConfig, type WorkerConfig } from './config/worker-config';
import { ConfigResolver } from './config/providers/resolver';
import { nodeVersionProblem } from './config/node-version';
import { Worker } from './worker';

function loadConfig(argv: string[]): WorkerConfig {
  const file = argv[2];
  let fromFile: Record<string, string> = {};
  if (file) {
    if (!fs.existsSync(file)) throw new ConfigException(`Worker properties file ${file} does not exist`);
    fromFile = parseProperties(fs.readFileSync(file, 'utf8'));
  }
  // placeholders in worker properties are resolved once, here, with the providers they declare
  const given = { ...fromFile, ...propertiesFromEnv(process.env) };
  const { config: props, unresolved } = ConfigResolver.fromWorkerProperties(given).resolve(given);
  for (const u of unresolved) process.stderr.write(`Worker property ${u.key} is used unresolved: ${u.placeholder} (${u.reason})\n`);
  return compileWorkerConfig(props);
}

async function main(): Promise<void> {
  let worker: Worker;
  try {
    worker = new Worker(loadConfig(process.argv));
  } catch (e) {
    process.stderr.write(`Invalid worker configuration: ${(e as Error).message}\n`);
    process.exit(2);
  }
  // through the worker's logger, so that these lines have the format (text or JSON) of every other line
  const log = worker.logs.logger('io.kappa.connect.Worker');
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`Received ${signal}, stopping the worker`);
    const timer = setTimeout(() => process.exit(1), 60000);
    timer.unref();
    void worker.close().then(() => process.exit(0));
  };
  // A stray rejected promise must never take the whole worker (and every connector) down.
  process.on('unhandledRejection', (reason) => {
    log.error('Unhandled promise rejection (the worker keeps running)', { error: reason instanceof Error ? reason : String(reason) });
  });
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    await worker.start();
  } catch (e) {
    log.error('Worker failed to start', { error: e instanceof Error ? e : String(e) });
    await worker.close().catch(() => undefined);
    process.exit(1);
  }
}

const nodeProblem = nodeVersionProblem(process.version);
if (nodeProblem) {
  process.stderr.write(`${nodeProblem}\n`);
  process.exit(1);
}
if (process.argv[2] === 'models') void import('./cli/models').then((cli) => cli.runModelsCli(process.argv.slice(3))).then((code) => process.exit(code));
else void main();
