/** Pure tests of upload content handling: sniffing, PNG validation, DICOM headers, event and config schemas. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../../shared/config.ts';
import { LabelStoreUnavailableError } from '../../shared/labels/errors.ts';
import { FileFormatError } from '../../shared/parsers/types.ts';
import { UploadsConfigSchema } from '../../shared/uploads/config.ts';
import { DicomHeaderReader, MAX_DICOM_HEADER } from '../../shared/uploads/dicom.ts';
import { contentFault, isTransient, UploadBusyError, UploadRejection } from '../../shared/uploads/errors.ts';
import { StorageObjectSchema } from '../../shared/uploads/event.ts';
import { PngValidator, validatePng } from '../../shared/uploads/png.ts';
import { derivedName, MAX_OBJECT_NAME_BYTES, reportName } from '../../shared/uploads/report.ts';
import { sniffContent } from '../../shared/uploads/sniff.ts';
import { ihdr, makeDicom, makePng, PNG_SIGNATURE, pngChunk, pngWithBadCrc } from './fixtures.ts';

async function* chunks(b: Buffer, size = 7): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function drain(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

async function rejection(p: Promise<unknown>): Promise<UploadRejection> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof UploadRejection, `expected an UploadRejection, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

const METADATA_HEADER =
  'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]';

describe('sniffContent', () => {
  const cases: { name: string; bytes: Buffer; kind: string; fileKind?: string; gzip: boolean }[] = [
    { name: 'a PNG', bytes: makePng(), kind: 'png', gzip: false },
    { name: 'a gzipped PNG', bytes: gzipSync(makePng()), kind: 'png', gzip: true },
    { name: 'a DICOM file', bytes: makeDicom(), kind: 'dicom', gzip: false },
    {
      name: 'a metadata CSV',
      bytes: Buffer.from(`${METADATA_HEADER}\n`),
      kind: 'labels',
      fileKind: 'metadata_v2020',
      gzip: false,
    },
    {
      name: 'a gzipped metadata CSV with a BOM and CRLF',
      bytes: gzipSync(`\uFEFF${METADATA_HEADER}\r\n`),
      kind: 'labels',
      fileKind: 'metadata_v2020',
      gzip: true,
    },
    {
      name: 'an image list (no header)',
      bytes: Buffer.from('00000001_000.png\n00000001_001.png\n'),
      kind: 'labels',
      fileKind: 'image_list',
      gzip: false,
    },
  ];
  for (const c of cases) {
    test(`recognises ${c.name} from its bytes and hands back all of them`, async () => {
      const { sniffed, content } = await sniffContent(chunks(c.bytes, 5));
      assert.equal(sniffed.kind, c.kind);
      assert.equal(sniffed.gzip, c.gzip);
      if (c.fileKind) assert.equal(sniffed.kind === 'labels' && sniffed.fileKind, c.fileKind);
      const expected = c.gzip ? (await import('node:zlib')).gunzipSync(c.bytes) : c.bytes;
      assert.deepEqual(await drain(content), expected);
    });
  }

  const bad: { name: string; bytes: Buffer; reason: RegExp }[] = [
    { name: 'an empty object', bytes: Buffer.alloc(0), reason: /empty object/ },
    { name: 'random bytes', bytes: randomBytes(4096), reason: /not a PNG, a DICOM file or/ },
    {
      name: 'an unknown CSV header',
      bytes: Buffer.from('a,b,c\n1,2,3\n'),
      reason: /unrecognised first line "a,b,c"/,
    },
    { name: 'a truncated gzip', bytes: gzipSync(makePng()).subarray(0, 20), reason: /truncated gzip/ },
    { name: 'an empty gzip', bytes: gzipSync(Buffer.alloc(0)), reason: /empty gzip/ },
  ];
  for (const c of bad) {
    test(`rejects ${c.name} by the time it is read`, async () => {
      // A truncated gzip may sniff fine: the problem shows when the rest is read.
      const r = await rejection(sniffContent(chunks(c.bytes, 1000)).then((x) => drain(x.content)));
      assert.match(r.message, c.reason);
    });
  }

  test('never looks at a name: a PNG is a PNG whatever the caller calls it', async () => {
    const { sniffed } = await sniffContent(chunks(makePng(), 1));
    assert.equal(sniffed.kind, 'png');
  });
});

describe('PngValidator', () => {
  test('accepts a valid PNG fed one byte at a time and reports its IHDR', async () => {
    const info = await validatePng(chunks(makePng(64, 48), 1));
    assert.deepEqual(
      { w: info.width, h: info.height, d: info.bitDepth, c: info.colourType, n: info.chunks },
      { w: 64, h: 48, d: 8, c: 0, n: 3 },
    );
  });

  test('reports a bad CRC with the byte offset of the CRC', async () => {
    const { bytes, crcOffset } = pngWithBadCrc();
    const r = await rejection(validatePng(chunks(bytes, 3)));
    assert.equal(r.offset, crcOffset);
    assert.match(r.message, /chunk IDAT CRC mismatch/);
  });

  test('reports a truncated PNG (IEND missing) at its end', async () => {
    const png = makePng();
    const r = await rejection(validatePng(chunks(png.subarray(0, png.length - 20))));
    assert.match(r.message, /truncated/);
    assert.equal(r.offset, png.length - 20);
  });

  const broken: { name: string; bytes: Buffer; reason: RegExp; offset: number }[] = [
    {
      name: 'a first chunk that is not IHDR',
      bytes: Buffer.concat([PNG_SIGNATURE, pngChunk('IDAT', Buffer.from([1]))]),
      reason: /first chunk is IDAT/,
      offset: 8,
    },
    {
      name: 'bit depth 3 for greyscale',
      bytes: Buffer.concat([PNG_SIGNATURE, ihdr(4, 4, 3, 0)]),
      reason: /bit depth 3 is invalid/,
      offset: 24,
    },
    {
      name: 'colour type 5',
      bytes: Buffer.concat([PNG_SIGNATURE, ihdr(4, 4, 8, 5)]),
      reason: /colour type 5 is invalid/,
      offset: 25,
    },
    {
      name: 'a zero width',
      bytes: Buffer.concat([PNG_SIGNATURE, ihdr(0, 4)]),
      reason: /width 0 is out of range/,
      offset: 16,
    },
    {
      name: 'data after IEND',
      bytes: Buffer.concat([makePng(), Buffer.from('x')]),
      reason: /data after IEND/,
      offset: makePng().length,
    },
    {
      name: 'an unknown critical chunk',
      bytes: Buffer.concat([PNG_SIGNATURE, ihdr(4, 4), pngChunk('ABCD')]),
      reason: /unknown critical chunk ABCD/,
      offset: 33,
    },
  ];
  for (const c of broken) {
    test(`rejects ${c.name} at the right byte`, () => {
      const v = new PngValidator();
      assert.throws(
        () => {
          v.push(c.bytes);
          v.end();
        },
        (e: unknown) => e instanceof UploadRejection && c.reason.test(e.message) && e.offset === c.offset,
      );
    });
  }
});

describe('DicomHeaderReader', () => {
  test('reads the header tags and stops keeping bytes at the pixel data', () => {
    const dcm = makeDicom({ rows: 30, columns: 20, patientAge: '061Y', patientSex: 'F', viewPosition: 'AP' });
    const r = new DicomHeaderReader();
    for (let i = 0; i < dcm.length; i += 100) r.push(dcm.subarray(i, i + 100));
    const d = r.end();
    assert.deepEqual(
      [d.rows, d.columns, d.patientAge, d.patientSex, d.viewPosition, d.sopClassUid, d.sopInstanceUid],
      [30, 20, '061Y', 'F', 'AP', '1.2.840.10008.5.1.4.1.1.1.1', '1.2.826.0.1.3680043.8.498.1'],
    );
    assert.equal(d.pixelDataLength, 30 * 20 * 2);
    assert.equal(d.pixelDataOffset, dcm.length - 30 * 20 * 2);
    assert.ok(r.done);
  });

  test('parses the header once, however many Pixel Data look-alikes it holds (3 MiB of them)', {
    timeout: 60_000,
  }, () => {
    // Every 4 bytes of the private value read as a Pixel Data tag: the reader that re-parsed the prefix at
    // each candidate did 786,432 parses of up to 3 MiB each here (it never finished).
    const lookAlikes = Buffer.alloc(3 << 20);
    for (let i = 0; i < lookAlikes.length; i += 4) lookAlikes.set([0xe0, 0x7f, 0x10, 0x00], i);
    const dcm = makeDicom({ rows: 1024, columns: 1024, privateBytes: lookAlikes });
    assert.ok(dcm.length > MAX_DICOM_HEADER, 'larger than the header cap: parsed from its prefix');
    const r = new DicomHeaderReader();
    for (let i = 0; i < dcm.length && !r.done; i += 65_536) r.push(dcm.subarray(i, i + 65_536));
    const d = r.end();
    assert.equal(r.parses, 1);
    assert.deepEqual([d.rows, d.columns, d.pixelDataLength], [1024, 1024, 1024 * 1024 * 2]);
    assert.equal(d.pixelDataOffset, dcm.length - 1024 * 1024 * 2);
  });

  test('a file shorter than the header cap is parsed once, at its end', () => {
    const r = new DicomHeaderReader();
    const dcm = makeDicom();
    for (let i = 0; i < dcm.length; i += 7) r.push(dcm.subarray(i, i + 7));
    assert.equal(r.end().rows, 32);
    assert.equal(r.parses, 1);
  });

  test('rejects a DICOM file whose header is cut short', () => {
    const r = new DicomHeaderReader();
    r.push(makeDicom().subarray(0, 200));
    assert.throws(() => r.end(), UploadRejection);
  });
});

describe('StorageObjectSchema', () => {
  test('accepts the object resource of a finalized event, numbers given as strings', () => {
    const o = StorageObjectSchema.parse({
      bucket: 'b-1',
      name: 'x.csv',
      generation: '17',
      size: '42',
      extra: 1,
    });
    assert.deepEqual(o, { bucket: 'b-1', name: 'x.csv', generation: '17', size: 42 });
  });
  for (const data of [
    {},
    { bucket: 'b-1', name: '', generation: '1', size: '1' },
    { bucket: 'b-1', name: 'x', generation: '-1', size: '1' },
  ]) {
    test(`refuses ${JSON.stringify(data)}`, () => {
      assert.equal(StorageObjectSchema.safeParse(data).success, false);
    });
  }
});

describe('UploadsConfigSchema', () => {
  test('defaults: the local uploads bucket, DuckDB, a 600 s lease, 20 attempts, throttled writes', () => {
    const c = loadConfig(UploadsConfigSchema, {});
    assert.deepEqual(
      [c.uploadsBucket, c.cohorts.store, c.leaseMs, c.maxAttempts, c.throttle],
      ['nih-cxr-uploads', 'duckdb', 600_000, 20, true],
    );
    assert.throws(() => loadConfig(UploadsConfigSchema, { UPLOAD_MAX_ATTEMPTS: '0' }), /UPLOAD_MAX_ATTEMPTS/);
  });
  test('the emulator turns throttling off; BigQuery needs its dataset', () => {
    assert.equal(loadConfig(UploadsConfigSchema, { FIRESTORE_EMULATOR_HOST: '127.0.0.1:1' }).throttle, false);
    assert.throws(() => loadConfig(UploadsConfigSchema, { COHORT_STORE: 'bigquery' }), /BQ_DATASET/);
  });
});

describe('bad input or a temporary fault', () => {
  const coded = (code: unknown, message = 'x') => Object.assign(new Error(message), { code });
  const transient: [string, unknown][] = [
    ['a connection reset', coded('ECONNRESET')],
    ['a premature close of the download', coded('ERR_STREAM_PREMATURE_CLOSE')],
    ['HTTP 503', coded(503)],
    ['HTTP 429', coded(429)],
    ['HTTP 408', coded(408)],
    ['gRPC UNAVAILABLE', coded(14)],
    ['gRPC DEADLINE_EXCEEDED', coded(4)],
    ['gRPC RESOURCE_EXHAUSTED', coded(8)],
    ['gRPC ABORTED', coded(10)],
    ['Firestore past its deadline', new LabelStoreUnavailableError('slow')],
    ['a lease held by another attempt', new UploadBusyError('busy')],
    ['a transient cause under a wrapper', new Error('wrapped', { cause: coded(14) })],
  ];
  for (const [what, err] of transient) {
    test(`retried: ${what}`, () => {
      assert.equal(isTransient(err), true);
      assert.equal(contentFault(err), err, 'passed through, not made a rejection');
    });
  }
  const input: [string, unknown, RegExp][] = [
    [
      'a RangeError from the content',
      new RangeError('Maximum call stack size exceeded'),
      /RangeError: Maximum call/,
    ],
    ['a parser error', new FileFormatError('truncated gzip'), /^truncated gzip$/],
    ['gRPC INVALID_ARGUMENT', coded(3, 'too big'), /too big/],
    ['HTTP 400', coded(400, 'bad'), /bad/],
    ['a TypeError', new TypeError('x is undefined'), /TypeError: x is undefined/],
    ['a thrown string', 'boom', /boom/],
  ];
  for (const [what, err, reason] of input) {
    test(`input, never retried: ${what}`, () => {
      assert.equal(isTransient(err), false);
      const r = contentFault(err);
      assert.ok(r instanceof UploadRejection);
      assert.match(r.message, reason);
    });
  }
  test('a vanished object (404) is neither: it passes through to be acknowledged as gone', () => {
    const gone = coded(404);
    assert.equal(isTransient(gone), false);
    assert.equal(contentFault(gone), gone);
  });
});

describe('derived object names', () => {
  const cases: [string, string][] = [
    ['ascii', 'x'.repeat(2000)],
    ['two-byte', '\u00e9'.repeat(600)],
    ['three-byte', '\u6587'.repeat(400)],
    ['astral (surrogate pairs)', '\ud83d\ude00'.repeat(300)],
    ['control characters', 'a\tb\u0000c\u007fd.csv'],
    ['a lone surrogate', 'a\ud800b.csv'],
  ];
  for (const [what, name] of cases) {
    test(`${what}: at most 1,024 bytes of well-formed UTF-8, no control character, ending in the hash`, () => {
      const r = reportName(name);
      assert.ok(Buffer.byteLength(r, 'utf8') <= MAX_OBJECT_NAME_BYTES, `${Buffer.byteLength(r)} bytes`);
      assert.ok(r.isWellFormed());
      const control = [...r].filter(
        (c) => c.codePointAt(0)! <= 0x1f || (c.codePointAt(0)! >= 0x7f && c.codePointAt(0)! <= 0x9f),
      );
      assert.deepEqual(control, []);
      assert.match(r, /^reports\/.*~[0-9a-f]{16}\.json$/);
    });
  }
  test('a short ordinary name is kept as it is', () => {
    assert.equal(reportName('incoming/boxes.csv'), 'reports/incoming/boxes.csv.json');
    assert.equal(derivedName('quarantine/', 'a/b.png'), 'quarantine/a/b.png');
  });
  test('two long names that share their first kilobyte get different derived names', () => {
    const a = `${'p'.repeat(1100)}a`;
    const b = `${'p'.repeat(1100)}b`;
    assert.notEqual(reportName(a), reportName(b));
  });
  test('the longest name that still fits is kept; one byte more is derived', () => {
    const fits = 'f'.repeat(MAX_OBJECT_NAME_BYTES - 'reports/'.length - '.json'.length);
    assert.equal(reportName(fits), `reports/${fits}.json`);
    assert.match(reportName(`${fits}f`), /~[0-9a-f]{16}\.json$/);
  });
});
