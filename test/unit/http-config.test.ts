import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../shared/config.ts';
import { loadHttpConfig } from '../../shared/http/config.ts';

describe('HTTP configuration', () => {
  it('defaults to no CORS and a 1 MiB body limit', () => {
    assert.deepEqual(loadHttpConfig({}), { corsOrigins: [], maxBodyBytes: 1024 * 1024 });
  });
  it('reads a comma-separated CORS allow-list', () => {
    assert.deepEqual(loadHttpConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }).corsOrigins, [
      'https://a.example',
      'https://b.example',
    ]);
  });
  it('rejects a body limit that is not a number', () => {
    assert.throws(() => loadHttpConfig({ MAX_BODY_BYTES: 'lots' }), ConfigError);
  });
});
