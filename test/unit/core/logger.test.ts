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

describe('log output (pino underneath)', () => {
  it('text: one readable line per event, context and extra data included, Errors as their stack', () => {
    const lines: string[] = [];
    const logs = new LogRegistry('INFO', (l) => lines.push(l));
    logs.logger('io.kappa.connect.Worker').info('Worker started');
    logs.logger('io.kappa.connect.runtime.WorkerSinkTask', 'c|task-0').error('boom', { error: new Error('disk full'), n: 3n });
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] INFO  Worker started \(io\.kappa\.connect\.Worker\)$/);
    expect(lines[1]).toMatch(/^\[[^\]]+\] ERROR \[c\|task-0\] boom \{"error":"Error: disk full\\n\s+at .*","n":"3"\} \(io\.kappa\.connect\.runtime\.WorkerSinkTask\)$/);
    expect(lines).toHaveLength(2);
  });

  it('json: one JSON object per line with log4j level names; levels still filter per logger', () => {
    const lines: string[] = [];
    const logs = new LogRegistry('WARN', (l) => lines.push(l), 'json');
    const log = logs.logger('a.b', 'ctx');
    log.info('hidden');
    log.warn('careful', { topic: 't' });
    logs.setLevel('a', 'DEBUG');
    log.debug('details');
    expect(lines).toHaveLength(2);
    const [warn, debug] = lines.map((l) => JSON.parse(l));
    expect(warn).toEqual({ level: 'WARN', time: expect.stringMatching(/Z$/), logger: 'a.b', context: 'ctx', message: 'careful', topic: 't' });
    expect(debug).toMatchObject({ level: 'DEBUG', logger: 'a.b', message: 'details' });
  });

  it('OFF silences a logger, ERROR lets errors through', () => {
    const lines: string[] = [];
    const logs = new LogRegistry('OFF', (l) => lines.push(l));
    logs.logger('x').error('not shown');
    logs.setLevel('x', 'ERROR');
    logs.logger('x').warn('not shown either');
    logs.logger('x').error('shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('ERROR shown (x)');
  });
});
