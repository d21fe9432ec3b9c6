/**
 * The sockets a camera sends RTP over, behind one small interface:
 *
 *   UdpTransport   one datagram per RTP packet, on a socket of its own or one shared by many
 *                  streams (createSharedUdpSocket, for the load benchmark)
 *   TcpTransport   RFC 4571 (or '$' interleaved) framed packets on a TCP connection, either
 *                  dialled by us (connectTcp: GB "TCP passive" on the platform side) or accepted
 *                  by us (TcpListener: GB "TCP active", the platform dials the camera)
 *
 * send() takes one frame's packets as laid out by RtpPacketizer and returns false when the caller
 * should wait for writable() before sending more (flood pacing); real-time pacing instead watches
 * queuedBytes and drops frames when the peer cannot keep up.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { once } from 'node:events';
import type { RtpFraming } from './rtp-packetizer.ts';

export interface PacketTransport {
  /** How packets must be framed for this transport. */
  readonly framing: RtpFraming;
  /** Sends one frame's packets; `stride` is the size of a full packet (RtpPacketizer.stride). */
  send(packets: Buffer, stride: number): boolean;
  /** Resolves when sending may continue (send queue drained or the transport closed). */
  writable(): Promise<void>;
  /** Bytes accepted by send() and not yet handed to the kernel. */
  readonly queuedBytes: number;
  /** Send errors seen so far (UDP: e.g. ICMP port unreachable on a connected socket). */
  readonly errors: number;
  /** Resolves once the transport can no longer send: peer closed, socket error, or close(). */
  readonly lost: Promise<Error | undefined>;
  /** Closes what this transport owns; resolves when it is closed. */
  close(): Promise<void>;
}

/**
 * dns.lookup wrapper that answers IP literals synchronously: dgram looks the address up on every
 * send(), and the default lookup defers even an IP literal to the next tick.
 */
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
function fastLookup(hostname: string, options: number | dns.LookupOptions, callback: LookupCallback): void {
  const family = net.isIP(hostname);
  if (family) {
    if (typeof options === 'object' && options.all) callback(null, [{ address: hostname, family }]);
    else callback(null, hostname, family);
    return;
  }
  dns.lookup(hostname, typeof options === 'number' ? { family: options } : options, callback as never);
}

/** A UDP socket many UdpTransports can send through (bound to an ephemeral port, errors counted). */
export async function createSharedUdpSocket(type: 'udp4' | 'udp6' = 'udp4', bindAddress?: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type, lookup: fastLookup as never });
  await udpStep(socket, (done) => socket.bind(0, bindAddress, done));
  socket.on('error', () => {});
  return socket;
}

/**
 * Runs a dgram bind/connect and waits for its callback or an error. (With fastLookup the events can
 * fire before an `await once(...)` would be listening, so the callback form is used.)
 */
function udpStep(socket: dgram.Socket, start: (done: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error): void => reject(e);
    socket.once('error', fail);
    start(() => {
      socket.off('error', fail);
      resolve();
    });
  });
}

/** Resolves a host name to one address (IP literals unchanged). */
export async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const family = net.isIP(host);
  if (family) return { address: host, family: family as 4 | 6 };
  const r = await dns.promises.lookup(host);
  return { address: r.address, family: r.family as 4 | 6 };
}

const UDP_HIGH_WATER_PACKETS = 256;
const UDP_LOW_WATER_PACKETS = 32;

export interface UdpTransportOptions {
  host: string;
  port: number;
  /** Send through this socket instead of a new one; it is not closed by close(). */
  socket?: dgram.Socket;
  /** Local port for a socket of our own (default ephemeral). */
  localPort?: number;
  localAddress?: string;
}

export class UdpTransport implements PacketTransport {
  readonly framing = 'none' as const;
  readonly lost: Promise<Error | undefined>;
  private readonly socket: dgram.Socket;
  private readonly owned: boolean;
  private readonly host: string;
  private readonly port: number;
  /** An owned socket is connected to the peer: no per-datagram address lookup. */
  private readonly connected: boolean;
  private errorCount = 0;
  private closed = false;
  private resolveLost!: (e: Error | undefined) => void;

  private constructor(socket: dgram.Socket, owned: boolean, connected: boolean, host: string, port: number) {
    this.socket = socket;
    this.owned = owned;
    this.connected = connected;
    this.host = host;
    this.port = port;
    this.lost = new Promise((r) => (this.resolveLost = r));
    // A shared socket has one error listener of its own (createSharedUdpSocket), not one per stream.
    if (owned) socket.on('error', this.onError);
  }

  static async open(options: UdpTransportOptions): Promise<UdpTransport> {
    const { address, family } = await resolveHost(options.host);
    if (options.socket) return new UdpTransport(options.socket, false, false, address, options.port);
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: fastLookup as never });
    try {
      await udpStep(socket, (done) => socket.bind(options.localPort ?? 0, options.localAddress, done));
      await udpStep(socket, (done) => socket.connect(options.port, address, done));
    } catch (e) {
      socket.close();
      throw e;
    }
    return new UdpTransport(socket, true, true, address, options.port);
  }

  /** The local port datagrams leave from. */
  get localPort(): number {
    return this.socket.address().port;
  }

  get errors(): number {
    return this.errorCount;
  }

  get queuedBytes(): number {
    return this.closed ? 0 : this.socket.getSendQueueSize();
  }

  private readonly onError = (): void => {
    this.errorCount++;
  };

  send(packets: Buffer, stride: number): boolean {
    if (this.closed) return false;
    const s = this.socket;
    const len = packets.length;
    if (this.connected) {
      for (let off = 0; off < len; off += stride) s.send(packets, off, Math.min(stride, len - off));
    } else {
      for (let off = 0; off < len; off += stride) s.send(packets, off, Math.min(stride, len - off), this.port, this.host);
    }
    return s.getSendQueueCount() < UDP_HIGH_WATER_PACKETS;
  }

  writable(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.closed || this.socket.getSendQueueCount() <= UDP_LOW_WATER_PACKETS) resolve();
        else setTimeout(check, 1);
      };
      check();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.resolveLost(undefined);
    if (this.owned) {
      await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    }
    if (this.owned) {
      this.socket.off('error', this.onError);
      this.socket.on('error', () => {});
    }
  }
}

/** RTP over one TCP connection, whoever opened it. */
export class TcpTransport implements PacketTransport {
  readonly framing: RtpFraming;
  readonly socket: net.Socket;
  readonly lost: Promise<Error | undefined>;
  private errorCount = 0;
  private closing: Promise<void> | undefined;

  constructor(socket: net.Socket, framing: RtpFraming = 'rfc4571') {
    if (framing === 'none') throw new Error('TCP needs RFC 4571 or interleaved framing');
    this.socket = socket;
    this.framing = framing;
    socket.setNoDelay(true);
    let error: Error | undefined;
    socket.on('error', (e) => {
      this.errorCount++;
      error = e;
    });
    // A camera never reads from the media connection; drain whatever arrives so it cannot pile up.
    socket.on('data', () => {});
    this.lost = new Promise((resolve) => {
      socket.once('close', () => resolve(error));
      socket.once('end', () => resolve(undefined));
    });
  }

  get errors(): number {
    return this.errorCount;
  }

  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  send(packets: Buffer): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    return this.socket.write(packets);
  }

  writable(): Promise<void> {
    const s = this.socket;
    if (!s.writableNeedDrain || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  /** Ends the connection (FIN after the queued bytes), destroying it if the peer lingers. */
  close(timeoutMs = 1000): Promise<void> {
    if (!this.closing) {
      const s = this.socket;
      this.closing = s.destroyed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(() => s.destroy(), timeoutMs);
            s.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            s.end();
          });
    }
    return this.closing;
  }
}

/** Dials the receiver (the streamer listens: "TCP passive" in the platform's SDP). */
export async function connectTcp(host: string, port: number, framing: RtpFraming = 'rfc4571', localPort?: number): Promise<TcpTransport> {
  const socket = net.connect({ host, port, localPort });
  try {
    await once(socket, 'connect');
  } catch (e) {
    socket.destroy();
    throw e;
  }
  return new TcpTransport(socket, framing);
}

/**
 * Listens for the receiver's connection (the streamer dials us: "TCP active" in the platform's SDP).
 * `port` is what the camera's SDP answer carries; accept() yields the first connection, after
 * which the listening socket closes.
 */
export class TcpListener {
  private readonly server: net.Server;
  private readonly accepted: Promise<net.Socket>;

  private constructor(server: net.Server) {
    this.server = server;
    this.accepted = new Promise((resolve, reject) => {
      server.once('connection', (socket) => {
        server.close();
        resolve(socket);
      });
      server.once('close', () => reject(new Error('listener closed before a connection arrived')));
    });
    this.accepted.catch(() => {});
  }

  static async listen(port = 0, host?: string): Promise<TcpListener> {
    const server = net.createServer();
    server.listen(port, host);
    await once(server, 'listening');
    return new TcpListener(server);
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  accept(): Promise<net.Socket> {
    return this.accepted;
  }

  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
