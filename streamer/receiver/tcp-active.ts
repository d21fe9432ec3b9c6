/**
 * GB "TCP active": the streamer dials the camera at the address and port of its SDP answer.
 * Cameras often open their listening port a moment after answering the INVITE, so connection
 * attempts repeat until one succeeds, the receiver closes, or the deadline passes.
 */
import net from 'node:net';
import type { Logger } from '../../common/logger.ts';
import type { PeerAddress } from '../../common/contracts.ts';

export interface TcpDialOptions {
  peer: Required<PeerAddress>;
  deadlineMs: number;
  retryDelayMs?: number;
  logger: Logger;
  /** Stop trying (the receiver went away). */
  cancelled(): boolean;
}

/** Resolves with a connected socket, or undefined when the deadline passed or it was cancelled. */
export async function dialCamera(options: TcpDialOptions): Promise<net.Socket | undefined> {
  const deadline = Date.now() + options.deadlineMs;
  const retry = options.retryDelayMs ?? 500;
  let attempts = 0;
  while (!options.cancelled() && Date.now() < deadline) {
    attempts++;
    const socket = await new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect({ host: options.peer.ip, port: options.peer.port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        resolve(undefined);
      }, Math.max(100, Math.min(3000, deadline - Date.now())));
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', () => {
        clearTimeout(timer);
        s.destroy();
        resolve(undefined);
      });
    });
    if (socket) {
      if (options.cancelled()) {
        socket.destroy();
        return undefined;
      }
      options.logger.info({ peer: options.peer, attempts }, 'connected to camera (tcp-active)');
      return socket;
    }
    await new Promise((r) => setTimeout(r, retry));
  }
  return undefined;
}
