/**
 * The function's own credentials toward the store: with DICOMWEB_AUTH google (the Healthcare API default)
 * google-auth-library fetches the runtime identity's token from the metadata server, as on Cloud Run, and
 * it travels as a Bearer token; with none, nothing is sent. The metadata server and the store are loopback
 * STAND-INS (neither has an emulator), from test/harness/google-stand-ins.ts and fixtures.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDicomwebStore } from '../../shared/dicom/dicomweb.ts';
import { tokenSource } from '../../shared/dicom/token.ts';
import { type MetadataStandIn, startMetadataStandIn } from '../harness/google-stand-ins.ts';
import { standInStore } from './fixtures.ts';

const id = {
  studyInstanceUid: '1.2.3',
  seriesInstanceUid: '1.2.4',
  sopInstanceUid: '1.2.5',
  transferSyntaxUid: '1.2.840.10008.1.2.1',
  rows: 2,
  columns: 2,
  photometricInterpretation: 'MONOCHROME2',
};

let metadata: MetadataStandIn;
const seen: (string | undefined)[] = [];
let store: Awaited<ReturnType<typeof standInStore>>;

before(async () => {
  metadata = await startMetadataStandIn();
  // As on Cloud Run: K_SERVICE set, the metadata server at GCE_METADATA_HOST, no key file.
  Object.assign(process.env, { K_SERVICE: 'nih-cxr-dicom', GCE_METADATA_HOST: metadata.host });
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  store = await standInStore((req, res) => {
    seen.push(req.headers.authorization);
    if (req.headers.authorization !== `Bearer ${metadata.accessToken}` && req.url?.includes('/denied/')) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/dicom+json' });
    res.end(JSON.stringify([{ '00080018': { vr: 'UI', Value: [id.sopInstanceUid] } }]));
  });
});
after(async () => {
  await Promise.all([store?.close(), metadata?.stop()]);
});

const options = { timeoutMs: 5000, maxBytes: 1 << 20, maxMetadataBytes: 1 << 20 };

describe('credentials toward the DICOM store', () => {
  it('google: the runtime identity token from the metadata server, as a Bearer token', async () => {
    const s = createDicomwebStore({ ...options, base: store.base, token: tokenSource('google') });
    const json = (await s.metadata(id)) as Record<string, { Value: string[] }>[];
    assert.equal(json[0]?.['00080018']?.Value[0], id.sopInstanceUid);
    assert.equal(seen.at(-1), `Bearer ${metadata.accessToken}`);
    assert.ok(metadata.requests.includes('/computeMetadata/v1/instance/service-accounts/default/token'));
  });

  it('none: no Authorization header; a store that then answers 401 is a 403 naming the access form', async () => {
    const s = createDicomwebStore({ ...options, base: `${store.base}/denied`, token: tokenSource('none') });
    await assert.rejects(s.metadata(id), (err: { status?: number; message?: string }) => {
      assert.equal(err.status, 403);
      assert.match(err.message ?? '', /healthcare-api\/docs\/resources\/public-datasets\/nih-chest/);
      assert.match(err.message ?? '', /DICOM_STORE/);
      return true;
    });
    assert.equal(seen.at(-1), undefined);
  });
});
