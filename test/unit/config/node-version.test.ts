import { nodeVersionProblem } from '../../../src/config/node-version';

describe('nodeVersionProblem', () => {
  it.each(['v24.6.0', 'v24.22.3', 'v25.1.0', 'v22.22.0', '24.11.1'])('accepts %s', (v) => {
    expect(nodeVersionProblem(v)).toBeUndefined();
  });

  it.each(['v20.19.5', 'v22.21.1', 'v23.11.0', 'v24.5.0', 'v18.0.0'])('refuses %s and says how to get Node 24', (v) => {
    const problem = nodeVersionProblem(v);
    expect(problem).toContain(`this is Node.js ${v}`);
    expect(problem).toContain('Node.js 24 LTS');
    expect(problem).toContain('scripts/node.sh');
  });
});
