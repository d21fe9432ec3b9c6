/**
 * The streamer's one public media port: a UDP socket and a TCP listener bound to the same number.
 * It owns the sockets and nothing else; packets and connections go to the sink.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../common/logger.ts';

export interface IngestSink {
  onUdpPacket(packet: Buffer, rinfo: dgram.RemoteInfo): void;
  onTcpConnection(socket: net.Socket): void;
}

export interface RtpPortOptions {
  host: string;
  /** 0 picks a port that is free for both UDP and TCP. */
  port: number;
  recvBufferBytes: number;
  logger: Logger;
}

export class RtpPort {
  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  #port = 0;
  /** SO_RCVBUF the kernel actually granted (it may cap the request). */
  recvBufferBytes = 0;

  private constructor(udp: dgram.Socket, tcp: net.Server) {
    this.#udp = udp;
    this.#tcp = tcp;
  }

  get port(): number {
    return this.#port;
  }

  static async open(options: RtpPortOptions, sink: IngestSink): Promise<RtpPort> {
    const attempts = options.port === 0 ? 20 : 1;
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        return await RtpPort.#tryOpen(options, sink);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  static async #tryOpen(options: RtpPortOptions, sink: IngestSink): Promise<RtpPort> {
    const tcp = net.createServer({ noDelay: true }, (socket) => sink.onTcpConnection(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: options.host, port: options.port, backlog: 1024 }, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket({ type: 'udp4', recvBufferSize: options.recvBufferBytes });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, options.host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      await new Promise((r) => tcp.close(r));
      throw err;
    }
    const rtp = new RtpPort(udp, tcp);
    rtp.#port = port;
    try {
      rtp.recvBufferBytes = udp.getRecvBufferSize();
    } catch {
      rtp.recvBufferBytes = 0;
    }
    if (rtp.recvBufferBytes < options.recvBufferBytes / 2) {
      options.logger.warn(
        { asked: options.recvBufferBytes, granted: rtp.recvBufferBytes },
        'UDP receive buffer smaller than asked: raise net.core.rmem_max to avoid drops under load',
      );
    }
    udp.on('message', (msg, rinfo) => sink.onUdpPacket(msg, rinfo));
    udp.on('error', (err) => options.logger.error({ err }, 'UDP socket error'));
    tcp.on('error', (err) => options.logger.error({ err }, 'TCP listener error'));
    return rtp;
  }

  /** Stops accepting TCP connections (existing ones stay) and closes UDP. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      try {
        this.#udp.close(() => resolve());
      } catch {
        resolve();
      }
    });
    await new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
  }
}
