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
});
