/**
 * Signed URLs: time for 1,000 V4 URLs with the RSA key path and the HMAC path, each against
 * `@google-cloud/storage` getSignedUrl with the same key in the same run, and the RSA path against this
 * machine's one-core RSA-2048 signing rate (`openssl speed`).
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Storage } from '@google-cloud/storage';
import { DATASET_BUCKET, objectName } from '../shared/model/gcs.ts';
import { type ImageId, parseImageId } from '../shared/model/ids.ts';
import { createHmacSigner } from '../shared/signing/hmac-signer.ts';
import { createKeySigner } from '../shared/signing/key-signer.ts';

const N = 1000;
const RUNS = 3;
const EMAIL = 'bench@my-billing-1.iam.gserviceaccount.com';
const BILLING = 'my-billing-1';

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

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

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const perSec = (ms: number) => `${Math.round((N * 1000) / ms)} URLs/s`;

export default async function bench(): Promise<void> {
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
  const libOpts = () => ({
    version: 'v4' as const,
    action: 'read' as const,
    expires: Date.now() + 3600_000,
    queryParams: { userProject: BILLING },
  });
  const libSequential = await median(async () => {
    for (const n of names) await bucket.file(n).getSignedUrl(libOpts());
  });
  const libParallel = await median(() =>
    Promise.all(names.map((n) => bucket.file(n).getSignedUrl(libOpts()))),
  );
  const lib = Math.min(libSequential, libParallel);

  const key = { client_email: EMAIL, private_key: pem };
  const rsa = createKeySigner({ key, billingProject: BILLING });
  const rsaOneCore = createKeySigner({ key, billingProject: BILLING, parallelism: 1 });
  const hmac = createHmacSigner({ accessId: 'GOOG1EBENCH', secret: 'bench-secret', billingProject: BILLING });
  const tRsa = await median(() => rsa.signMany(ids, 'png', 3600));
  const tRsa1 = await median(() => rsaOneCore.signMany(ids, 'png', 3600));
  const tHmac = await median(() => hmac.signMany(ids, 'png', 3600));
  // In-process floor: the bare RSA signatures, no URL work, one thread.
  const keyObject = createPrivateKey(pem);
  const blobs = ids.map((id) => Buffer.from(`GOOG4-RSA-SHA256\n20250101T000000Z\nscope\n${id}`));
  const tBare = await median(async () => {
    for (const b of blobs) sign('sha256', b, keyObject);
  });
  const openssl = opensslRsa2048SignsPerSecond();

  console.log(
    `${N} V4 URLs, median of ${RUNS} runs; ${availableParallelism()} cores (shared with other work)`,
  );
  console.log(
    `getSignedUrl (same key): ${fmt(lib)} (sequential ${fmt(libSequential)}, Promise.all ${fmt(libParallel)})`,
  );
  console.log(
    `RSA key path:            ${fmt(tRsa)}  ${perSec(tRsa)}  ${(lib / tRsa).toFixed(2)}x faster than getSignedUrl (target >= 1.5x)`,
  );
  console.log(
    `RSA key path, 1 thread:  ${fmt(tRsa1)}  ${perSec(tRsa1)}  ${(lib / tRsa1).toFixed(2)}x faster than getSignedUrl`,
  );
  console.log(
    `HMAC path:               ${fmt(tHmac)}  ${perSec(tHmac)}  ${(lib / tHmac).toFixed(1)}x faster than getSignedUrl (target >= 50x)`,
  );
  console.log(
    `bare crypto.sign:        ${fmt(tBare)}  ${perSec(tBare)}  (RSA-2048 alone, one thread, same process)`,
  );
  if (openssl) {
    const one = (N * 1000) / tRsa1 / openssl;
    const all = (N * 1000) / tRsa / openssl;
    console.log(
      `openssl speed rsa2048:   ${openssl.toFixed(1)} sign/s on one core; RSA path reaches ${(one * 100).toFixed(0)}% of it on one thread, ${(all * 100).toFixed(0)}% with the thread pool`,
    );
  } else {
    console.log('openssl speed rsa2048:   openssl not found; one-core comparison skipped');
  }
}
