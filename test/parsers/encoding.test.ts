import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { splitCsv } from '../../shared/parsers/csv.ts';
import { detectKind, type FileKind, parseFile, parseStream } from '../../shared/parsers/index.ts';
import {
  ALL_HEADER,
  ALL_READERS_HEADER,
  BOX_HEADER,
  FOUR_HEADER,
  FOUR_READERS_HEADER,
  gz,
  METADATA_HEADER,
  streamOf,
  V2020_ROW,
} from './fixtures.ts';

describe('detectKind, from the header alone', () => {
  const cases: [string, FileKind | undefined][] = [
    [METADATA_HEADER, 'metadata_v2020'],
    [`${METADATA_HEADER},`, 'metadata_2017'],
    [`${METADATA_HEADER},\r`, 'metadata_2017'],
    [`\uFEFF${METADATA_HEADER}`, 'metadata_v2020'],
    [
      METADATA_HEADER.replace('OriginalImage[Width,Height]', '"OriginalImage[Width,Height]"'),
      'metadata_v2020',
    ],
    [BOX_HEADER, 'bounding_boxes'],
    [FOUR_HEADER, 'four_findings_labels'],
    [FOUR_READERS_HEADER, 'four_findings_readers'],
    [ALL_HEADER, 'all_findings_labels'],
    [ALL_READERS_HEADER, 'all_findings_readers'],
    ['00000001_000.png', 'image_list'],
    ['00000001_000', 'image_list'],
    ['Image Index', undefined],
    ['hello', undefined],
    ['', undefined],
  ];
  for (const [header, kind] of cases) {
    it(`${JSON.stringify(header.slice(0, 60))} -> ${kind}`, () => assert.equal(detectKind(header), kind));
  }
});

describe('line endings, BOM, gzip and chunk boundaries', () => {
  const rows = [V2020_ROW, V2020_ROW.replace('_000', '_001').replace(',0,1,', ',1,1,')];
  const variants: [string, string | Buffer][] = [
    ['LF', `${METADATA_HEADER}\n${rows.join('\n')}\n`],
    ['CRLF', `${METADATA_HEADER}\r\n${rows.join('\r\n')}\r\n`],
    ['no final newline', `${METADATA_HEADER}\n${rows.join('\n')}`],
    ['CRLF without final newline', `${METADATA_HEADER}\r\n${rows.join('\r\n')}`],
    ['UTF-8 BOM', `\uFEFF${METADATA_HEADER}\n${rows.join('\n')}\n`],
    ['gzip', gz(`${METADATA_HEADER}\r\n${rows.join('\r\n')}\r\n`)],
    ['gzip with a BOM', gz(`\uFEFF${METADATA_HEADER}\n${rows.join('\n')}`)],
    [
      'two gzip members (a concatenation)',
      Buffer.concat([gz(`${METADATA_HEADER}\n${rows[0]}\n`), gz(`${rows[1]}\n`)]),
    ],
  ];
  for (const [name, content] of variants) {
    for (const chunk of [1, 7, 65536]) {
      it(`${name}, in chunks of ${chunk} bytes`, async () => {
        const p = await parseFile(streamOf(content, chunk));
        assert.equal(p.kind, 'metadata_v2020');
        assert.deepEqual(p.rejected, []);
        assert.deepEqual(p.warnings, []);
        assert.equal(p.lines, 3);
        assert.deepEqual(
          p.rows.map((r) => (r.kind === 'metadata_v2020' ? r.metadata.imageId : '')),
          ['00000001_000', '00000001_001'],
        );
      });
    }
  }

  it('decodes multi-byte characters split across chunks', async () => {
    const p = await parseFile(
      streamOf(`${METADATA_HEADER}\n${V2020_ROW.replace('Cardiomegaly', 'Cardiomégaly')}\n`, 1),
    );
    assert.match(p.rejected[0]!.reason, /unknown finding "Cardiomégaly"/);
  });

  it('reads a path, plain or gzipped', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'nih-parse-'));
    await writeFile(join(dir, 'a.csv.gz'), gz(`${METADATA_HEADER}\n${V2020_ROW}\n`));
    const p = await parseFile(join(dir, 'a.csv.gz'));
    assert.equal(p.rows.length, 1);
  });
});

describe('streaming', () => {
  it('lets a consumer process rows incrementally and stop early, closing the source', async () => {
    const body = Array.from({ length: 50_000 }, (_, i) =>
      V2020_ROW.replace('_000', `_${String(i % 1000).padStart(3, '0')}`),
    );
    const source = streamOf(gz(`${METADATA_HEADER}\n${body.join('\n')}\n`), 4096);
    let seen = 0;
    for await (const e of parseStream(source)) {
      assert.ok(!('issue' in e));
      if (++seen === 10) break;
    }
    assert.equal(seen, 10);
    for (let i = 0; i < 100 && !source.destroyed; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(source.destroyed, 'the source stream is closed when the consumer stops');
  });

  it('returns the kind and the line count when done', async () => {
    const gen = parseStream(streamOf(`${METADATA_HEADER}\n${V2020_ROW}\n`));
    let r = await gen.next();
    assert.equal(r.done, false);
    r = await gen.next();
    assert.deepEqual(r, { done: true, value: { kind: 'metadata_v2020', lines: 2 } });
  });
});

describe('splitCsv', () => {
  const quote = (f: string) => (/[",]/.test(f) || f === '' ? `"${f.replaceAll('"', '""')}"` : f);
  it('round-trips any fields written with RFC 4180 quoting', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', ' ', 'é') }), { minLength: 1 }),
        (fields) => {
          assert.deepEqual(splitCsv(fields.map(quote).join(',')), fields);
        },
      ),
    );
  });
  it('splits an unquoted line on every comma', () => {
    assert.deepEqual(splitCsv('a,,b,'), ['a', '', 'b', '']);
  });
  for (const bad of ['"abc', '"a"b', 'a"b', '"a""']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(splitCsv(bad), undefined));
  }
});
