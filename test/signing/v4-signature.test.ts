import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { IMAGE_FORMATS } from '../../shared/model/gcs.ts';
import { createHmacHex, createHmacSigner } from '../../shared/signing/hmac-signer.ts';
import { createIamSigner } from '../../shared/signing/iam-signer.ts';
import { createKeySigner } from '../../shared/signing/key-signer.ts';
import type { UrlSigner } from '../../shared/signing/url-signer.ts';
import {
  BILLING,
  EMAIL,
  fixedClock,
  HMAC_ID,
  HMAC_SECRET,
  ids,
  localBlobSigner,
  rsaKey,
} from './fixtures.ts';
import { parseV4Url, verifyHmacUrl, verifyRsaUrl } from './v4-verify.ts';

const key = rsaKey();
const other = rsaKey();
const T0 = '2025-06-30T23:59:58.750Z';

interface Case {
  name: string;
  make: (now: () => Date) => UrlSigner;
  verify: (url: string) => { valid: boolean; accessId: string; algorithm: string };
  accessId: string;
}
const cases: Case[] = [
  {
    name: 'service-account key (RSA)',
    make: (now) =>
      createKeySigner({ key: { client_email: EMAIL, private_key: key.pem }, billingProject: BILLING, now }),
    verify: (u) => verifyRsaUrl(u, key.publicKey),
    accessId: EMAIL,
  },
  {
    name: 'IAM signBlob (RSA)',
    make: (now) => createIamSigner({ auth: localBlobSigner(key).auth, billingProject: BILLING, now }),
    verify: (u) => verifyRsaUrl(u, key.publicKey),
    accessId: EMAIL,
  },
  {
    name: 'HMAC',
    make: (now) => createHmacSigner({ accessId: HMAC_ID, secret: HMAC_SECRET, billingProject: BILLING, now }),
    verify: (u) => verifyHmacUrl(u, HMAC_SECRET),
    accessId: HMAC_ID,
  },
];

for (const c of cases) {
  describe(`V4 URLs from the ${c.name} signer`, () => {
    it('verify, one by one, against an independent rebuild of the canonical request', async () => {
      const clock = fixedClock(T0);
      const signer = c.make(clock.now);
      let checked = 0;
      // Two seconds before midnight and after it: the credential date (and the HMAC day key) changes.
      for (const step of [0, 3]) {
        clock.advance(step);
        for (const format of IMAGE_FORMATS) {
          for (const expires of [1, 3600, 604_800]) {
            const batch = ids(60, 1 + step * 100);
            const urls = await signer.signMany(batch, format, expires);
            assert.equal(urls.length, batch.length);
            for (const [i, u] of urls.entries()) {
              const v = c.verify(u.url);
              assert.ok(v.valid, `signature of ${u.url}`);
              const p = parseV4Url(u.url);
              assert.equal(u.imageId, batch[i]);
              assert.equal(
                p.path,
                `/gcs-public-data--healthcare-nih-chest-xray/${format === 'png' ? `png/${batch[i]}.png` : `dicom/${batch[i]}.dcm`}`,
              );
              assert.equal(p.accessId, c.accessId);
              assert.equal(p.userProject, BILLING);
              assert.equal(p.expires, expires);
              const signedAt = Math.floor(clock.now().getTime() / 1000) * 1000;
              assert.equal(p.timestamp, new Date(signedAt).toISOString().replace(/[-:]|\.\d{3}/g, ''));
              assert.equal(u.expiresAt, new Date(signedAt + expires * 1000).toISOString());
              checked++;
            }
          }
        }
      }
      assert.equal(checked, 2 * 2 * 3 * 60);
      assert.ok(parseV4Url((await signer.signMany(ids(1), 'png', 60))[0]!.url).date !== '20250630');
    });

    it('fail verification once the URL is changed (the check is not vacuous)', async () => {
      const [u] = await c.make(fixedClock(T0).now).signMany(ids(1), 'png', 3600);
      const url = u!.url;
      assert.ok(c.verify(url).valid);
      for (const tampered of [
        url.replace('/png/00000001_000.png', '/png/00000002_000.png'),
        url.replace('X-Goog-Expires=3600', 'X-Goog-Expires=3601'),
        url.replace(`userProject=${BILLING}`, 'userProject=someone-else'),
        url.replace('/png/', '/dicom/').replace('.png?', '.dcm?'),
      ]) {
        assert.notEqual(tampered, url);
        assert.equal(c.verify(tampered).valid, false, tampered);
      }
    });

    it('keep the order of the ids and answer duplicates', async () => {
      const [a, b] = ids(2);
      const urls = await c.make(fixedClock(T0).now).signMany([b!, a!, b!], 'dicom', 600);
      assert.deepEqual(
        urls.map((u) => u.imageId),
        [b, a, b],
      );
      assert.equal(urls[0]!.url, urls[2]!.url);
      for (const u of urls) assert.ok(c.verify(u.url).valid);
    });

    it('refuse an expiry outside 1..604800 s and anything that is not an image id', async () => {
      const signer = c.make(fixedClock(T0).now);
      for (const bad of [0, 604_801, 1.5, Number.NaN]) {
        await assert.rejects(signer.signMany(ids(1), 'png', bad), RangeError);
      }
      // A caller that forges the brand still cannot reach another object.
      for (const forged of ['../x', '00000001_000/../../other', 'gs://other/x']) {
        await assert.rejects(signer.signMany([forged as never], 'png', 60), RangeError);
      }
    });
  });
}

describe('RSA verification with another key', () => {
  it('fails, so the RSA checks above prove the key', async () => {
    const [u] = await cases[0]!.make(fixedClock(T0).now).signMany(ids(1), 'png', 3600);
    assert.equal(verifyRsaUrl(u!.url, other.publicKey).valid, false);
  });
});

describe('the one-shot HMAC-SHA256', () => {
  it('equals crypto.createHmac for messages of any length, including ones that grow its buffer', () => {
    const key = createHmac('sha256', 'k').update('day').digest();
    const mac = createHmacHex(key);
    for (const msg of [
      '',
      'a',
      'x'.repeat(63),
      'é'.repeat(200),
      'y'.repeat(1000),
      'short again',
      '\n'.repeat(64),
    ]) {
      assert.equal(mac(msg), createHmac('sha256', key).update(msg).digest('hex'));
    }
  });
});
