/**
 * Signed URLs: time for 1,000 V4 URLs with the RSA key path and the HMAC path, each against
 * `@google-cloud/storage` getSignedUrl with the same key in the same run, and the RSA path against this
 * machine's one-core RSA-2048 signing rate (`openssl speed`). The machine is shared, so the contenders run
 * interleaved, round by round, and the ratios are medians of per-round ratios.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { Storage } from '@google-cloud/storage';
import { DATASET_BUCKET, objectName } from '../shared/model/gcs.ts';
import { type ImageId, parseImageId } from '../shared/model/ids.ts';
import { createHmacSigner } from '../shared/signing/hmac-signer.ts';
import { createKeySigner } from '../shared/signing/key-signer.ts';

const N = 1000;
const ROUNDS = 5;
const EMAIL = 'bench@my-billing-1.iam.gserviceaccount.com';
const BILLING = 'my-billing-1';

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One-core RSA-2048 signatures per second from `openssl speed`, or undefined when openssl is missing. */
function opensslRsa2048SignsPerSecond(): number | undefined {
  try {
    const out = execFileSync('openssl', ['speed', '-seconds', '2', 'rsa2048'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const m = /rsa\s+2048\s+bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
const rate = (x: number) => `${String(Math.round((N * 1000) / x)).padStart(6)} URLs/s`;

/** The ways to sign N URLs that are compared, each a function that signs them all once. */
function contenders(): Record<string, () => Promise<unknown>> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const ids: ImageId[] = Array.from(
    { length: N },
    (_, i) => parseImageId(`${String(i + 1).padStart(8, '0')}_000`)!,
  );
  const names = ids.map((id) => objectName(id, 'png'));

  delete process.env.STORAGE_EMULATOR_HOST;
  const bucket = new Storage({ credentials: { client_email: EMAIL, private_key: pem } }).bucket(
    DATASET_BUCKET,
  );
  const opts = () => ({
    version: 'v4' as const,
    action: 'read' as const,
    expires: Date.now() + 3600_000,
    queryParams: { userProject: BILLING },
  });
  const key = { client_email: EMAIL, private_key: pem };
  const rsa = createKeySigner({ key, billingProject: BILLING });
  const rsa1 = createKeySigner({ key, billingProject: BILLING, parallelism: 1 });
  const hmac = createHmacSigner({ accessId: 'GOOG1EBENCH', secret: 'bench-secret', billingProject: BILLING });
  const keyObject = createPrivateKey(pem);
  const blobs = ids.map((id) => Buffer.from(`GOOG4-RSA-SHA256\n20250101T000000Z\nscope\n${id}`));
  return {
    // The faster of the two ways to call the library counts, so the baseline is not handicapped.
    libSequential: async () => {
      for (const n of names) await bucket.file(n).getSignedUrl(opts());
    },
    libParallel: () => Promise.all(names.map((n) => bucket.file(n).getSignedUrl(opts()))),
    rsa: () => rsa.signMany(ids, 'png', 3600),
    rsa1: () => rsa1.signMany(ids, 'png', 3600),
    hmac: () => hmac.signMany(ids, 'png', 3600),
    // In-process floor: the bare RSA signatures, no URL work, one thread.
    bare: async () => {
      for (const b of blobs) sign('sha256', b, keyObject);
    },
  };
}

/** Prints the medians and ratios, and the comparison with openssl's one-core RSA rate. */
function report(
  m: Record<string, number>,
  ratio: Record<'rsa' | 'rsa1' | 'hmac', number[]>,
  openssl: { before: number | undefined; after: number | undefined },
): void {
  const lib = Math.min(m.libSequential!, m.libParallel!);
  console.log(
    `${N} V4 URLs; medians of ${ROUNDS} interleaved rounds; ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)} (shared machine)`,
  );
  console.log(
    `getSignedUrl, same key:  ${ms(lib)} ${rate(lib)}  (sequential ${m.libSequential!.toFixed(0)} ms, Promise.all ${m.libParallel!.toFixed(0)} ms)`,
  );
  console.log(
    `RSA key path:            ${ms(m.rsa!)} ${rate(m.rsa!)}  ${median(ratio.rsa).toFixed(2)}x getSignedUrl (target >= 1.5x)`,
  );
  console.log(
    `RSA path, 1 in flight:   ${ms(m.rsa1!)} ${rate(m.rsa1!)}  ${median(ratio.rsa1).toFixed(2)}x getSignedUrl`,
  );
  console.log(
    `HMAC path:               ${ms(m.hmac!)} ${rate(m.hmac!)}  ${median(ratio.hmac).toFixed(0)}x getSignedUrl (target >= 50x)`,
  );
  console.log(`bare crypto.sign:        ${ms(m.bare!)} ${rate(m.bare!)}  (RSA-2048 alone, one thread)`);
  const best = Math.max(openssl.before ?? 0, openssl.after ?? 0);
  if (best > 0) {
    const pct = (x: number) => `${(((N * 1000) / x / best) * 100).toFixed(0)}%`;
    console.log(
      `openssl speed rsa2048:   ${best.toFixed(0)} sign/s on one core (best of before/after: ${openssl.before?.toFixed(0)}, ${openssl.after?.toFixed(0)}); ` +
        `RSA path = ${pct(m.rsa1!)} of it with 1 signature in flight, ${pct(m.rsa!)} with the thread pool; bare crypto.sign = ${pct(m.bare!)}`,
    );
  } else {
    console.log('openssl speed rsa2048:   openssl not found; one-core comparison skipped');
  }
}

export default async function bench(): Promise<void> {
  const all = contenders();
  for (const fn of Object.values(all)) await fn(); // warm-up
  const t: Record<string, number[]> = Object.fromEntries(Object.keys(all).map((k) => [k, []]));
  const ratio = { rsa: [] as number[], rsa1: [] as number[], hmac: [] as number[] };
  const before = opensslRsa2048SignsPerSecond();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of Object.entries(all)) t[name]!.push(await time(fn));
    const lib = Math.min(t.libSequential!.at(-1)!, t.libParallel!.at(-1)!);
    ratio.rsa.push(lib / t.rsa!.at(-1)!);
    ratio.rsa1.push(lib / t.rsa1!.at(-1)!);
    ratio.hmac.push(lib / t.hmac!.at(-1)!);
  }
  const after = opensslRsa2048SignsPerSecond();
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<string, number>;
  report(m, ratio, { before, after });
}
