import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { DATASET_BUCKET, type ImageFormat, objectName } from '../../shared/model/gcs.ts';
import { createKeySigner } from '../../shared/signing/key-signer.ts';
import { EMAIL, ids, rsaKey } from './fixtures.ts';

const key = rsaKey();
// apiEndpoint: the real host even if STORAGE_EMULATOR_HOST is set (it would point the library's URLs there).
const storage = new Storage({
  apiEndpoint: 'https://storage.googleapis.com',
  credentials: { client_email: EMAIL, private_key: key.pem },
});

async function librarySignedUrl(
  object: string,
  at: Date,
  expiresInSeconds: number,
  userProject: string,
  opts: { accessibleAt: boolean },
): Promise<string> {
  // The library reads the clock itself (`new Date()`); pin it to the same instant.
  mock.timers.enable({ apis: ['Date'], now: at });
  const start = Math.floor(at.getTime() / 1000) * 1000;
  const [url] = await storage
    .bucket(DATASET_BUCKET)
    .file(object)
    .getSignedUrl({
      version: 'v4',
      action: 'read',
      expires: start + expiresInSeconds * 1000,
      ...(opts.accessibleAt ? { accessibleAt: start } : {}),
      queryParams: { userProject },
    });
  mock.timers.reset();
  return url;
}

describe('RSA URLs equal @google-cloud/storage getSignedUrl byte for byte', () => {
  afterEach(() => mock.timers.reset());

  const cases: { at: string; format: ImageFormat; expires: number; project: string }[] = [
    { at: '2024-03-05T06:07:08.000Z', format: 'png', expires: 3600, project: 'my-billing-1' },
    { at: '2024-03-05T06:07:08.999Z', format: 'dicom', expires: 1, project: 'my-billing-1' },
    { at: '2025-12-31T23:59:59.500Z', format: 'png', expires: 604_800, project: 'example.com:nih-cxr-prod' },
    {
      at: '2026-02-28T12:00:00.001Z',
      format: 'dicom',
      expires: 86_400,
      project: 'a-project-with-30-characters-x',
    },
  ];
  for (const c of cases) {
    for (const accessibleAt of [false, true]) {
      it(`at ${c.at}, ${c.format}, ${c.expires} s, userProject=${c.project}${accessibleAt ? ', accessibleAt' : ''}`, async () => {
        const at = new Date(c.at);
        const signer = createKeySigner({
          key: { client_email: EMAIL, private_key: key.pem },
          billingProject: c.project,
          now: () => at,
        });
        const batch = ids(5, 12_340);
        const ours = await signer.signMany(batch, c.format, c.expires);
        for (const [i, id] of batch.entries()) {
          const theirs = await librarySignedUrl(objectName(id, c.format), at, c.expires, c.project, {
            accessibleAt,
          });
          assert.equal(ours[i]!.url, theirs);
        }
      });
    }
  }
});
