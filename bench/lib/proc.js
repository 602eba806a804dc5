'use strict';
/**
 * CPU time and resident memory of a process and its descendants, from /proc (Linux).
 *
 * CPU seconds = utime + stime of /proc/<pid>/stat (all threads of the process, also the ones that
 * have ended) + cutime + cstime (children it has waited for), summed over the process and every
 * live descendant, divided by the clock tick (getconf CLK_TCK). Counting descendants keeps the
 * number right whatever the worker does: tasks in worker threads are in the process's own times,
 * tasks in child processes in the children's. RSS is field 24 (pages) × the page size.
 *
 * On other systems (no /proc) every function returns null and the benchmark reports no CPU figures.
 */
const fs = require('fs');
const { execFileSync } = require('child_process');

function getconf(name, fallback) {
  try {
    const v = Number(execFileSync('getconf', [name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

const CLK_TCK = getconf('CLK_TCK', 100);
const PAGE_SIZE = getconf('PAGESIZE', 4096);
const HAVE_PROC = fs.existsSync('/proc/self/stat');

/** Fields of /proc/<pid>/stat after the command name; null when the process is gone. */
function statFields(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // the command name (field 2) is in parentheses and may contain spaces or ')'
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

// fields after the name start at field 3 (state): field k is at index k - 3
const F_PPID = 4 - 3;
const F_UTIME = 14 - 3;
const F_STIME = 15 - 3;
const F_CUTIME = 16 - 3;
const F_CSTIME = 17 - 3;
const F_RSS = 24 - 3;

/** pid and its live descendants (one scan of /proc). */
function processTree(pid) {
  if (!HAVE_PROC) return [];
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (!f) continue;
    const ppid = Number(f[F_PPID]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift();
    out.push(p);
    for (const c of children.get(p) ?? []) queue.push(c);
  }
  return out;
}

/** CPU seconds (user + system) used so far by pid and its descendants; null without /proc or when pid is gone. */
function treeCpuSeconds(pid, tree = processTree(pid)) {
  if (!HAVE_PROC) return null;
  let ticks = 0;
  let found = false;
  for (const p of tree) {
    const f = statFields(p);
    if (!f) continue;
    if (p === pid) found = true;
    ticks += Number(f[F_UTIME]) + Number(f[F_STIME]) + Number(f[F_CUTIME]) + Number(f[F_CSTIME]);
  }
  return found ? ticks / CLK_TCK : null;
}

/** Resident set size in bytes of the processes of `tree` (from processTree); null without /proc. */
function treeRssBytes(tree) {
  if (!HAVE_PROC) return null;
  let pages = 0;
  for (const p of tree) {
    const f = statFields(p);
    if (f) pages += Number(f[F_RSS]);
  }
  return pages * PAGE_SIZE;
}

/**
 * Samples the RSS of pid's process tree every `intervalMs` (the tree itself is re-read every
 * `treeEveryMs`, so a new child process is seen) until stop(); returns { maxBytes, lastBytes, samples }.
 */
function rssSampler(pid, { intervalMs = 200, treeEveryMs = 2000 } = {}) {
  const state = { maxBytes: null, lastBytes: null, samples: 0 };
  if (!HAVE_PROC || !pid) return { state, stop: () => state };
  let tree = processTree(pid);
  let treeAt = Date.now();
  const sample = () => {
    if (Date.now() - treeAt > treeEveryMs) {
      tree = processTree(pid);
      treeAt = Date.now();
    }
    const b = treeRssBytes(tree);
    if (b === null || b === 0) return;
    state.samples++;
    state.lastBytes = b;
    if (state.maxBytes === null || b > state.maxBytes) state.maxBytes = b;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    state,
    stop() {
      clearInterval(timer);
      sample();
      return state;
    },
  };
}

module.exports = { CLK_TCK, PAGE_SIZE, HAVE_PROC, processTree, treeCpuSeconds, treeRssBytes, rssSampler };
