// A TCP relay on 127.0.0.1 in front of a real server: a test cuts it to make the server
// unreachable (without stopping it for other tests) or slows it down.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** refuse new connections and drop the open ones, as when the server goes away */
  cut(): Promise<void>;
  /** accept connections again, on the same port */
  restore(): Promise<void>;
  /** delay every chunk from the server by this many milliseconds */
  delayMs: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const proxy: TcpProxy = {
    port: 0,
    delayMs: 0,
    async cut() {
      const s = server;
      server = null;
      for (const sock of sockets) sock.destroy();
      sockets.clear();
      if (s) await new Promise<void>((r) => s.close(() => r()));
    },
    async restore() {
      await listen();
    },
    async close() {
      await proxy.cut();
    },
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect({ port: targetPort, host: '127.0.0.1' });
        sockets.add(client);
        sockets.add(upstream);
        client.on('data', (d) => upstream.write(d));
        upstream.on('data', (d) => {
          if (proxy.delayMs > 0) setTimeout(() => client.writable && client.write(d), proxy.delayMs);
          else client.write(d);
        });
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('close', end);
        upstream.on('close', () => setTimeout(end, proxy.delayMs));
        client.on('error', end);
        upstream.on('error', end);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        proxy.port = port;
        server = s;
        resolve();
      });
    });
  await listen();
  return proxy;
}
