/**
 * Generators of hostile uploads: label files of every common shape (headers of the real formats, rows
 * valid, mutated or nasty, blank lines, CRLF, a BOM, gzip whole or cut short), images (valid, truncated,
 * bad CRC), random bytes; and object names (plain, 1,024-byte, multibyte, control characters, nasty).
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { FINDINGS } from '../../shared/model/index.ts';
import { makeDicom, makePng, pngWithBadCrc } from '../uploads/fixtures.ts';
import { NASTY_STRINGS, nastyString } from './arbitraries.ts';

export const HEADERS = {
  boxes: 'Image Index,Finding Label,Bbox [x,y,w,h],,,',
  metadata:
    'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]',
  readers: 'Patient ID,Image ID,Reader ID,Fracture,Pneumothorax,Airspace opacity,Nodule/mass,Set ID',
} as const;

export interface Universe {
  /** Image ids in the dataset, and one metadata row of each. */
  ids: string[];
  metadataRows: string[];
}

const number = fc.oneof(
  fc.double({ noNaN: true, min: -1e6, max: 1e6 }).map(String),
  fc.integer({ min: 0, max: 4000 }).map(String),
  fc.constantFrom('', 'NaN', '-0', '1e309', '0x10', ' 12'),
);

function imageIdOf(u: Universe): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...u.ids) },
    { weight: 1, arbitrary: fc.constantFrom('99999999_000', '00000000_000') },
    { weight: 1, arbitrary: nastyString },
  );
}

function boxRow(u: Universe): fc.Arbitrary<string> {
  return fc
    .tuple(
      imageIdOf(u),
      fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FINDINGS) }, { weight: 1, arbitrary: nastyString }),
      number,
      number,
      number,
      number,
    )
    .map(([id, f, x, y, w, h]) => `${id}.png,${f},${x},${y},${w},${h}`);
}

/** A real metadata row, as is or with one field replaced. */
function metadataRow(u: Universe): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...u.metadataRows), fc.option(fc.tuple(fc.nat(11), fc.oneof(number, nastyString))))
    .map(([row, change]) => {
      if (!change) return row;
      const f = row.split(',');
      f[change[0] % f.length] = change[1];
      return f.join(',');
    });
}

function readerRow(u: Universe): fc.Arbitrary<string> {
  const yn = fc.constantFrom('YES', 'NO', '', 'maybe');
  return fc
    .tuple(
      imageIdOf(u),
      fc.constantFrom('4295367682', '7', '0', 'x'),
      yn,
      yn,
      yn,
      yn,
      fc.constantFrom('test', 'val'),
    )
    .map(
      ([id, reader, a, b, c, d, set]) =>
        `${Number(id.slice(0, 8)) || 1},${id}.png,${reader},${a},${b},${c},${d},${set}`,
    );
}

function lines(row: fc.Arbitrary<string>): fc.Arbitrary<string[]> {
  return fc.array(
    fc.oneof(
      { weight: 8, arbitrary: row },
      { weight: 1, arbitrary: fc.constantFrom('', '   ', ',,,,,', '"unclosed,quote') },
      { weight: 1, arbitrary: nastyString },
    ),
    { maxLength: 30 },
  );
}

function labelFile(u: Universe): fc.Arbitrary<string> {
  return fc
    .oneof(
      lines(boxRow(u)).map((l) => [HEADERS.boxes, ...l]),
      lines(metadataRow(u)).map((l) => [HEADERS.metadata, ...l]),
      lines(readerRow(u)).map((l) => [HEADERS.readers, ...l]),
      fc.array(imageIdOf(u), { maxLength: 20 }).map((ids) => ids.map((id) => `${id}.png`)),
      fc.array(nastyString, { maxLength: 5 }),
    )
    .chain((ls) =>
      fc
        .record({ crlf: fc.boolean(), bom: fc.boolean(), trailing: fc.boolean() })
        .map(
          ({ crlf, bom, trailing }) =>
            `${bom ? '\ufeff' : ''}${ls.join(crlf ? '\r\n' : '\n')}${trailing ? '\n' : ''}`,
        ),
    );
}

/** Bytes of an upload: mostly label files (plain or gzip, sometimes cut short), some images and noise. */
export function uploadBytes(u: Universe): fc.Arbitrary<Buffer> {
  const text = labelFile(u).map((s) => Buffer.from(s, 'utf8'));
  return fc.oneof(
    { weight: 6, arbitrary: text },
    { weight: 2, arbitrary: text.map((b) => gzipSync(b)) },
    {
      weight: 1,
      arbitrary: fc.tuple(text, fc.nat()).map(([b, n]) => {
        const z = gzipSync(b);
        return z.subarray(0, 2 + (n % Math.max(1, z.length - 2)));
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          () => makePng(),
          () => pngWithBadCrc().bytes,
          () => makeDicom(),
          () => makeDicom({ truncate: 100 }),
          () => gzipSync(makePng()),
          () => randomBytes(300),
          () => Buffer.alloc(0),
        )
        .map((f) => f()),
    },
  );
}

/** UTF-8 bytes of a name a Cloud Storage upload can have: 1 to 1,024, no CR or LF. */
function storable(name: string): boolean {
  const bytes = Buffer.byteLength(name, 'utf8');
  return bytes >= 1 && bytes <= 1024 && !/[\r\n]/.test(name) && name.isWellFormed();
}

/** Object names under `prefix`: plain, long up to the 1,024-byte limit (multibyte too), odd characters. */
export function objectName(prefix: string): fc.Arbitrary<string> {
  const room = 1024 - Buffer.byteLength(prefix);
  return fc
    .oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'a.csv',
          'labels.csv.gz',
          'x.png',
          'train_val_list.txt',
          'test_list_2.txt',
        ),
      },
      { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) },
      { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS).map((s) => `${s}.csv`) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom('n', '\u00e9', '\u6587', '\ud83d\ude00', '/', '\t'),
            fc.integer({ min: room - 8, max: room }),
          )
          .map(([c, bytes]) => c.repeat(Math.floor(bytes / Buffer.byteLength(c)))),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }) },
    )
    .map((s) => `${prefix}${s}`)
    .filter(storable);
}
