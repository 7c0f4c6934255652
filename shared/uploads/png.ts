/**
 * A streaming PNG validator: signature, IHDR first (width, height, bit depth, colour type, methods), every
 * chunk's CRC-32, PLTE where colour type 3 needs it, consecutive IDATs, IEND last. Chunk data is hashed as it
 * passes and never buffered, so memory stays flat whatever the size. The first problem is thrown as an
 * UploadRejection with its byte offset. (The zlib stream inside IDAT is not inflated.)
 */
import { crc32 } from 'node:zlib';
import { UploadRejection } from './errors.ts';
import { PNG_SIGNATURE } from './sniff.ts';

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  interlace: boolean;
  chunks: number;
  idatBytes: number;
}

const COLOUR_DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
const KNOWN_CRITICAL = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND']);
const MAX_CHUNK = 0x7fffffff;

type State = 'signature' | 'header' | 'data' | 'crc' | 'end';

export class PngValidator {
  #state: State = 'signature';
  /** Absolute offset of the next byte to consume. */
  #pos = 0;
  /** Small fixed-size fields (signature, chunk header, CRC, IHDR data) collected across chunk boundaries. */
  #field = Buffer.alloc(13);
  #fieldLen = 0;
  #chunkStart = 0;
  #type = '';
  #remaining = 0;
  #crc = 0;
  #prevType = '';
  #sawPlte = false;
  #idatDone = false;
  #info: PngInfo = {
    width: 0,
    height: 0,
    bitDepth: 0,
    colourType: 0,
    interlace: false,
    chunks: 0,
    idatBytes: 0,
  };

  #fail(reason: string, offset: number): never {
    throw new UploadRejection(`invalid PNG: ${reason} (byte ${offset})`, offset);
  }

  /** Collects up to `n` bytes of a fixed field; returns how many bytes of `b` from `i` it took. */
  #collect(b: Buffer, i: number, n: number): number {
    const take = Math.min(n - this.#fieldLen, b.length - i);
    b.copy(this.#field, this.#fieldLen, i, i + take);
    this.#fieldLen += take;
    return take;
  }

  push(b: Buffer): void {
    let i = 0;
    while (i < b.length) {
      switch (this.#state) {
        case 'signature': {
          const took = this.#collect(b, i, 8);
          i += took;
          this.#pos += took;
          if (this.#fieldLen === 8) {
            if (!this.#field.subarray(0, 8).equals(PNG_SIGNATURE)) this.#fail('bad signature', 0);
            this.#fieldLen = 0;
            this.#state = 'header';
          }
          break;
        }
        case 'header': {
          if (this.#fieldLen === 0) this.#chunkStart = this.#pos;
          const took = this.#collect(b, i, 8);
          i += took;
          this.#pos += took;
          if (this.#fieldLen === 8) this.#startChunk();
          break;
        }
        case 'data': {
          if (this.#type === 'IHDR') {
            const took = this.#collect(b, i, 13);
            this.#crc = crc32(b.subarray(i, i + took), this.#crc);
            i += took;
            this.#pos += took;
            this.#remaining -= took;
          } else {
            const take = Math.min(this.#remaining, b.length - i);
            this.#crc = crc32(b.subarray(i, i + take), this.#crc);
            i += take;
            this.#pos += take;
            this.#remaining -= take;
          }
          if (this.#remaining === 0) this.#endData();
          break;
        }
        case 'crc': {
          const took = this.#collect(b, i, 4);
          i += took;
          this.#pos += took;
          if (this.#fieldLen === 4) this.#endChunk();
          break;
        }
        case 'end':
          this.#fail('data after IEND', this.#pos);
      }
    }
  }

  #startChunk(): void {
    const length = this.#field.readUInt32BE(0);
    const typeBytes = this.#field.subarray(4, 8);
    const type = typeBytes.toString('latin1');
    const at = this.#chunkStart;
    if (!/^[A-Za-z]{4}$/.test(type))
      this.#fail(`chunk type ${JSON.stringify(type)} is not 4 letters`, at + 4);
    if (length > MAX_CHUNK) this.#fail(`chunk ${type} length ${length} exceeds 2^31-1`, at);
    const first = this.#info.chunks === 0;
    if (first && type !== 'IHDR') this.#fail(`first chunk is ${type}, expected IHDR`, at);
    if (!first && type === 'IHDR') this.#fail('second IHDR chunk', at);
    if (type === 'IHDR' && length !== 13) this.#fail(`IHDR length is ${length}, expected 13`, at);
    if (type === 'IEND' && length !== 0) this.#fail(`IEND length is ${length}, expected 0`, at);
    if (type[0]! >= 'A' && type[0]! <= 'Z' && !KNOWN_CRITICAL.has(type)) {
      this.#fail(`unknown critical chunk ${type}`, at);
    }
    if (type === 'IDAT') {
      if (this.#idatDone) this.#fail('IDAT chunks are not consecutive', at);
      if (this.#info.colourType === 3 && !this.#sawPlte)
        this.#fail('colour type 3 needs PLTE before IDAT', at);
      this.#info.idatBytes += length;
    } else if (this.#prevType === 'IDAT') {
      this.#idatDone = true;
    }
    if (type === 'PLTE') {
      if (this.#info.idatBytes > 0) this.#fail('PLTE after IDAT', at);
      if (length === 0 || length % 3 !== 0 || length > 768)
        this.#fail(`PLTE length ${length} is invalid`, at);
      this.#sawPlte = true;
    }
    this.#type = type;
    this.#remaining = length;
    this.#crc = crc32(typeBytes);
    this.#fieldLen = 0;
    this.#info.chunks++;
    if (length === 0) this.#endData();
    else this.#state = 'data';
  }

  #endData(): void {
    if (this.#type === 'IHDR') this.#checkIhdr();
    this.#fieldLen = 0;
    this.#state = 'crc';
  }

  #checkIhdr(): void {
    const f = this.#field;
    const at = this.#chunkStart + 8;
    const width = f.readUInt32BE(0);
    const height = f.readUInt32BE(4);
    const [bitDepth, colourType, compression, filter, interlace] = [f[8]!, f[9]!, f[10]!, f[11]!, f[12]!];
    if (width === 0 || width > MAX_CHUNK) this.#fail(`IHDR width ${width} is out of range`, at);
    if (height === 0 || height > MAX_CHUNK) this.#fail(`IHDR height ${height} is out of range`, at + 4);
    const depths = COLOUR_DEPTHS[colourType];
    if (!depths) this.#fail(`IHDR colour type ${colourType} is invalid`, at + 9);
    if (!depths.includes(bitDepth)) {
      this.#fail(`IHDR bit depth ${bitDepth} is invalid for colour type ${colourType}`, at + 8);
    }
    if (compression !== 0) this.#fail(`IHDR compression method ${compression} is invalid`, at + 10);
    if (filter !== 0) this.#fail(`IHDR filter method ${filter} is invalid`, at + 11);
    if (interlace > 1) this.#fail(`IHDR interlace method ${interlace} is invalid`, at + 12);
    Object.assign(this.#info, { width, height, bitDepth, colourType, interlace: interlace === 1 });
  }

  #endChunk(): void {
    const stored = this.#field.readUInt32BE(0);
    const computed = this.#crc >>> 0;
    if (stored !== computed) {
      const hex = (n: number) => n.toString(16).padStart(8, '0');
      this.#fail(
        `chunk ${this.#type} CRC mismatch: stored ${hex(stored)}, computed ${hex(computed)}`,
        this.#pos - 4,
      );
    }
    this.#prevType = this.#type;
    this.#fieldLen = 0;
    this.#state = this.#type === 'IEND' ? 'end' : 'header';
  }

  /** Call at the end of the stream: the image's properties, or a rejection if it stopped early. */
  end(): PngInfo {
    if (this.#state !== 'end') {
      const where =
        this.#state === 'signature' || this.#info.chunks === 0
          ? 'before IHDR'
          : `in or after chunk ${this.#type}`;
      this.#fail(`truncated: the data ends ${where}, IEND missing`, this.#pos);
    }
    if (this.#info.idatBytes === 0) this.#fail('no IDAT chunk', this.#pos);
    return { ...this.#info };
  }
}

/** Validates a whole PNG stream; memory flat. */
export async function validatePng(content: AsyncIterable<Buffer>): Promise<PngInfo> {
  const v = new PngValidator();
  for await (const chunk of content) v.push(chunk);
  return v.end();
}
