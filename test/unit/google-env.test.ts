/**
 * The environment of the SDK-free Google clients (shared/google/google-env.ts): where the metadata server is,
 * which proxy variables reach Node's agent, and the key file that puts Application Default Credentials first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../shared/config.ts';
import { loadGoogleEnv } from '../../shared/google/google-env.ts';

describe('loadGoogleEnv', () => {
  it('defaults to the link-local metadata server, no proxy and no key file', () => {
    assert.deepEqual(loadGoogleEnv({}), {
      metadataUrl: 'http://169.254.169.254/computeMetadata/v1',
      proxyEnv: {},
      keyFile: undefined,
    });
  });

  it('takes GCE_METADATA_HOST as host[:port], IPv6 in brackets included', () => {
    for (const [host, url] of [
      ['127.0.0.1:8080', 'http://127.0.0.1:8080/computeMetadata/v1'],
      ['metadata.google.internal', 'http://metadata.google.internal/computeMetadata/v1'],
      ['[::1]:9', 'http://[::1]:9/computeMetadata/v1'],
    ] as const) {
      assert.equal(loadGoogleEnv({ GCE_METADATA_HOST: host }).metadataUrl, url);
    }
  });

  it('refuses a GCE_METADATA_HOST that is a URL or has a path, naming the variable', () => {
    for (const bad of ['http://127.0.0.1:8080', '127.0.0.1/x', 'host:port']) {
      assert.throws(
        () => loadGoogleEnv({ GCE_METADATA_HOST: bad }),
        (e: unknown) =>
          e instanceof ConfigError && /GCE_METADATA_HOST: must be host or host:port/.test(e.message),
        bad,
      );
    }
  });

  it('passes only the proxy variables that are set (empty = unset) to the agent, and the key file', () => {
    const g = loadGoogleEnv({
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
      https_proxy: '',
      GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
      PATH: '/usr/bin',
    });
    assert.deepEqual(g.proxyEnv, { HTTPS_PROXY: 'http://proxy:3128', no_proxy: 'localhost' });
    assert.equal(g.keyFile, '/k.json');
  });
});
