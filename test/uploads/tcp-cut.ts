/**
 * A TCP forwarder in front of the Firestore emulator that can go down and come back: while down, every open
 * connection is reset and every new one is reset on arrival, which is what a client sees when the emulator
 * process is killed; the emulator's data survives, as a real Firestore's would. The port stays bound
 * throughout, so no other process can take it in between. It works below any protocol: gRPC or HTTP/1.1
 * REST clients alike.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpCut {
  /** `127.0.0.1:PORT` to give the client instead of the emulator's address. */
  host: string;
  down(): void;
  up(): void;
  /**
   * Goes down by itself once `bytes` more have been sent towards the emulator: a cut in the middle of a
   * load, however fast the load runs on this machine.
   */
  downAfterBytes(bytes: number): void;
  /** performance.now() when the cut last went down (by down() or by bytes), null if it never did. */
  downAt(): number | null;
  close(): Promise<void>;
}

export async function startTcpCut(target: string): Promise<TcpCut> {
  const [targetHost, targetPort] = [target.split(':')[0]!, Number(target.split(':')[1])];
  const sockets = new Set<Socket>();
  let isDown = false;
  let budget = Number.POSITIVE_INFINITY;
  let wentDown: number | null = null;
  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
  };
  const goDown = () => {
    isDown = true;
    wentDown = performance.now();
    resetAll();
  };
  const server = createServer((client) => {
    client.on('error', () => {});
    if (isDown) {
      client.resetAndDestroy();
      return;
    }
    // Registered before pipe(): the chunk that spends the budget is not forwarded.
    client.on('data', (chunk: Buffer) => {
      budget -= chunk.length;
      if (budget <= 0 && !isDown) {
        budget = Number.POSITIVE_INFINITY;
        goDown();
      }
    });
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
  return {
    host: `127.0.0.1:${port}`,
    down: goDown,
    up() {
      isDown = false;
    },
    downAfterBytes(bytes) {
      budget = bytes;
    },
    downAt: () => wentDown,
    close: () =>
      new Promise<void>((resolve) => {
        resetAll();
        server.close(() => resolve());
      }),
  };
}
