/**
 * The version `GET /` reports. Clients parse it as Kafka's `X.Y.Z` and gate features on it
 * (kcctl: ≥3.5 for stop and offsets, ≥3.7 for cluster-scoped loggers), so it names the Connect
 * REST API level this worker implements rather than the package version.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export const CONNECT_API_VERSION = '4.1.0';

let commit: string | undefined;
export function buildCommit(): string {
  if (commit !== undefined) return commit;
  try {
    commit = execFileSync('git', ['rev-parse', '--short=16', 'HEAD'], { cwd: path.resolve(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    commit = 'unknown';
  }
  return commit;
}
