/**
 * The streamer's one public media port: a UDP socket and a TCP listener bound to the same number.
 * It owns the sockets and nothing else; datagrams and connections go to the sink.
 *
 * UDP is read by the native batch receiver (recvmmsg, one JavaScript call per batch) when it was
 * built, else by node:dgram; the sink sees the same calls either way.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../../common/logger.ts';
import { bindUdp, listenTcp, openOnSamePort } from '../../common/net/listen.ts';
import { parseIPv4, UdpBatchSocket, udpBatchAvailable } from './udp-batch-socket.ts';

export interface IngestSink {
  /**
   * One datagram, `buf[start, end)`, from IPv4 address `ip` (a 32-bit number, see formatIPv4) and
   * `port`. `buf` may hold other datagrams too; it is never reused, so views of it may be kept.
   */
  onUdpDatagram(buf: Buffer, start: number, end: number, ip: number, port: number): void;
  onTcpConnection(socket: net.Socket): void;
}

export type UdpReceiveMode = 'auto' | 'batch' | 'dgram';

export interface RtpPortOptions {
  host: string;
  /** 0 picks a port that is free for both UDP and TCP. */
  port: number;
  recvBufferBytes: number;
  /** auto: the native batch receiver when built, else node:dgram. */
  udpReceive?: UdpReceiveMode;
  /** Batch receiver only: how long to let datagrams gather after emptying the socket. */
  udpBatchPauseMs?: number;
  logger: Logger;
}

interface UdpEnd {
  close(): Promise<void>;
}

export class RtpPort {
  readonly #udp: UdpEnd;
  readonly #tcp: net.Server;
  #port = 0;
  /** SO_RCVBUF the kernel actually granted (it may cap the request). */
  recvBufferBytes = 0;
  /** How UDP is read: 'batch' (native recvmmsg) or 'dgram'. */
  udpReceiver: 'batch' | 'dgram' = 'dgram';

  private constructor(udp: UdpEnd, tcp: net.Server) {
    this.#udp = udp;
    this.#tcp = tcp;
  }

  get port(): number {
    return this.#port;
  }

  static open(options: RtpPortOptions, sink: IngestSink): Promise<RtpPort> {
    return openOnSamePort(options.port, () => RtpPort.#tryOpen(options, sink));
  }

  static async #tryOpen(options: RtpPortOptions, sink: IngestSink): Promise<RtpPort> {
    const tcp = net.createServer({ noDelay: true }, (socket) => sink.onTcpConnection(socket));
    const port = await listenTcp(tcp, options.host, options.port);
    const mode = options.udpReceive ?? 'auto';
    if (mode === 'batch' && !udpBatchAvailable()) {
      await new Promise((r) => tcp.close(r));
      throw new Error('--udp-receive batch: the native UDP receiver is not built (run npm run build with a C compiler)');
    }
    const useBatch = mode !== 'dgram' && udpBatchAvailable();
    let udp: UdpEnd;
    let granted: number;
    try {
      ({ udp, granted } = useBatch ? RtpPort.#openBatch(options, port, sink) : await RtpPort.#openDgram(options, port, sink));
    } catch (err) {
      await new Promise((r) => tcp.close(r));
      throw err;
    }
    const rtp = new RtpPort(udp, tcp);
    rtp.#port = port;
    rtp.udpReceiver = useBatch ? 'batch' : 'dgram';
    rtp.recvBufferBytes = granted;
    if (rtp.recvBufferBytes < options.recvBufferBytes / 2) {
      options.logger.warn(
        { asked: options.recvBufferBytes, granted: rtp.recvBufferBytes },
        'UDP receive buffer smaller than asked: raise net.core.rmem_max to avoid drops under load',
      );
    }
    tcp.on('error', (err) => options.logger.error({ err }, 'TCP listener error'));
    return rtp;
  }

  static #openBatch(options: RtpPortOptions, port: number, sink: IngestSink): { udp: UdpEnd; granted: number } {
    const socket = UdpBatchSocket.open(options.host, port, options.recvBufferBytes, options.udpBatchPauseMs ?? 0, (buf, count, meta) => {
      for (let i = 0, m = 0; i < count; i++, m += 4) {
        const start = meta[m];
        sink.onUdpDatagram(buf, start, start + meta[m + 1], meta[m + 2] >>> 0, meta[m + 3]);
      }
    });
    return {
      udp: {
        close: () => {
          socket.close();
          return Promise.resolve();
        },
      },
      granted: socket.recvBufferBytes,
    };
  }

  static async #openDgram(options: RtpPortOptions, port: number, sink: IngestSink): Promise<{ udp: UdpEnd; granted: number }> {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: options.recvBufferBytes });
    await bindUdp(socket, options.host, port);
    // Sources repeat: remember the last address text so the common case parses nothing.
    let lastAddress = '';
    let lastIp = 0;
    socket.on('message', (msg, rinfo) => {
      if (rinfo.address !== lastAddress) {
        lastAddress = rinfo.address;
        lastIp = parseIPv4(rinfo.address);
      }
      sink.onUdpDatagram(msg, 0, msg.length, lastIp, rinfo.port);
    });
    socket.on('error', (err) => options.logger.error({ err }, 'UDP socket error'));
    let granted = 0;
    try {
      granted = socket.getRecvBufferSize();
    } catch {
      granted = 0;
    }
    const udp: UdpEnd = {
      close: () =>
        new Promise<void>((resolve) => {
          try {
            socket.close(() => resolve());
          } catch {
            resolve();
          }
        }),
    };
    return { udp, granted };
  }

  /** Stops accepting TCP connections (existing ones stay) and closes UDP. */
  async close(): Promise<void> {
    await this.#udp.close();
    await new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
  }
}
