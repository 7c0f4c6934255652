import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { primeUtf8Codec } from '../../shared/http/framework-iconv.ts';

// The framework's own body-parser, and the iconv-lite it reads bodies with (this file's process loads them fresh).
const framework = createRequire(createRequire(import.meta.url).resolve('@google-cloud/functions-framework'));
const bodyParser = framework.resolve('body-parser');
const fromParser = createRequire(bodyParser);
const iconv = fromParser('iconv-lite') as {
  encodings: unknown;
  encodingExists(e: string): boolean;
  decode(b: Buffer, e: string): string;
};
const tables = createRequire(fromParser.resolve('iconv-lite')).resolve('../encodings');
const tablesLoaded = () => fromParser.cache[tables] !== undefined;

test('UTF-8 bodies need no encoding tables once primed; other charsets still load them and decode', () => {
  assert.equal(iconv.encodings, null, 'nothing has loaded the tables yet');
  primeUtf8Codec(bodyParser);
  assert.equal(tablesLoaded(), false, 'priming loads no tables');
  for (const charset of ['utf-8', 'UTF-8', 'utf8']) assert.equal(iconv.encodingExists(charset), true);
  assert.equal(iconv.decode(Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9]), 'utf-8'), 'café');
  assert.equal(tablesLoaded(), false, 'reading UTF-8 loaded no tables');
  assert.equal(iconv.encodingExists('no-such-charset'), false);
  assert.equal(iconv.encodingExists('constructor'), false, 'no name of Object.prototype is a charset');
  assert.equal(iconv.decode(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'latin1'), 'café');
  assert.equal(iconv.decode(Buffer.from([0xff, 0xfe, 0x41, 0x00]), 'utf-16'), 'A');
  assert.equal(tablesLoaded(), true, 'another charset loaded the tables');
});
