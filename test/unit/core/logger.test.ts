import { LogRegistry } from '../../../src/logging/logger';

describe('log registry', () => {
  it('inherits levels from ancestors and sets a namespace with its children', () => {
    const lines: string[] = [];
    const logs = new LogRegistry('INFO', (l) => lines.push(l));
    const child = logs.logger('io.kappa.connect.runtime.Task', 'c|task-0');
    logs.logger('io.kappa.connect.rest');
    child.debug('hidden');
    expect(lines).toHaveLength(0);
    const affected = logs.setLevel('io.kappa.connect.runtime', 'DEBUG');
    expect(affected).toEqual(['io.kappa.connect.runtime', 'io.kappa.connect.runtime.Task']);
    child.debug('shown');
    expect(lines[0]).toMatch(/DEBUG \[c\|task-0\] shown \(io.kappa.connect.runtime.Task\)$/);
    expect(logs.list()['io.kappa.connect.rest']).toEqual({ level: 'INFO', last_modified: null });
    expect(logs.list()['io.kappa.connect.runtime.Task']!.last_modified).toEqual(expect.any(Number));
    expect(Object.keys(logs.list())[0]).toBe('root');
    expect(LogRegistry.parseLevel('warn')).toBe('WARN');
    expect(LogRegistry.parseLevel('LOUD')).toBeUndefined();
  });

  it('setting the level a logger already has changes nothing, like Connect: not listed, last_modified kept', () => {
    const logs = new LogRegistry('INFO', () => undefined);
    logs.logger('a.b');
    expect(logs.setLevel('a', 'INFO')).toEqual([]);
    expect(logs.list()['a.b']).toEqual({ level: 'INFO', last_modified: null });
    expect(logs.list()['a']).toEqual({ level: 'INFO', last_modified: null });
    // still inherits: a later root change reaches it
    logs.setLevel('root', 'WARN');
    expect(logs.effective('a.b').level).toBe('WARN');
    // only the logger that differs is changed and listed
    logs.setLevel('a.b', 'DEBUG');
    expect(logs.setLevel('a', 'DEBUG').sort()).toEqual(['a']);
    expect(logs.setLevel('a', 'DEBUG')).toEqual([]);
  });
});
