import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../shared/config.ts';
import { LabelsConfigSchema } from '../../shared/labels/config.ts';
import { CorruptDocumentError, canonicalRecord, fromImageDoc, toImageDoc } from '../../shared/labels/doc.ts';
import { FIRESTORE_INDEXES } from '../../shared/labels/indexes.ts';
import { applyRecordPatches } from '../../shared/labels/patch.ts';
import { progressReporter } from '../../shared/labels/progress.ts';
import type { ImageRecord } from '../../shared/model/index.ts';
import { fixtureRecords } from './fixtures.ts';

const full = fixtureRecords().find((r) => r.imageId === '00000013_008')!;

/** The same content with every object's keys and the reader rows in reverse order. */
function shuffled(r: ImageRecord): ImageRecord {
  const rev = (o: object): object =>
    Array.isArray(o)
      ? o.map((x) => (x && typeof x === 'object' ? rev(x) : x))
      : Object.fromEntries(
          Object.entries(o)
            .reverse()
            .map(([k, v]) => [k, v && typeof v === 'object' ? rev(v) : v]),
        );
  const out = rev(r) as ImageRecord;
  out.expert.readers.reverse();
  return out;
}

describe('image document', () => {
  test('key order and reader order do not change the stored JSON or its hash', () => {
    const a = toImageDoc(full);
    const b = toImageDoc(shuffled(full));
    assert.equal(b.record, a.record);
    assert.equal(b.contentHash, a.contentHash);
    assert.match(a.contentHash, /^[A-Za-z0-9_-]{22}$/);
  });

  test('any change of content changes the hash', () => {
    const changed = structuredClone(full);
    changed.expert.readers[0]!.labels.fracture = 'HEDGE';
    assert.notEqual(toImageDoc(changed).contentHash, toImageDoc(full).contentHash);
  });

  test('stored record keeps keys in API order and readers sorted by study then reader id', () => {
    const rec = JSON.parse(toImageDoc(shuffled(full)).record) as ImageRecord;
    assert.deepEqual(Object.keys(rec), [
      'imageId',
      'patientId',
      'followUp',
      'patientAge',
      'patientSex',
      'viewPosition',
      'width',
      'height',
      'pixelSpacing',
      'split',
      'findings',
      'boundingBoxes',
      'expert',
      'files',
    ]);
    assert.deepEqual(
      rec.expert.readers.map((r) => `${r.study}/${r.readerId}`),
      ['fourFindings/4295232296', 'fourFindings/4295367682', 'allFindings/4343882583'],
    );
  });

  test('canonicalRecord drops fields the API does not define', () => {
    const extra = { ...full, loadId: 'x', expert: { ...full.expert, secret: 1 } } as unknown as ImageRecord;
    assert.deepEqual(canonicalRecord(extra), canonicalRecord(full));
  });

  test('query fields sit beside the record and are not part of it when read back', () => {
    const doc = toImageDoc(full);
    assert.equal(doc.patientId, 13);
    assert.equal(doc.followUp, 8);
    const back = fromImageDoc(full.imageId, { ...doc });
    assert.deepEqual(back.record, canonicalRecord(full));
    assert.equal(back.version, doc.contentHash);
    assert.equal('contentHash' in back.record, false);
  });

  test('a document of an unknown layout is reported, not served', () => {
    assert.throws(() => fromImageDoc('x', { record: 1, schemaVersion: 1 }), CorruptDocumentError);
    assert.throws(() => fromImageDoc('x', { record: '{}', schemaVersion: 2 }), CorruptDocumentError);
    assert.throws(() => fromImageDoc('x', undefined), CorruptDocumentError);
  });

  test('the patient query has its composite index', () => {
    assert.deepEqual(FIRESTORE_INDEXES, [
      {
        collection: 'images',
        queryScope: 'COLLECTION',
        fields: [
          { fieldPath: 'patientId', order: 'ASCENDING' },
          { fieldPath: 'followUp', order: 'ASCENDING' },
        ],
      },
    ]);
  });
});

describe('record patches', () => {
  const reader = full.expert.readers[0]!;

  test('reader rows are upserted by study and reader id, so a patch applied twice adds nothing', () => {
    const newer = { ...reader, labels: { ...reader.labels, fracture: 'YES' as const } };
    const once = applyRecordPatches(full, [{ imageId: full.imageId, readers: [newer] }]);
    const twice = applyRecordPatches(full, [
      { imageId: full.imageId, readers: [newer] },
      { imageId: full.imageId, readers: [newer] },
    ]);
    assert.ok(!('reason' in once) && !('reason' in twice));
    assert.equal(once.expert.readers.length, full.expert.readers.length);
    assert.deepEqual(toImageDoc(once), toImageDoc(twice));
    assert.equal(once.expert.readers.find((r) => r.readerId === reader.readerId)?.labels.fracture, 'YES');
  });

  test('a label set replaces, null removes, absent keeps; other fields stay', () => {
    const out = applyRecordPatches(full, [{ imageId: full.imageId, allFindings: null }]);
    assert.ok(!('reason' in out));
    assert.equal(out.expert.allFindings, null);
    assert.deepEqual(out.expert.fourFindings, full.expert.fourFindings);
    assert.deepEqual({ ...out, expert: null }, { ...full, expert: null });
  });

  test('labels for an image without a document are rejected unless metadata and split come along', () => {
    const rejected = applyRecordPatches(undefined, [{ imageId: full.imageId, readers: [reader] }]);
    assert.ok('reason' in rejected);
    const { split, boundingBoxes, expert, files, ...metadata } = full;
    const created = applyRecordPatches(undefined, [{ imageId: full.imageId, metadata, split }]);
    assert.ok(!('reason' in created));
    assert.deepEqual(created.files, files);
    assert.deepEqual(created.expert, { fourFindings: null, allFindings: null, readers: [] });
    assert.ok(boundingBoxes && expert);
  });

  test('a patch that would make the record invalid is rejected with the path', () => {
    const bad = applyRecordPatches(full, [
      { imageId: full.imageId, boundingBoxes: [{ finding: 'Mass', x: 1, y: 1, w: -1, h: 1 }] },
    ]);
    assert.ok('reason' in bad);
    assert.match(bad.reason, /boundingBoxes\.0\.w/);
  });

  test('metadata for another image is rejected', () => {
    const other = fixtureRecords()[0]!;
    const { split, boundingBoxes, expert, files, ...metadata } = other;
    const out = applyRecordPatches(full, [{ imageId: full.imageId, metadata }]);
    assert.ok('reason' in out);
    assert.ok(split && boundingBoxes && expert && files);
  });
});

describe('progress and configuration', () => {
  const p = { total: 200, written: 100, skipped: 0, failed: 0 };

  test('a terminal gets a redrawn bar, a pipe gets plain lines', () => {
    let tty = '';
    const bar = progressReporter(
      { isTTY: true, columns: 100, write: (s) => (tty += s) },
      { now: () => 1000 },
    );
    bar.update(p);
    assert.match(tty, /^\r\[#+\.+\] 100\/200 50\.0%/);
    let plain = '';
    const lines = progressReporter({ write: (s) => (plain += s) }, { now: () => 1000 });
    lines.update(p);
    lines.done({ ...p, written: 200 });
    assert.deepEqual(
      plain.split('\n').map((l) => l.split(' ')[0]),
      ['progress', 'done', ''],
    );
    assert.match(plain, /done 200\/200 100\.0% written=200/);
  });

  test('the emulator host implies a demo project; defaults are sane', () => {
    const c = loadConfig(LabelsConfigSchema, { FIRESTORE_EMULATOR_HOST: '127.0.0.1:1' });
    assert.deepEqual(c, {
      projectId: 'demo-nih-cxr',
      emulatorHost: '127.0.0.1:1',
      databaseId: undefined,
      collection: 'images',
      cacheMaxAgeSeconds: 3600,
      timeoutMs: 10_000,
      // The per-instance label cache: 128 MiB, 10 min (within the 1 h max-age), stamp checked every 10 s.
      cache: { maxBytes: 128 * 1024 * 1024, ttlSeconds: 600, checkEverySeconds: 10 },
    });
    assert.throws(
      () => loadConfig(LabelsConfigSchema, { LABELS_CACHE_MAX_AGE: '-1' }),
      /LABELS_CACHE_MAX_AGE/,
    );
  });
});
