/**
 * Starts a worker thread on a module next to the caller: the compiled `.js` when it exists (the
 * built worker), else the `.ts` source transpiled on the fly with the project's own TypeScript
 * (tests run from sources with ts-jest, where there is no .js to load).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const TS_BOOTSTRAP = `
const { workerData } = require('worker_threads');
const fs = require('fs');
const ts = require(workerData.__typescript);
require.extensions['.ts'] = function (module, filename) {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(out.outputText, filename);
};
require(workerData.__tsEntry);
`;

/** `dir` and `name` name the module without extension, e.g. (__dirname, 'worker'). */
export function spawnModuleWorker(dir: string, name: string, workerData: unknown, options: Omit<WorkerOptions, 'workerData' | 'eval'> = {}): Worker {
  const js = path.join(dir, `${name}.js`);
  if (fs.existsSync(js)) return new Worker(js, { ...options, workerData });
  return new Worker(TS_BOOTSTRAP, {
    ...options,
    eval: true,
    workerData: { ...(workerData as object), __tsEntry: path.join(dir, `${name}.ts`), __typescript: require.resolve('typescript') },
  });
}
