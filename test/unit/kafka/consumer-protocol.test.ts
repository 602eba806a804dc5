import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, rangeAssign } from '../../../src/kafka/platformatic/consumer-protocol';

describe('consumer protocol (the classic "consumer" group protocol, as Apache Kafka encodes it)', () => {
  it('a subscription is version 0: topics then null user data, byte for byte', () => {
    const b = encodeSubscription(['ab', 'c']);
    expect(b.toString('hex')).toBe('0000' + '00000002' + '0002' + '6162' + '0001' + '63' + 'ffffffff');
    expect(decodeSubscription(b)).toEqual(['ab', 'c']);
  });

  it('an assignment round-trips and an empty one decodes to nothing', () => {
    const parts = [{ topic: 't', partition: 0 }, { topic: 't', partition: 2 }, { topic: 'u', partition: 1 }];
    const b = encodeAssignment(parts);
    expect(b.toString('hex')).toBe('0000' + '00000002' + '0001' + '74' + '00000002' + '00000000' + '00000002' + '0001' + '75' + '00000001' + '00000001' + 'ffffffff');
    expect(decodeAssignment(b)).toEqual([{ topic: 't', partitions: [0, 2] }, { topic: 'u', partitions: [1] }]);
    expect(decodeAssignment(Buffer.alloc(0))).toEqual([]);
  });

  it('range: contiguous ranges in member id order, the first members take the remainder', () => {
    const members = [
      { memberId: 'connector-consumer-x-1-b', topics: ['in'] },
      { memberId: 'connector-consumer-x-0-a', topics: ['in'] },
      { memberId: 'connector-consumer-x-2-c', topics: ['in'] },
    ];
    const out = rangeAssign(members, new Map([['in', 7]]));
    expect(out.get('connector-consumer-x-0-a')!.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(out.get('connector-consumer-x-1-b')!.map((p) => p.partition)).toEqual([3, 4]);
    expect(out.get('connector-consumer-x-2-c')!.map((p) => p.partition)).toEqual([5, 6]);
  });

  it('range: every partition exactly once; a member of a topic nobody else reads takes it all; unknown topics are skipped', () => {
    const members = [
      { memberId: 'a', topics: ['one', 'two'] },
      { memberId: 'b', topics: ['one'] },
      { memberId: 'c', topics: ['one', 'missing'] },
    ];
    const out = rangeAssign(members, new Map([['one', 2], ['two', 3]]));
    const all = [...out.values()].flat().map((p) => `${p.topic}-${p.partition}`).sort();
    expect(all).toEqual(['one-0', 'one-1', 'two-0', 'two-1', 'two-2']);
    expect(out.get('a')!.filter((p) => p.topic === 'two')).toHaveLength(3);
    expect(out.get('c')).toEqual([]);
  });
});
