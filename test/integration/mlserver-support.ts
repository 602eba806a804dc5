/**
 * A real MLServer (Open Inference Protocol v2) for the remote-model tests, started and stopped
 * through scripts/mlserver/mlserver.sh (which installs it into .cache/mlserver-venv when missing)
 * on ports of this test process, serving test/fixtures/mlserver (scripts/mlserver/make_model.py).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { freePort, REPO_ROOT } from './helpers';

const run = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, 'scripts', 'mlserver', 'mlserver.sh');
export const MLSERVER_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'mlserver');

/** The fixture stream: rows and the labels scikit-learn predicts for them. */
export interface IrisStream {
  features: string[];
  classes: number[];
  rows: number[][];
  labels: number[];
}

export function irisStream(): IrisStream {
  return JSON.parse(fs.readFileSync(path.join(MLSERVER_FIXTURES, 'iris-stream.json'), 'utf8')) as IrisStream;
}

export class MlServer {
  private constructor(readonly port: number, private readonly grpcPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A server on free ports of this test process, not started yet (its URL is known: a worker can start beside it). */
  static async create(): Promise<MlServer> {
    return new MlServer(await freePort(), await freePort());
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, MLSERVER_PORT: String(this.port), MLSERVER_GRPC_PORT: String(this.grpcPort), MLSERVER_MODELS: MLSERVER_FIXTURES };
  }

  async start(): Promise<void> {
    // the first start on a machine installs MLServer from PyPI (a few minutes)
    await run('bash', [SCRIPT, 'start'], { env: this.env(), timeout: 900_000 });
  }

  async stop(): Promise<void> {
    await run('bash', [SCRIPT, 'stop'], { env: this.env(), timeout: 60_000 });
  }
}
