import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../shared/log.ts';

describe('structured logger', () => {
  it('writes one JSON line with severity and message', () => {
    const lines: string[] = [];
    createLogger({ fn: 'x' }, (l) => lines.push(l)).warn('hello', { n: 1 });
    const e = JSON.parse(lines[0]!);
    assert.equal(e.severity, 'WARNING');
    assert.equal(e.message, 'hello');
    assert.equal(e.fn, 'x');
    assert.equal(e.n, 1);
  });
  it('redacts secrets and private keys', () => {
    const lines: string[] = [];
    const log = createLogger({}, (l) => lines.push(l));
    log.info('cfg', {
      HMAC_SECRET: 'abc123',
      nested: { private_key: 'k' },
      pem: '-----BEGIN PRIVATE KEY-----\nx',
    });
    assert.doesNotMatch(lines[0]!, /abc123|-----BEGIN/);
    assert.match(lines[0]!, /\[REDACTED\]/);
  });
  it('logs an error with its code and its cause chain, redacted too', () => {
    const lines: string[] = [];
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' });
    const mid = new Error('token fetch failed', { cause: root });
    createLogger({}, (l) => lines.push(l)).error('request failed', {
      err: new Error('The cohort store is not ready', { cause: mid }),
      leak: new Error('-----BEGIN PRIVATE KEY-----\nx'),
    });
    const e = JSON.parse(lines[0]!);
    assert.equal(e.err.message, 'The cohort store is not ready');
    assert.equal(e.err.cause.message, 'token fetch failed');
    assert.equal(e.err.cause.cause.code, 'ECONNREFUSED');
    assert.equal(e.err.cause.cause.cause, undefined);
    assert.doesNotMatch(lines[0]!, /-----BEGIN/);
  });
});
