import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolateString } from '../../src/config/interpolate.js';

function value(text: string, env: NodeJS.ProcessEnv): string {
  const result = interpolateString(text, env);
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result.value;
}

function failure(text: string, env: NodeJS.ProcessEnv = {}): string {
  const result = interpolateString(text, env);
  assert.ok(!result.ok, `expected ${text} to fail`);
  return result.message;
}

describe('interpolateString', () => {
  it('replaces ${VAR}, several times in one string', () => {
    assert.equal(value('${HOST}', { HOST: 'kafka' }), 'kafka');
    assert.equal(value('http://${HOST}:${PORT}/x', { HOST: 'h', PORT: '80' }), 'http://h:80/x');
  });

  it('uses the default of ${VAR:-default} when the variable is unset or empty', () => {
    assert.equal(value('${OUT:-./out}', {}), './out');
    assert.equal(value('${OUT:-./out}', { OUT: '' }), './out');
    assert.equal(value('${OUT:-./out}', { OUT: '/data' }), '/data');
    assert.equal(value('${OUT:-}', {}), '');
    assert.equal(value('${BROKERS:-127.0.0.1:9092}', {}), '127.0.0.1:9092');
  });

  it('keeps an empty value without a default', () => {
    assert.equal(value('a${EMPTY}b', { EMPTY: '' }), 'ab');
  });

  it('writes $${ as a literal ${ and leaves other dollars alone', () => {
    assert.equal(value('$${HOME}', { HOME: '/root' }), '${HOME}');
    assert.equal(value('cost: $5, $HOME, $', { HOME: '/root' }), 'cost: $5, $HOME, $');
  });

  it('never expands a value again', () => {
    assert.equal(value('${A}', { A: '${B}', B: 'no' }), '${B}');
  });

  it('reports the variable name, never a value, when a variable is missing', () => {
    assert.equal(failure('${KAFKA_PASSWORD}'), 'environment variable KAFKA_PASSWORD is not set; set it, or give a default with ${KAFKA_PASSWORD:-default}');
  });

  it('reports malformed references', () => {
    assert.match(failure('${not a name}'), /^malformed reference/);
    assert.match(failure('${1ABC}'), /^malformed reference/);
    assert.match(failure('${OPEN'), /^unclosed reference/);
    assert.match(failure('${A:-${B}}'), /^nested reference/);
  });

  it('lists the values it took from the environment', () => {
    const result = interpolateString('${A}-${B:-x}-${C:-y}', { A: 'one', C: 'three' });
    assert.ok(result.ok);
    assert.deepEqual(result.substituted, ['one', 'three']);
  });
});
