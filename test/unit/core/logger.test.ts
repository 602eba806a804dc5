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
});
