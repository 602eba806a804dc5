/**
 * The console's files: the hand-written pages in `ui/` and uPlot's browser build from
 * node_modules/uplot/dist. Read once when the worker starts and served from memory, so a request
 * path can only name a file in this table (no path is ever joined from user input) and nothing is
 * fetched from anywhere else at run time.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The package's `ui/` directory (this file runs from src/console or dist/console). */
export const UI_DIR = path.resolve(__dirname, '..', '..', 'ui');

/** uPlot's dist directory, found as Node resolves the package (its main file lives there). */
export function uplotDir(): string {
  return path.dirname(require.resolve('uplot'));
}

/** The files of the uPlot build the pages load. */
export const UPLOT_FILES = ['uPlot.iife.min.js', 'uPlot.min.css'];

/** Reads every servable file of `dir` (not recursive) whose type is known, or only `names`. */
export function readStaticDir(dir: string, names?: readonly string[]): Map<string, StaticFile> {
  const out = new Map<string, StaticFile>();
  for (const name of names ?? fs.readdirSync(dir)) {
    const type = TYPES[path.extname(name).toLowerCase()];
    const file = path.join(dir, name);
    if (!type || !fs.statSync(file).isFile()) continue;
    out.set(name, { body: fs.readFileSync(file), contentType: type });
  }
  return out;
}
