/**
 * A TCP forwarder in front of the Firestore emulator that can go down and come back on the same port: while
 * down, every open connection is reset and new ones are refused, which is what a client sees when the
 * emulator process is killed; the emulator's data survives, as a real Firestore's would.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpCut {
  /** `127.0.0.1:PORT` to give the client instead of the emulator's address. */
  host: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpCut(target: string): Promise<TcpCut> {
  const [targetHost, targetPort] = [target.split(':')[0]!, Number(target.split(':')[1])];
  const sockets = new Set<Socket>();
  const make = (): Server =>
    createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
  let server = make();
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  const port = await listen(0);
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.resetAndDestroy();
      server.close(() => resolve());
    });
  return {
    host: `127.0.0.1:${port}`,
    down: stop,
    async up() {
      server = make();
      await listen(port);
    },
    close: stop,
  };
}
