/**
 * The IAM path's production client (shared/signing/iam-rest.ts: metadata server and IAM Credentials
 * signBlob over REST, no google-auth-library on Google Cloud) against the local stand-ins of
 * test/harness/google-stand-ins.ts: a metadata server, and a signBlob server that checks path, token and body
 * and signs with its own RSA key. URLs are verified with that key's public half (test/signing/v4-verify.ts).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { GoogleEnv } from '../../shared/google/google-env.ts';
import { createCloudBlobSigner } from '../../shared/signing/iam-rest.ts';
import { type BlobSigner, createIamSigner } from '../../shared/signing/iam-signer.ts';
import {
  type MetadataStandIn,
  type SignBlobServer,
  startMetadataStandIn,
  startSignBlobServer,
} from '../harness/google-stand-ins.ts';
import { ids, rsaKey } from './fixtures.ts';
import { verifyRsaUrl } from './v4-verify.ts';

const key = rsaKey();
const noFallback = (): BlobSigner => {
  throw new Error('the fallback must not be used here');
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('createCloudBlobSigner (metadata server + IAM signBlob over REST)', () => {
  let metadata: MetadataStandIn;
  let signBlob: SignBlobServer;
  let google: GoogleEnv;
  let endpoint: string;

  before(async () => {
    metadata = await startMetadataStandIn();
    signBlob = await startSignBlobServer({
      email: metadata.email,
      accessToken: metadata.accessToken,
      privateKey: key.privateKey,
    });
    google = { metadataUrl: `http://${metadata.host}/computeMetadata/v1`, proxyEnv: {}, keyFile: undefined };
    endpoint = new URL(signBlob.endpoint).origin;
  });
  after(async () => {
    await signBlob?.stop();
    await metadata?.stop();
  });

  it('signs URLs as the runtime service account, one signBlob call per URL, verified with its key', async () => {
    const before = signBlob.stats.signed;
    const auth = createCloudBlobSigner({ google, endpoint, fallback: noFallback });
    const signer = createIamSigner({ auth, billingProject: 'my-billing-1' });
    const urls = await signer.signMany(ids(3), 'png', 600);
    assert.deepEqual(signBlob.stats.refused, []);
    assert.equal(signBlob.stats.signed - before, 3);
    for (const u of urls) {
      const v = verifyRsaUrl(u.url, key.publicKey);
      assert.ok(v.valid);
      assert.equal(v.accessId, metadata.email);
    }
  });

  it('warm() fetches the e-mail and the token before any signature, and signs nothing', async () => {
    const asked = metadata.requests.length;
    const signed = signBlob.stats.signed;
    const auth = createCloudBlobSigner({ google, endpoint, fallback: noFallback });
    createIamSigner({ auth, billingProject: 'my-billing-1' }).warm?.();
    await settle();
    const paths = metadata.requests.slice(asked);
    assert.ok(paths.includes('/computeMetadata/v1/instance/service-accounts/default/email'));
    assert.ok(paths.includes('/computeMetadata/v1/instance/service-accounts/default/token'));
    assert.equal(signBlob.stats.signed, signed);
    await auth.sign('after warm-up');
    assert.equal(
      metadata.requests.length - asked,
      paths.length,
      'nothing asked again at the first signature',
    );
  });

  it('uses Application Default Credentials (the fallback) when there is no metadata server, or a key file is set', async () => {
    const calls: string[] = [];
    const fallback = (): BlobSigner => ({
      sign: async (d) => {
        calls.push(`sign ${d}`);
        return 'c2ln';
      },
      getCredentials: async () => ({ client_email: 'adc@example.iam.gserviceaccount.com' }),
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const none = {
      metadataUrl: `http://127.0.0.1:${port}/computeMetadata/v1`,
      proxyEnv: {},
      keyFile: undefined,
    };
    const off = createCloudBlobSigner({ google: none, endpoint, fallback });
    assert.equal((await off.getCredentials()).client_email, 'adc@example.iam.gserviceaccount.com');
    assert.equal(await off.sign('x'), 'c2ln');
    const asked = metadata.requests.length;
    const keyed = createCloudBlobSigner({ google: { ...google, keyFile: '/k.json' }, endpoint, fallback });
    assert.equal(await keyed.sign('y'), 'c2ln');
    assert.equal(metadata.requests.length, asked, 'a key file comes first: the metadata server is not asked');
    assert.deepEqual(calls, ['sign x', 'sign y']);
  });

  it('retries a 503 of signBlob, and reports a 403 at once with the API message', async () => {
    let n = 0;
    const flaky = createServer((req, res) => {
      req.resume();
      n++;
      const [status, body] =
        req.url?.includes('denied') || n > 2
          ? [403, { error: { code: 403, message: 'Permission iam.serviceAccounts.signBlob denied' } }]
          : n === 1
            ? [503, { error: { code: 503, message: 'unavailable' } }]
            : [200, { keyId: 'k', signedBlob: 'c2lnbmVk' }];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
      const auth = createCloudBlobSigner({ google, endpoint: url, fallback: noFallback, backoffMs: () => 5 });
      assert.equal(await auth.sign('a'), 'c2lnbmVk');
      assert.equal(n, 2);
      await assert.rejects(auth.sign('b'), /HTTP 403: Permission iam\.serviceAccounts\.signBlob denied/);
      assert.equal(n, 3, 'a 403 is not retried');
    } finally {
      flaky.closeAllConnections();
      await new Promise<void>((resolve) => flaky.close(() => resolve()));
    }
  });
});
