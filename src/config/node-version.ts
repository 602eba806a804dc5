/**
 * The Node.js versions the worker runs on. The Kafka client (@platformatic/kafka 2.x) needs Node
 * ≥ 22.22 or ≥ 24.6 and fails on older ones only once it is first used, deep inside a request
 * ("Promise.withResolvers is not a function" on Node 20): the worker checks at its first line
 * instead and says what to do.
 */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map((n) => Number.parseInt(n, 10));
  const supported = major > 24 || (major === 24 && minor >= 6) || (major === 22 && minor >= 22);
  if (supported) return undefined;
  return `Kappa Connect needs Node.js 24 LTS (24.6 or later; 22.22 or later also works), and this is Node.js ${version.startsWith('v') ? version : `v${version}`}. `
    + '`make run` fetches Node.js 24 into .cache/node by itself (scripts/node.sh); `bash scripts/node.sh bindir` prints the directory to put first on PATH.';
}
