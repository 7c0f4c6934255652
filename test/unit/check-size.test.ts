/**
 * scripts/check-size.ts on a small project of its own: a function of 81 lines and a file of 301 lines are
 * reported (with the name the function goes by), 80 and 300 are not, and files under test/ are exempt.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkSizes } from '../../scripts/check-size.ts';

const dir = mkdtempSync(join(tmpdir(), 'check-size-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A function whose text spans exactly `lines` lines. */
const fn = (head: string, lines: number) =>
  `${head} {\n${Array.from({ length: lines - 2 }, (_, i) => `  void ${i};`).join('\n')}\n}\n`;
const write = (file: string, text: string) => {
  mkdirSync(join(dir, file, '..'), { recursive: true });
  writeFileSync(join(dir, file), text);
};

write(
  'tsconfig.json',
  JSON.stringify({ compilerOptions: { noEmit: true, strict: true }, include: ['src', 'test'] }),
);
write('src/long.ts', fn('export function tooLong(): void', 81) + fn('export function justRight(): void', 80));
write('src/arrow.ts', fn('export const handler = (): void =>', 81));
write('src/method.ts', `export class C ${fn('', 3).replace(/void 0;/, fn('m(): void', 81))}`);
write('src/big.ts', `${Array.from({ length: 301 }, (_, i) => `export const v${i} = ${i};`).join('\n')}\n`);
write('src/fits.ts', `${Array.from({ length: 300 }, (_, i) => `export const w${i} = ${i};`).join('\n')}\n`);
write('test/exempt.ts', fn('export function longTest(): void', 200));

describe('check-size', () => {
  it('reports functions over 80 lines and files over 300, by name, and nothing else', () => {
    const found = checkSizes(dir).map((o) => `${o.file}:${o.line} ${o.what} ${o.lines}`);
    assert.deepEqual(found, [
      'src/arrow.ts:1 function handler 81',
      'src/big.ts:1 file 301',
      'src/long.ts:1 function tooLong 81',
      'src/method.ts:2 function m 81',
    ]);
  });
});
