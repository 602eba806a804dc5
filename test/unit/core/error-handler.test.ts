import { ErrorHandler, ToleranceExceededError, traceOf, type ErrorHandlingConfig } from '../../../src/runtime/errors';
import { DataException, RetriableException, type RawRecord } from '../../../src/api';
import type { KafkaClient, OutgoingMessage } from '../../../src/kafka/port';

const record: RawRecord = { topic: 'in', partition: 2, offset: 41, timestamp: 1700000000000, key: Buffer.from('k'), value: Buffer.from('v'), headers: [{ key: 'h', value: Buffer.from('x') }] };
const silent = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

function handler(config: Partial<ErrorHandlingConfig>) {
  const sent: OutgoingMessage[] = [];
  const created: string[] = [];
  const kafka = {
    send: async (m: readonly OutgoingMessage[]) => { sent.push(...m); },
    ensureTopics: async (specs: { topic: string }[]) => { created.push(...specs.map((s) => s.topic)); },
  } as unknown as KafkaClient;
  const full: ErrorHandlingConfig = {
    retryTimeoutMs: 0, retryDelayMaxMs: 60000, tolerance: 'none', logEnable: false, logIncludeMessages: false,
    dlqTopic: '', dlqReplicationFactor: 1, dlqContextHeaders: false, ...config,
  };
  return { eh: new ErrorHandler(full, { connector: 'c', taskId: 3 }, kafka, silent), sent, created };
}

describe('error handling (RetryWithToleranceOperator)', () => {
  it('with tolerance none, fails on the first error with "Tolerance exceeded in error handler" and the cause in the trace', () => {
    const { eh } = handler({});
    let thrown: unknown;
    try { eh.execute('VALUE_CONVERTER', 'X', record, () => { throw new DataException('bad bytes'); }); } catch (e) { thrown = e; }
    expect(thrown).toBeInstanceOf(ToleranceExceededError);
    const trace = traceOf(thrown as Error);
    expect(trace).toMatch(/^org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler/);
    expect(trace).toMatch(/Caused by: org.apache.kafka.connect.errors.DataException: bad bytes/);
  });

  it('with tolerance all, skips converter and transformation failures but not put failures', () => {
    const { eh } = handler({ tolerance: 'all' });
    expect(eh.execute('TRANSFORMATION', 'T', record, () => { throw new Error('boom'); })).toBeUndefined();
    expect(() => eh.handle({ stage: 'TASK_PUT', className: 'S', record, error: new Error('disk full') })).toThrow(ToleranceExceededError);
    expect(eh.recordsSkipped).toBe(1);
  });

  it('retries retriable failures with backoff until they succeed', async () => {
    const { eh } = handler({ retryTimeoutMs: 5000, retryDelayMaxMs: 50 });
    let calls = 0;
    const result = await eh.execute('VALUE_CONVERTER', 'X', record, () => {
      if (++calls < 3) throw new RetriableException('registry unavailable');
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('keeps retrying until errors.retry.timeout has passed, then fails (fake clock)', async () => {
    jest.useFakeTimers();
    try {
      const { eh } = handler({ retryTimeoutMs: 1000, retryDelayMaxMs: 100 });
      let calls = 0;
      let settled = false;
      const result = Promise.resolve(eh.execute('VALUE_CONVERTER', 'X', record, () => { calls++; throw new RetriableException('down'); }))
        .finally(() => { settled = true; });
      result.catch(() => undefined);
      await jest.advanceTimersByTimeAsync(800);
      expect(settled).toBe(false);
      expect(calls).toBeGreaterThan(2);
      await jest.advanceTimersByTimeAsync(500);
      await expect(result).rejects.toThrow(ToleranceExceededError);
    } finally {
      jest.useRealTimers();
    }
  });

  it('sends tolerated records to the DLQ with the original bytes and Connect\'s context headers', async () => {
    const { eh, sent, created } = handler({ tolerance: 'all', dlqTopic: 'dlq', dlqContextHeaders: true });
    eh.execute('VALUE_CONVERTER', 'org.apache.kafka.connect.json.JsonConverter', record, () => { throw new DataException('Unknown magic byte!'); });
    expect(sent).toHaveLength(0); // nothing leaves before the batch flushes its DLQ records
    await eh.flushDlq();
    expect(created).toEqual(['dlq']);
    expect(sent).toHaveLength(1);
    const m = sent[0]!;
    expect(m.topic).toBe('dlq');
    expect(m.key).toEqual(Buffer.from('k'));
    expect(m.value).toEqual(Buffer.from('v'));
    expect(m.timestamp).toBe(1700000000000);
    const h = m.headers!;
    expect(h['h']).toEqual(Buffer.from('x'));
    expect(h['__connect.errors.topic']).toBe('in');
    expect(h['__connect.errors.partition']).toBe('2');
    expect(h['__connect.errors.offset']).toBe('41');
    expect(h['__connect.errors.connector.name']).toBe('c');
    expect(h['__connect.errors.task.id']).toBe('3');
    expect(h['__connect.errors.stage']).toBe('VALUE_CONVERTER');
    expect(h['__connect.errors.class.name']).toBe('org.apache.kafka.connect.json.JsonConverter');
    expect(h['__connect.errors.exception.class.name']).toBe('org.apache.kafka.connect.errors.DataException');
    expect(h['__connect.errors.exception.message']).toBe('Unknown magic byte!');
    expect(String(h['__connect.errors.exception.stacktrace'])).toMatch(/^org.apache.kafka.connect.errors.DataException: Unknown magic byte!/);
  });
});
