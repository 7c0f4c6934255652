/**
 * Compression bombs and the memory they cost a server in this process: bodies built by streaming generated
 * zeros through zlib (the inflated bytes never exist here at once), posted as raw bytes with exactly the
 * headers given, while this process's RSS and live heap (+ Buffer memory) are sampled.
 */
import { request as httpRequest, type Server } from 'node:http';
import { Readable, type Transform } from 'node:stream';
import { constants, createBrotliCompress, createDeflate, createGzip, createZstdCompress } from 'node:zlib';

export const ENCODINGS = ['gzip', 'deflate', 'br', 'zstd'] as const;
export type Encoding = (typeof ENCODINGS)[number];

const MiB = 1024 * 1024;

function* zeros(mib: number): Generator<Buffer> {
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < mib; i++) yield chunk;
}

function compressor(encoding: Encoding): Transform {
  switch (encoding) {
    case 'gzip':
      return createGzip({ level: 9 });
    case 'deflate':
      return createDeflate({ level: 9 });
    case 'br':
      return createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
    case 'zstd':
      return createZstdCompress();
  }
}

/** `mib` MiB of zeros, compressed with `encoding` as it streams: what goes on the wire. */
export async function bomb(encoding: Encoding, mib: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of Readable.from(zeros(mib)).pipe(compressor(encoding))) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Sends `body` as is with these headers and its Content-Length (no client-side serialisation or encoding). */
export function postBytes(
  server: Server,
  o: { method?: string; path: string; headers: Record<string, string>; body: Buffer },
): Promise<Answer> {
  const { port } = server.address() as { port: number };
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: o.path,
        method: o.method ?? 'POST',
        // Node's client sends a GET body without a length (its bytes would read as a second request).
        headers: { 'content-length': String(o.body.length), ...o.headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

export interface Growth<T> {
  result: T;
  /** Peak RSS over the start, in MiB. */
  rssMiB: number;
  /** Peak live JS heap plus Buffer (ArrayBuffer) memory over the start, in MiB. */
  heapMiB: number;
  ms: number;
}

/** Runs `work` while sampling this process's memory every 2 ms; the server under test is in-process. */
export async function measured<T>(work: () => Promise<T>): Promise<Growth<T>> {
  const live = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const rss0 = process.memoryUsage.rss();
  const heap0 = live();
  let rss = rss0;
  let heap = heap0;
  const sample = () => {
    rss = Math.max(rss, process.memoryUsage.rss());
    heap = Math.max(heap, live());
  };
  const sampler = setInterval(sample, 2);
  const t0 = performance.now();
  try {
    const result = await work();
    sample();
    return { result, rssMiB: (rss - rss0) / MiB, heapMiB: (heap - heap0) / MiB, ms: performance.now() - t0 };
  } finally {
    clearInterval(sampler);
  }
}
