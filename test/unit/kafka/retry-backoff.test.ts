import { backoff, CONCURRENT_TRANSACTIONS_RETRY_MS, isConcurrentTransactions } from '../../../src/kafka/platformatic/options';

/** The shape of the library's errors: a response error aggregating one protocol error per failed part. */
const protocolError = (apiId: string) => Object.assign(new Error(apiId), { apiId });
const responseError = (...inner: Error[]) => Object.assign(new Error('Received response with error'), { errors: inner });

describe('the Kafka clients\' retry backoff', () => {
  it('doubles from retry.backoff.ms up to retry.backoff.max.ms', () => {
    const delay = backoff({ 'retry.backoff.ms': '100', 'retry.backoff.max.ms': '1000' });
    expect([1, 2, 3, 4, 5, 6].map((attempt) => delay(undefined, 'produce', attempt))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('retries CONCURRENT_TRANSACTIONS after 20 ms, at every attempt, however deep the error is wrapped', () => {
    // the coordinator is still writing the previous transaction's markers: a 100 ms wait would
    // stall a task that commits every 100 ms for a whole commit interval
    const delay = backoff({});
    const nested = responseError(responseError(protocolError('CONCURRENT_TRANSACTIONS')));
    expect(isConcurrentTransactions(nested)).toBe(true);
    for (const attempt of [1, 2, 5]) expect(delay(undefined, 'addPartitionsToTransaction', attempt, 10, nested)).toBe(CONCURRENT_TRANSACTIONS_RETRY_MS);
    expect(CONCURRENT_TRANSACTIONS_RETRY_MS).toBe(20);
  });

  it('other errors keep the general backoff; a smaller retry.backoff.ms stays smaller', () => {
    const delay = backoff({});
    const other = responseError(protocolError('NOT_COORDINATOR'));
    expect(isConcurrentTransactions(other)).toBe(false);
    expect(isConcurrentTransactions(undefined)).toBe(false);
    expect(delay(undefined, 'addPartitionsToTransaction', 3, 10, other)).toBe(400);
    expect(backoff({ 'retry.backoff.ms': '5' })(undefined, 'x', 1, 10, responseError(protocolError('CONCURRENT_TRANSACTIONS')))).toBe(5);
  });
});
