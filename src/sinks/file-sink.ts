/**
 * Appends each record's value to a file, one line per record (Connect's FileStreamSink).
 * Strings are written as they are; structured values as JSON. With no `file`, lines go to stdout.
 * Each batch is one write; flush() fsyncs, so committed offsets never run ahead of the disk.
 */
import * as fs from 'node:fs';
import type { ConfigMap, SinkConnector, SinkConnectorDescriptor, SinkRecord, SinkTask } from '../api';
import { parseConfigOrThrow } from '../config/parse';
import { BUILTIN_PLUGIN_VERSION } from '../api/version';
import { valueText } from './value-text';

const configDef = [
  { name: 'file', type: 'STRING', default: null, importance: 'HIGH', documentation: 'Destination file; empty or absent writes to the worker\'s standard output.', group: 'File', orderInGroup: 1, width: 'LONG', displayName: 'File' },
] as const;

class FileStreamSinkConnector implements SinkConnector {
  private config: ConfigMap = {};
  start(config: ConfigMap): void { this.config = config; parseConfigOrThrow(configDef, config); }
  // One task only: several writers appending to one file would interleave unpredictably.
  taskConfigs(): ConfigMap[] { return [{ ...this.config, 'task.class': 'io.kappa.connect.file.FileStreamSinkTask' }]; }
  stop(): void {}
}

class FileStreamSinkTask implements SinkTask {
  private fd: number | null = null;
  start(config: ConfigMap): void {
    const file = parseConfigOrThrow(configDef, config)['file'] as string | null;
    this.fd = file ? fs.openSync(file, 'a') : null;
  }
  put(records: readonly SinkRecord[]): Promise<void> | void {
    if (records.length === 0) return;
    let text = '';
    for (const r of records) text += valueText(r.value) + '\n';
    if (this.fd === null) { process.stdout.write(text); return; }
    const fd = this.fd;
    return new Promise((resolve, reject) => fs.write(fd, text, (err) => (err ? reject(err) : resolve())));
  }
  flush(): Promise<void> | void {
    if (this.fd === null) return;
    const fd = this.fd;
    return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  }
  stop(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

export const fileStreamSink: SinkConnectorDescriptor = {
  className: 'io.kappa.connect.file.FileStreamSinkConnector',
  type: 'sink',
  version: BUILTIN_PLUGIN_VERSION,
  configDef,
  taskClassName: 'io.kappa.connect.file.FileStreamSinkTask',
  create: () => new FileStreamSinkConnector(),
  createTask: () => new FileStreamSinkTask(),
};
