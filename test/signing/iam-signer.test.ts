import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceUnavailableError } from '../../shared/http/errors.ts';
import { createLogger } from '../../shared/log.ts';
import { createIamSigner } from '../../shared/signing/iam-signer.ts';
import { fixedClock, ids, localBlobSigner, rsaKey } from './fixtures.ts';
import { verifyRsaUrl } from './v4-verify.ts';

const key = rsaKey();
const T0 = '2025-01-15T10:00:00.000Z';

describe('IAM signBlob signer', () => {
  it('keeps at most `concurrency` signBlob calls in flight, across parallel batches', async () => {
    const { auth, stats } = localBlobSigner(key, 3);
    const signer = createIamSigner({
      auth,
      billingProject: 'my-billing-1',
      now: fixedClock(T0).now,
      concurrency: 16,
    });
    const [a, b] = await Promise.all([
      signer.signMany(ids(120, 1), 'png', 3600),
      signer.signMany(ids(80, 500), 'dicom', 3600),
    ]);
    assert.equal(stats.signCalls, 200);
    assert.equal(stats.maxInFlight, 16);
    for (const u of [...a, ...b]) assert.ok(verifyRsaUrl(u.url, key.publicKey).valid);
    assert.equal(stats.credentialCalls, 1, 'the service-account e-mail is looked up once');
  });

  it('signs each distinct id of a batch once', async () => {
    const { auth, stats } = localBlobSigner(key);
    const signer = createIamSigner({ auth, billingProject: 'my-billing-1', now: fixedClock(T0).now });
    const [x, y] = ids(2);
    const urls = await signer.signMany([x!, y!, x!, x!], 'png', 600);
    assert.equal(stats.signCalls, 2);
    assert.deepEqual(
      urls.map((u) => u.imageId),
      [x, y, x, x],
    );
  });

  it('reuses a URL while at least half of its lifetime is left, then signs afresh', async () => {
    const { auth, stats } = localBlobSigner(key);
    const clock = fixedClock(T0);
    const signer = createIamSigner({ auth, billingProject: 'my-billing-1', now: clock.now });
    const batch = ids(10);
    const first = await signer.signMany(batch, 'png', 3600);
    assert.equal(stats.signCalls, 10);

    clock.advance(1800); // exactly half left: still reused
    const second = await signer.signMany(batch, 'png', 3600);
    assert.equal(stats.signCalls, 10);
    assert.deepEqual(second, first);

    // Another format or another requested lifetime is another URL.
    await signer.signMany(batch.slice(0, 3), 'dicom', 3600);
    await signer.signMany(batch.slice(0, 2), 'png', 3599);
    assert.equal(stats.signCalls, 15);

    clock.advance(1); // less than half left: signed again, with the new time
    const third = await signer.signMany(batch, 'png', 3600);
    assert.equal(stats.signCalls, 25);
    assert.notEqual(third[0]!.url, first[0]!.url);
    assert.equal(third[0]!.expiresAt, '2025-01-15T11:30:01.000Z');
    for (const u of third) assert.ok(verifyRsaUrl(u.url, key.publicKey).valid);

    // A cached answer never claims more lifetime than its URL has.
    clock.advance(600);
    const fourth = await signer.signMany(batch, 'png', 3600);
    assert.equal(stats.signCalls, 25);
    assert.equal(fourth[0]!.expiresAt, third[0]!.expiresAt);
  });

  it('turns a signBlob failure into a 503 and recovers when the service does', async () => {
    const { auth, stats } = localBlobSigner(key, 1);
    const logged: string[] = [];
    const signer = createIamSigner({
      auth,
      billingProject: 'my-billing-1',
      now: fixedClock(T0).now,
      concurrency: 4,
      logger: createLogger({}, (line) => logged.push(line)),
    });
    stats.fail = true;
    await assert.rejects(signer.signMany(ids(50), 'png', 3600), (err: unknown) => {
      assert.ok(err instanceof ServiceUnavailableError);
      assert.equal(err.status, 503);
      return true;
    });
    assert.ok(stats.signCalls <= 4, `stopped after the first failures (${stats.signCalls} calls)`);
    assert.match(logged.join('\n'), /"message":"IAM signBlob failed".*503 backend unavailable/);
    stats.fail = false;
    const urls = await signer.signMany(ids(50), 'png', 3600);
    assert.equal(urls.length, 50);
  });

  it('answers 503 when the runtime identity has no e-mail, and asks again next time', async () => {
    let calls = 0;
    const signer = createIamSigner({
      auth: {
        sign: async () => '',
        getCredentials: async () => {
          calls++;
          return {};
        },
      },
      billingProject: 'my-billing-1',
      logger: createLogger({}, () => {}),
    });
    await assert.rejects(signer.signMany(ids(1), 'png', 60), ServiceUnavailableError);
    await assert.rejects(signer.signMany(ids(1), 'png', 60), ServiceUnavailableError);
    assert.equal(calls, 2);
  });
});
