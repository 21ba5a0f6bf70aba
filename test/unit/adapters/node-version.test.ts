import { describe, expect, it } from 'vitest';
import { nodeVersionProblem, REQUIRED_NODE_MAJOR } from '../../../src/adapters/bootstrap/node-version.js';

describe('nodeVersionProblem', () => {
  it('accepts Node 24 and newer', () => {
    expect(REQUIRED_NODE_MAJOR).toBe(24);
    expect(nodeVersionProblem('24.0.0')).toBeUndefined();
    expect(nodeVersionProblem('v24.21.0')).toBeUndefined();
    expect(nodeVersionProblem('26.1.0')).toBeUndefined();
  });

  it('names the Node it needs and the one it found, in one line, for an older Node', () => {
    const problem = nodeVersionProblem('20.20.2');
    expect(problem).toContain('needs Node 24 or newer');
    expect(problem).toContain('Node 20.20.2');
    expect(problem).not.toContain('\n');
    expect(nodeVersionProblem('22.9.0')).toContain('Node 22.9.0');
  });

  it('refuses a version it cannot read rather than guessing', () => {
    expect(nodeVersionProblem('')).toContain('needs Node 24');
    expect(nodeVersionProblem('banana')).toContain('needs Node 24');
  });
});
