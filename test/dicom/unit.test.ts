/**
 * The pure parts of DICOM access: UI strings, the identity taken from a header, the multipart unwrapping of
 * WADO-RS answers under any chunking (fast-check), Accept negotiation, links, and the configuration's checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { negotiateRendered } from '../../functions/dicom/routes.ts';
import { findOrthanc } from '../../scripts/emulators/orthanc.ts';
import { loadDicomConfig } from '../../shared/dicom/config.ts';
import { identityFromInfo, imageIdOfDicomObject } from '../../shared/dicom/identity.ts';
import { dicomLinks } from '../../shared/dicom/links.ts';
import { limiter } from '../../shared/dicom/load.ts';
import { firstPart, MultipartError, multipartBoundary } from '../../shared/dicom/multipart.ts';
import { DicomUidSchema } from '../../shared/model/dicom.ts';
import type { DicomInfo } from '../../shared/uploads/dicom.ts';

describe('DICOM UI strings (PS3.5 9.1)', () => {
  const valid = [
    '1.2.840.10008.1.2.1',
    '0',
    '2.25.181518589261655094684188144477417775531',
    `1.${'2'.repeat(62)}`,
  ];
  const invalid = [
    ['', 'empty'],
    ['1.02.3', 'leading zero'],
    ['1..2', 'empty component'],
    ['1.2.', 'trailing dot'],
    ['1.2.a', 'letter'],
    [' 1.2', 'space'],
    [`1.${'2'.repeat(63)}`, '65 characters'],
    ['1.2\u00003', 'NUL inside'],
  ];
  for (const v of valid)
    it(`accepts ${v.slice(0, 30)}`, () => assert.ok(DicomUidSchema.safeParse(v).success));
  for (const [v, why] of invalid) it(`refuses ${why}`, () => assert.ok(!DicomUidSchema.safeParse(v).success));
});

describe('identity from a header', () => {
  const info: DicomInfo = {
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.7',
    sopInstanceUid: '1.2.3',
    studyInstanceUid: '1.2.4',
    seriesInstanceUid: '1.2.5',
    modality: 'DX',
    patientAge: '058Y',
    patientSex: 'M',
    viewPosition: 'PA',
    rows: 2048,
    columns: 2500,
    bitsAllocated: 8,
    photometricInterpretation: 'MONOCHROME2',
    pixelDataOffset: 700,
    pixelDataLength: 2048 * 2500,
  };
  it('takes the seven fields', () => {
    assert.deepEqual(identityFromInfo(info), {
      studyInstanceUid: '1.2.4',
      seriesInstanceUid: '1.2.5',
      sopInstanceUid: '1.2.3',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      rows: 2048,
      columns: 2500,
      photometricInterpretation: 'MONOCHROME2',
    });
  });
  it('names the tag and the value of an invalid UID, and a missing one', () => {
    assert.deepEqual(identityFromInfo({ ...info, seriesInstanceUid: '1.2.05' }), {
      reason:
        '(0020,000E) SeriesInstanceUID is "1.2.05": must be a DICOM UID: digits in dot-separated components without leading zeros',
    });
    assert.deepEqual(identityFromInfo({ ...info, studyInstanceUid: null }), {
      reason: '(0020,000D) StudyInstanceUID is missing',
    });
  });
  it('image ids only from names ending in <imageId>.dcm', () => {
    assert.equal(imageIdOfDicomObject('images/00000001_000.dcm'), '00000001_000');
    assert.equal(imageIdOfDicomObject('00000001_000.DCM'), '00000001_000');
    assert.equal(imageIdOfDicomObject('images/x00000001_000.dcm'), undefined);
    assert.equal(imageIdOfDicomObject('images/00000001_000.dcm.bak'), undefined);
    assert.equal(imageIdOfDicomObject('images/b.dcm'), undefined);
  });
});

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}
async function* chunked(b: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (const c of [...new Set(cuts.map((x) => x % (b.length + 1)))].sort((x, y) => x - y)) {
    yield b.subarray(at, c);
    at = c;
  }
  yield b.subarray(at);
}

describe('multipart/related first part', () => {
  it('the boundary, quoted or not', () => {
    assert.equal(multipartBoundary('multipart/related; type="application/dicom"; boundary=abc'), 'abc');
    assert.equal(multipartBoundary('multipart/related; boundary="a b:c"; type=x'), 'a b:c');
    assert.equal(multipartBoundary('application/dicom'), undefined);
  });

  it('returns the part body exactly, however the stream is cut (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.stringMatching(/^[A-Za-z0-9'()+_,.-]{1,40}$/),
        async (body, cuts, boundary) => {
          const part = Buffer.from(body);
          // A body may contain anything but the delimiter itself (RFC 2046 5.1.1).
          fc.pre(!part.includes(`\r\n--${boundary}`));
          const whole = Buffer.concat([
            Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
            part,
            Buffer.from(`\r\n--${boundary}--\r\n`),
          ]);
          assert.deepEqual(await collect(firstPart(chunked(whole, cuts), boundary)), part);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a body cut inside its part, and part headers that never end', async () => {
    const cut = Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\nDICM...');
    await assert.rejects(collect(firstPart(chunked(cut, []), 'b')), MultipartError);
    const endless = Buffer.concat([Buffer.from('--b\r\n'), Buffer.alloc(40_000, 0x41)]);
    await assert.rejects(
      collect(firstPart(chunked(endless, [1000, 20_000]), 'b')),
      /within the first 16384 bytes/,
    );
  });
});

describe('Accept negotiation of the rendered image', () => {
  const table: [string | undefined, string][] = [
    [undefined, 'image/png'],
    ['*/*', 'image/png'],
    ['image/*', 'image/png'],
    ['image/jpeg', 'image/jpeg'],
    ['image/png;q=0.5, image/jpeg', 'image/jpeg'],
    ['image/jpeg;q=0.2, image/png;q=0.9', 'image/png'],
    ['text/html, image/jpeg;q=0.1', 'image/jpeg'],
  ];
  for (const [accept, want] of table)
    it(`${accept ?? '(none)'} -> ${want}`, () => assert.equal(negotiateRendered(accept), want));
  it('406 when neither is acceptable, including q=0', () => {
    assert.throws(() => negotiateRendered('text/html'), { status: 406 });
    assert.throws(() => negotiateRendered('image/png;q=0, image/jpeg;q=0'), { status: 406 });
  });
});

describe('links and configuration', () => {
  const d = {
    studyInstanceUid: '1.2.4',
    seriesInstanceUid: '1.2.5',
    sopInstanceUid: '1.2.3',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    rows: 2,
    columns: 3,
    photometricInterpretation: 'MONOCHROME2',
  };
  it('fills the viewer template and the WADO-RS URL', () => {
    const c = loadDicomConfig({
      DICOM_STORE:
        'projects/chc-nih-chest-xray/locations/us-central1/datasets/nih-chest-xray/dicomStores/nih-chest-xray',
    });
    assert.equal(c.auth, 'google');
    assert.deepEqual(dicomLinks('00000001_000', d, c), {
      dicomweb:
        'https://healthcare.googleapis.com/v1/projects/chc-nih-chest-xray/locations/us-central1/datasets/nih-chest-xray/dicomStores/nih-chest-xray/dicomWeb/studies/1.2.4/series/1.2.5/instances/1.2.3',
      viewer: 'https://viewer.ohif.org/viewer?StudyInstanceUIDs=1.2.4',
    });
    const local = loadDicomConfig({
      DICOMWEB_BASE: 'http://127.0.0.1:8042/dicom-web/',
      DICOM_VIEWER_URL: 'http://v.example/{imageId}?s={sopInstanceUid}',
    });
    assert.equal(local.auth, 'none');
    assert.deepEqual(dicomLinks('00000001_000', d, local), {
      dicomweb: 'http://127.0.0.1:8042/dicom-web/studies/1.2.4/series/1.2.5/instances/1.2.3',
      viewer: 'http://v.example/00000001_000?s=1.2.3',
    });
  });
  it('refuses malformed values at start-up, naming the variable', () => {
    assert.throws(() => loadDicomConfig({ DICOM_STORE: 'chc-nih-chest-xray/nih-chest-xray' }), /DICOM_STORE/);
    assert.throws(() => loadDicomConfig({ DICOMWEB_BASE: 'ftp://x/dicom-web' }), /DICOMWEB_BASE/);
    assert.throws(
      () => loadDicomConfig({ DICOM_VIEWER_URL: 'https://v.example/?s={patientName}' }),
      /DICOM_VIEWER_URL/,
    );
    assert.throws(() => loadDicomConfig({ DICOMWEB_TIMEOUT_MS: '5' }), /DICOMWEB_TIMEOUT_MS/);
  });
});

describe('npm start without Orthanc', () => {
  it('says what to install when Orthanc or its DICOMweb plugin is missing', () => {
    assert.equal(
      findOrthanc({ binaries: [] }),
      'Orthanc is not installed: apt-get install -y orthanc orthanc-dicomweb (Debian/Ubuntu)',
    );
    assert.equal(
      findOrthanc({ binaries: [process.execPath], pluginDirs: ['/nonexistent'] }),
      'the Orthanc DICOMweb plugin is not installed: apt-get install -y orthanc orthanc-dicomweb (Debian/Ubuntu)',
    );
  });
});

describe('load:dicom throttle (--rate)', () => {
  it('lets a second worth of requests through at once, then one per 1/rate s (mocked clock)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const take = limiter(5, Date.now);
    let done = 0;
    const all = Promise.all(
      Array.from({ length: 8 }, async () => {
        await take();
        done++;
      }),
    );
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    assert.equal(done, 5, 'the burst');
    for (const want of [6, 7, 8]) {
      t.mock.timers.tick(199);
      await settle();
      assert.equal(done, want - 1, 'not before 200 ms');
      t.mock.timers.tick(1);
      await settle();
      assert.equal(done, want);
    }
    await all;
  });
});
