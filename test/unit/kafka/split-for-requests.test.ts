import { approxSize, splitForRequests, type OutgoingMessage } from '../../../src/kafka/port';

/** The rule, record by record: a new request when this record's partition share would pass the limit. */
function reference(messages: OutgoingMessage[], limit: number): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let chunk: OutgoingMessage[] = [];
  const bytes = new Map<string, number>();
  for (const m of messages) {
    const slot = m.partition === undefined ? m.topic : `${m.topic}/${m.partition}`;
    const size = approxSize(m);
    if (chunk.length > 0 && (bytes.get(slot) ?? 0) + size > limit) {
      chunks.push(chunk);
      chunk = [];
      bytes.clear();
    }
    chunk.push(m);
    bytes.set(slot, (bytes.get(slot) ?? 0) + size);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** a small deterministic generator, so a failure can be replayed */
function random(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

describe('splitForRequests (the per-partition request share)', () => {
  it('cuts where the record-by-record rule cuts: runs of one partition, interleaved partitions, unknown partitions', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = random(seed);
      const messages: OutgoingMessage[] = [];
      const n = Math.floor(rnd() * 400);
      let partition: number | undefined = 0;
      for (let i = 0; i < n; i++) {
        // mostly runs of one partition (as a batch of one fetch), sometimes a switch or a keyed record
        if (rnd() < 0.1) partition = rnd() < 0.2 ? undefined : Math.floor(rnd() * 4);
        messages.push({ topic: rnd() < 0.05 ? 'other' : 'out', partition, key: `k${i}`, value: 'x'.repeat(Math.floor(rnd() * 300)) });
      }
      const limit = 200 + Math.floor(rnd() * 3000);
      expect(splitForRequests(messages, limit)).toEqual(reference(messages, limit));
    }
  });

  it('keeps every record once, in order; a record larger than the limit goes alone', () => {
    const big = { topic: 't', partition: 0, key: null, value: 'y'.repeat(5000) };
    const small = (i: number) => ({ topic: 't', partition: i % 2, key: null, value: 'z'.repeat(100) });
    const messages = [small(0), big, small(1), small(2)];
    const chunks = splitForRequests(messages, 1000);
    expect(chunks.flat()).toEqual(messages);
    expect(chunks).toEqual([[small(0)], [big, small(1)], [small(2)]]);
  });
});
