/**
 * A TCP forwarder in front of the Firestore emulator that can go down and come back: while down, every open
 * connection is reset and every new one is reset on arrival, which is what a client sees when the emulator
 * process is killed; the emulator's data survives, as a real Firestore's would. The port stays bound
 * throughout, so no other process can take it in between.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpCut {
  /** `127.0.0.1:PORT` to give the client instead of the emulator's address. */
  host: string;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startTcpCut(target: string): Promise<TcpCut> {
  const [targetHost, targetPort] = [target.split(':')[0]!, Number(target.split(':')[1])];
  const sockets = new Set<Socket>();
  let isDown = false;
  const server = createServer((client) => {
    client.on('error', () => {});
    if (isDown) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    host: `127.0.0.1:${port}`,
    down() {
      isDown = true;
      resetAll();
    },
    up() {
      isDown = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        resetAll();
        server.close(() => resolve());
      }),
  };
}
