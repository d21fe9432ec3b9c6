/**
 * Binding a TCP listener and a UDP socket to one port number, as both the SIP port and the media
 * port do: TCP first (port 0 picks a number), then UDP on the same number.
 */
import type dgram from 'node:dgram';
import type net from 'node:net';

/** Listens and resolves with the bound port. */
export function listenTcp(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Binds; on failure closes the socket and rejects (e.g. EADDRINUSE). */
export async function bindUdp(socket: dgram.Socket, host: string, port: number): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    socket.close();
    throw err;
  }
}

/**
 * Runs `open` once for a fixed port; for port 0 retries a few times, because the number TCP picked
 * may be taken for UDP.
 */
export async function openOnSamePort<T>(port: number, open: () => Promise<T>): Promise<T> {
  const attempts = port === 0 ? 20 : 1;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await open();
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}
