/**
 * Child process of `npm run bench -- export`: the IAM Credentials signBlob stand-in
 * (test/harness/google-stand-ins.ts) in a process of its own, so its RSA signing (Google's CPU in the cloud)
 * does not share the export's event loop. argv: e-mail, access token, path of a PKCS#8 PEM key, delay in ms.
 * Prints `{"endpoint": ...}` once it listens; on SIGTERM prints its stats and exits.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startSignBlobServer } from '../test/harness/google-stand-ins.ts';

const [email, accessToken, keyFile, delay] = process.argv.slice(2);
const server = await startSignBlobServer({
  email: email!,
  accessToken: accessToken!,
  privateKey: createPrivateKey(readFileSync(keyFile!, 'utf8')),
  delayMs: Number(delay ?? 0),
});
process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint })}\n`);
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ stats: server.stats })}\n`);
  void server.stop().then(() => process.exit(0));
});
