import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileFormatError, type ParsedFile, parseFile } from '../../shared/parsers/index.ts';
import {
  ALL_HEADER,
  ALL_READERS_HEADER,
  ALL_READERS_ROW,
  ALL_ROW,
  BOX_HEADER,
  BOX_ROW,
  FOUR_HEADER,
  FOUR_READERS_HEADER,
  FOUR_READERS_ROW,
  FOUR_ROW,
  gz,
  lines,
  METADATA_HEADER,
  streamOf,
  V2020_ROW,
  Y2017_ROW,
} from './fixtures.ts';

const parse = (content: string | Buffer, chunk?: number) => parseFile(streamOf(content, chunk));

async function fileError(content: string | Buffer, message: RegExp): Promise<void> {
  await assert.rejects(parse(content), (err: unknown) => {
    assert.ok(err instanceof FileFormatError, `expected a FileFormatError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

/** One bad row between two good ones: the bad one is rejected with its line and reason, the others pass. */
async function oneBadRow(header: string, good: string, bad: string, reason: RegExp): Promise<ParsedFile> {
  const p = await parse(lines([header, good, bad, good]));
  assert.equal(p.rows.length, 2, 'the good rows still come through');
  assert.deepEqual(
    p.rows.map((r) => r.line),
    [2, 4],
  );
  assert.equal(p.rejected.length, 1, JSON.stringify(p.rejected));
  assert.equal(p.rejected[0]!.line, 3);
  assert.match(p.rejected[0]!.reason, reason);
  return p;
}

describe('file-level errors', () => {
  it('an empty file', () => fileError('', /empty file/));
  it('a file of blank lines', () => fileError('\n\r\n  \n', /empty file/));
  it('an unknown header', () => fileError(lines(['Name,Age', 'x,1']), /unknown header: "Name,Age"/));
  it('random bytes', () => fileError(Buffer.from([0, 1, 2, 250, 13, 10, 7]), /unknown header/));
  it('a missing column', () =>
    fileError(
      lines([METADATA_HEADER.replace(',Patient Age', ''), V2020_ROW]),
      /lacks column\(s\) Patient Age/,
    ));
  it('an unexpected extra column', () =>
    fileError(lines([`${METADATA_HEADER},Comment`, `${V2020_ROW},x`]), /unexpected column "comment"/));
  it('a duplicated column', () =>
    fileError(lines([`${FOUR_READERS_HEADER},Fracture`]), /duplicate column "Fracture"/));
  it('a truncated gzip', async () => {
    const whole = gz(lines([METADATA_HEADER, ...Array.from({ length: 2000 }, () => V2020_ROW)]));
    await fileError(whole.subarray(0, Math.floor(whole.length / 2)), /truncated gzip/);
  });
  it('corrupt gzip data', async () => {
    const whole = gz(lines([METADATA_HEADER, V2020_ROW]));
    whole.fill(0xff, 10, 30);
    await fileError(whole, /invalid gzip data/);
  });
  it('an image list without a split', () => fileError(lines(['00000001_000.png']), /needs opts\.split/));
  it('a line without end', () =>
    fileError(`${METADATA_HEADER}\n${'x'.repeat(1.2 * 2 ** 20)}`, /longer than/));
});

describe('row rejections name the line and the reason', () => {
  const cases: [string, string, string, string, RegExp][] = [
    [
      'wrong column count',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace(',M,', ','),
      /expected 11 columns, found 10/,
    ],
    [
      'bad image id',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace('00000001_000', '0001_000'),
      /Image Index: bad image id "0001_000.png"/,
    ],
    [
      'bad patient id',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace(',0,1,', ',0,x1,'),
      /Patient ID: bad patient id "x1": must be a positive integer/,
    ],
    [
      'patient id not that of the image',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace(',0,1,', ',0,2,'),
      /patient id 2 does not match image id 00000001_000/,
    ],
    [
      'impossible age (v2020)',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace(',57,', ',412,'),
      /Patient Age: impossible age 412 \(over 120 years\)/,
    ],
    [
      'a 2017 age under the v2020 header',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace(',57,', ',058Y,'),
      /bad age "058Y": this file's header is not the 2017 one/,
    ],
    [
      'unknown finding name',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace('Cardiomegaly', 'Cardiomegaly|Pneumonitis'),
      /Finding Labels: unknown finding "Pneumonitis"/,
    ],
    [
      'No Finding with findings',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace('Cardiomegaly', 'No Finding|Mass'),
      /"No Finding" together with findings/,
    ],
    ['bad sex', METADATA_HEADER, V2020_ROW, V2020_ROW.replace(',M,', ',X,'), /Patient Gender: bad sex "X"/],
    [
      'bad pixel spacing',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace(/0\.14300000000000002$/, '-1'),
      /OriginalImagePixelSpacing\[x,y\] y: bad number "-1": must be positive/,
    ],
    [
      'malformed quoting',
      METADATA_HEADER,
      V2020_ROW,
      V2020_ROW.replace('Cardiomegaly', '"Cardiomegaly'),
      /malformed quoted field/,
    ],
    [
      'bad 2017 age',
      `${METADATA_HEADER},`,
      Y2017_ROW,
      Y2017_ROW.replace('058Y', '58 years'),
      /bad age "58 years": must look like 058Y, 011M or 001D/,
    ],
    [
      'unexpected adjudicated label value',
      FOUR_HEADER,
      FOUR_ROW,
      FOUR_ROW.replace('YES,NO,test', 'HEDGE,NO,test'),
      /Airspace opacity: unexpected label value "HEDGE": must be YES or NO/,
    ],
    [
      'unexpected set',
      FOUR_HEADER,
      FOUR_ROW,
      FOUR_ROW.replace(/test$/, 'train'),
      /Set Id: unexpected set "train"/,
    ],
    [
      'unexpected reader label value',
      FOUR_READERS_HEADER,
      FOUR_READERS_ROW,
      FOUR_READERS_ROW.replace('HEDGE', 'MAYBE'),
      /Nodule\/mass: unexpected label value "MAYBE"/,
    ],
    [
      'HEDGE for fracture',
      FOUR_READERS_HEADER,
      FOUR_READERS_ROW,
      FOUR_READERS_ROW.replace('4295367682,NO', '4295367682,HEDGE'),
      /Fracture: unexpected label value "HEDGE": must be YES or NO/,
    ],
    [
      'bad reader id',
      FOUR_READERS_HEADER,
      FOUR_READERS_ROW,
      FOUR_READERS_ROW.replace('4295367682', 'R12'),
      /Reader ID: bad reader id "R12"/,
    ],
    [
      'unexpected all-findings value',
      ALL_HEADER,
      ALL_ROW,
      ALL_ROW.replace('29560,YES', '29560,2'),
      /Abnormal: unexpected label value "2"/,
    ],
    [
      'HEDGE in the all-findings study',
      ALL_READERS_HEADER,
      ALL_READERS_ROW,
      ALL_READERS_ROW.replace(',YES,', ',HEDGE,'),
      /Pleural Thickening: unexpected label value "HEDGE"/,
    ],
    [
      'unknown box finding',
      BOX_HEADER,
      BOX_ROW,
      BOX_ROW.replace('Infiltrate', 'Fracture'),
      /Finding Label: unknown finding "Fracture"/,
    ],
    [
      'bad box number',
      BOX_HEADER,
      BOX_ROW,
      BOX_ROW.replace('86.7796610169491', '1e999'),
      /Bbox \[x,y,w,h\] w: bad number "1e999"/,
    ],
  ];
  for (const [name, header, good, bad, reason] of cases) {
    it(name, async () => {
      await oneBadRow(header, good, bad, reason);
    });
  }

  it('keeps a 2017 row with an impossible age, with no age and a warning', async () => {
    const p = await parse(
      lines([`${METADATA_HEADER},`, Y2017_ROW, Y2017_ROW.replace('058Y', '412Y')], '\r\n'),
    );
    assert.equal(p.rejected.length, 0);
    assert.equal(p.rows.length, 2);
    const row = p.rows[1]!;
    assert.ok(row.kind === 'metadata_2017');
    assert.equal(row.metadata.patientAge, null);
    assert.deepEqual(p.warnings, [
      { line: 3, reason: 'Patient Age: impossible age 412Y (over 120 years); kept the row with no age' },
    ]);
  });

  it('keeps a four-findings label row with an impossible copied age, with a warning', async () => {
    const p = await parse(lines([FOUR_HEADER, FOUR_ROW.replace(',60,', ',155,')]));
    assert.equal(p.rows.length, 1);
    assert.equal(p.rejected.length, 0);
    assert.match(p.warnings[0]!.reason, /impossible age 155/);
  });

  it('skips a four-findings row without adjudicated labels, with a warning', async () => {
    const p = await parse(lines([FOUR_HEADER, FOUR_ROW.replace('NO,NO,YES,NO,test', ',,,,test')]));
    assert.equal(p.rows.length, 0);
    assert.equal(p.rejected.length, 0);
    assert.match(p.warnings[0]!.reason, /not in the adjudicated set/);
  });

  it('warns about a blank line in the middle and keeps counting lines', async () => {
    const p = await parse(`${METADATA_HEADER}\n${V2020_ROW}\n\n${V2020_ROW.replace('_000', '_001')}\n`);
    assert.deepEqual(p.warnings, [{ line: 3, reason: 'blank line skipped' }]);
    assert.deepEqual(
      p.rows.map((r) => r.line),
      [2, 4],
    );
    assert.equal(p.lines, 4);
  });

  it('rejects every row of a file full of bad rows, and keeps going', async () => {
    const bad = Array.from({ length: 500 }, (_, i) => (i % 50 === 0 ? V2020_ROW : 'a,b'));
    const p = await parse(lines([METADATA_HEADER, ...bad]));
    assert.equal(p.rows.length, 10);
    assert.equal(p.rejected.length, 490);
    assert.equal(p.rows.length + p.rejected.length, p.lines - 1, 'no row dropped without saying so');
  });
});
