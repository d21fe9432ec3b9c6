/**
 * A TCP proxy on a free loopback port in front of a server, to cut one client off (a network
 * partition): `partition()` drops every connection and refuses new ones until `heal()`.
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Drops every open connection and refuses new ones. */
  partition(): void;
  heal(): void;
  stop(): Promise<void>;
}

/**
 * Joins `client` both ways to a new connection to `host`:`port`. Both sockets sit in `sockets` while
 * they are open (for whoever closes them all), and an error on either closes both.
 */
export function pipeTo(client: net.Socket, port: number, host: string, sockets: Set<net.Socket>): void {
  const upstream = net.connect(port, host);
  for (const s of [client, upstream]) {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    pipeTo(client, targetPort, targetHost, sockets);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    partition() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      cut = false;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
