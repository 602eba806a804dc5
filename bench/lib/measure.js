'use strict';
/**
 * The measured window of a run against a pre-filled input topic: the output topic's end offsets
 * are polled (every 25 ms); the clock starts when `warmup` records are out and stops when all
 * `expected` are. Over that window: records/s, and the CPU seconds the process under test (and,
 * when it runs here, the broker) spent per output record, read from /proc at both ends.
 *
 * Records out at the first poll past the warm-up count are `startCount`, not exactly `warmup`, so
 * rate and CPU per record use the records counted between the two polls:
 *   recordsPerSec = (endCount − startCount) / (endAt − startAt)
 *   cpuUsPerRecord = (cpu(endAt) − cpu(startAt)) / (endCount − startCount)
 * The polls are 25 ms apart at most, so the window's edges are that precise (≈1 % of a 3 s window).
 */
const fs = require('fs');
const path = require('path');
const { BOOTSTRAP, sleep } = require('./kafka');
const { treeCpuSeconds, processTree, rssSampler } = require('./proc');

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** pid of the local broker of scripts/kafka.sh when it is the one the benchmark uses, else null. */
function localBrokerPid() {
  const dir = process.env.KAFKA_DATA_DIR ? path.resolve(REPO_ROOT, process.env.KAFKA_DATA_DIR) : path.join(REPO_ROOT, '.data', 'kafka');
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'kafka.pid'), 'utf8').trim());
    const props = fs.readFileSync(path.join(dir, 'server.properties'), 'utf8');
    const port = BOOTSTRAP.split(',')[0].split(':').pop();
    if (!new RegExp(`^listeners=.*:${port}(,|$)`, 'm').test(props)) return null;
    fs.accessSync(`/proc/${pid}/stat`);
    return pid;
  } catch {
    return null;
  }
}

/**
 * Polls `topic` until `expected` records are out (see the file comment). `pid`: the process
 * under test (CPU and RSS of its process tree), or a list of them. `onTick(count)` may throw to abort (e.g. a failed
 * task). `count()` replaces the end offsets polled (bk.endOffsetSumOrNull: the last stable offsets;
 * e.g. bk.highWatermarkSum for everything written, transactions still open included); it may answer
 * null (no progress). Returns { firstAt, startAt, endAt, startCount, endCount, records, seconds, recordsPerSec,
 * cpuSeconds, cpuUsPerRecord, brokerCpuUsPerRecord, maxRssBytes }.
 */
async function measureWindow(bk, topic, { warmup = 0, expected, pid, onTick, intervalMs = 25, stallMs = 45_000, timeoutMs = 900_000, rssIntervalMs = 250, count }) {
  const brokerPid = localBrokerPid();
  // `pid` may be a list (the workers of a cluster): CPU is their sum, RSS the sum of their maxima
  const pids = Array.isArray(pid) ? pid : null;
  const cpuOf = () => (pids ? sumOrNull(pids.map((p) => treeCpuSeconds(p))) : treeCpuSeconds(pid));
  const samplers = (pids ?? [pid]).map((p) => rssSampler(p, { intervalMs: rssIntervalMs }));
  const rss = { stop: () => ({ maxBytes: pids ? sumOrNull(samplers.map((s) => s.stop().maxBytes)) : samplers[0].stop().maxBytes }) };
  const deadline = Date.now() + timeoutMs;
  const startAfter = Math.max(warmup, 1);
  let firstAt = 0;
  let start = null;
  let seen = -1;
  let progressAt = Date.now();
  try {
    for (;;) {
      // a retriable error of the poll counts as no progress (the stall timer still applies)
      const n = (await (count ? count() : bk.endOffsetSumOrNull(topic))) ?? Math.max(seen, 0);
      const now = Date.now();
      if (n > 0 && !firstAt) firstAt = now;
      if (!start && n >= startAfter) {
        // a window needs records after its start: with everything out at once there is none
        start = { at: now, count: n, cpu: cpuOf(), brokerCpu: brokerPid ? treeCpuSeconds(brokerPid, [brokerPid]) : null };
      }
      if (n !== seen) { seen = n; progressAt = now; }
      if (n >= expected) {
        const end = { at: now, count: n, cpu: cpuOf(), brokerCpu: brokerPid ? treeCpuSeconds(brokerPid, [brokerPid]) : null };
        const records = end.count - start.count;
        const seconds = (end.at - start.at) / 1000;
        const perRecordUs = (a, b) => (a !== null && b !== null && records > 0 ? Number((((b - a) / records) * 1e6).toFixed(2)) : null);
        return {
          firstAt,
          startAt: start.at,
          endAt: end.at,
          startCount: start.count,
          endCount: end.count,
          records,
          seconds,
          recordsPerSec: records > 0 && seconds > 0 ? Math.round(records / seconds) : null,
          cpuSeconds: start.cpu !== null && end.cpu !== null ? Number((end.cpu - start.cpu).toFixed(2)) : null,
          cpuUsPerRecord: perRecordUs(start.cpu, end.cpu),
          brokerCpuUsPerRecord: perRecordUs(start.brokerCpu, end.brokerCpu),
          maxRssBytes: rss.stop().maxBytes,
        };
      }
      if (now - progressAt > stallMs) throw new Error(`output ${topic}: stuck at ${n} of ${expected} records for ${stallMs} ms`);
      if (now > deadline) throw new Error(`output ${topic}: ${n} of ${expected} records after ${timeoutMs} ms`);
      if (onTick) onTick(n);
      await sleep(intervalMs);
    }
  } finally {
    rss.stop();
  }
}

/** Sum of numbers; null when any is null (a process without /proc figures). */
function sumOrNull(values) {
  return values.length > 0 && values.every((v) => v !== null && v !== undefined) ? values.reduce((a, b) => a + b, 0) : null;
}

function median(values) {
  const v = values.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

module.exports = { measureWindow, median, localBrokerPid, processTree };
