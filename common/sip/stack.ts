/**
 * gbcast's SIP stack: the `sip` package's message model, parser and transaction layer (RFC 3261
 * retransmissions and timers), under a transport of our own.
 *
 * Why not `sip.create`/`sip.start` whole: its transports drop a message with one bad header line
 * without a word, never deliver a TCP message that has no Content-Length, and its request routing
 * resolves the request URI (answering 404 itself when the URI names our own host, which is exactly
 * what a device's Contact looks like when it runs on the same machine). GB28181 needs none of that
 * routing: a request to a device goes to the address its packets came from (rport/received), over
 * the transport it used, on the TCP connection it opened when there is one. So this module owns:
 *
 * - one UDP socket and one TCP listener on the same port;
 * - framing (sip-framer.ts) and lenient parsing (parse.ts), every rejection counted;
 * - `received`/`rport` on incoming requests, our Via on outgoing ones;
 * - dispatch to the package's server/client transactions.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import sip, { type SipConnection, type SipMessage, type TransactionLayer } from 'sip';
import type { Logger } from '../logger.ts';
import { bindUdp, listenTcp, openOnSamePort } from '../net/listen.ts';
import { parseSipMessage } from './parse.ts';
import { ResponseCache, serverTransactionKey } from './response-cache.ts';
import { ClientTransactions, clientTransactionKey } from './client-transactions.ts';
import { SipTcpFramer } from './sip-framer.ts';

export interface SipRemote {
  protocol: 'UDP' | 'TCP';
  address: string;
  port: number;
}

export interface IncomingRequest {
  message: SipMessage;
  /** Body bytes (MANSCDP, SDP). */
  body: Buffer;
  remote: SipRemote;
}

export interface ReplyOptions {
  headers?: Record<string, unknown>;
  body?: Buffer;
  contentType?: string;
}

export interface SipStackOptions {
  host: string;
  port: number;
  /** The address written into our Via and Contact headers. */
  publicAddress: string;
  logger: Logger;
  /** Every request that is not a retransmission (ACK included). Must not throw; a throw answers 500. */
  onRequest(request: IncomingRequest): void;
  /** Largest UDP message accepted. */
  maxMessageBytes?: number;
  /** A TCP connection silent for this long is closed. */
  tcpIdleTimeoutMs?: number;
}

/** Counters read at scrape time. */
export class SipStackStats {
  requestsIn: Record<string, number> = {};
  responsesOut: Record<string, number> = {};
  responsesIn: Record<string, number> = {};
  requestsOut: Record<string, number> = {};
  /** Messages rejected, by reason. */
  dropped: Record<string, number> = { unparsable: 0, 'missing-headers': 0, 'too-large': 0, 'tcp-framing': 0, 'stray-response': 0, overload: 0 };
  headerLinesDropped = 0;
  tcpConnections = 0;
}

/** Methods counted by name; anything else is "other", so labels stay bounded. */
const KNOWN_METHODS = new Set(['REGISTER', 'MESSAGE', 'INVITE', 'ACK', 'BYE', 'CANCEL', 'INFO', 'NOTIFY', 'SUBSCRIBE', 'OPTIONS']);

function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : 'other';
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function remoteKey(r: { protocol: string; address: string; port: number }): string {
  return `${r.protocol}:${r.address}:${r.port}`;
}

export class SipStack {
  readonly stats = new SipStackStats();
  readonly #options: SipStackOptions;
  readonly #udp: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #layer: TransactionLayer;
  /** Server transactions of non-INVITE requests (see response-cache.ts); INVITE uses the package's. */
  readonly #responses = new ResponseCache<SipRemote>();
  /** Client transactions of non-INVITE requests; INVITE uses the package's (its 2xx/ACK rules). */
  readonly #clients = new ClientTransactions();
  /** Open TCP connections by remote, to send requests to devices on the connection they opened. */
  readonly #tcpFlows = new Map<string, net.Socket>();
  #port = 0;
  #closed = false;

  private constructor(options: SipStackOptions, udp: dgram.Socket, tcp: net.Server) {
    this.#options = options;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#layer = sip.makeTransactionLayer({}, (target) => this.#connection(target as SipRemote));
  }

  static open(options: SipStackOptions): Promise<SipStack> {
    return openOnSamePort(options.port, () => SipStack.#tryOpen(options));
  }

  static async #tryOpen(options: SipStackOptions): Promise<SipStack> {
    const tcp = net.createServer();
    const port = await listenTcp(tcp, options.host, options.port);
    const udp = dgram.createSocket({ type: net.isIPv6(options.host) ? 'udp6' : 'udp4', recvBufferSize: 8 * 1024 * 1024 });
    try {
      await bindUdp(udp, options.host, port);
    } catch (err) {
      await new Promise((r) => tcp.close(r));
      throw err;
    }
    const stack = new SipStack(options, udp, tcp);
    stack.#port = port;
    udp.on('message', (data, rinfo) => stack.#onBytes(data, { protocol: 'UDP', address: rinfo.address, port: rinfo.port }));
    udp.on('error', (err) => options.logger.error({ err }, 'SIP UDP socket error'));
    tcp.on('connection', (socket) => stack.#adoptTcp(socket));
    tcp.on('error', (err) => options.logger.error({ err }, 'SIP TCP listener error'));
    return stack;
  }

  get port(): number {
    return this.#port;
  }

  get publicAddress(): string {
    return this.#options.publicAddress;
  }

  /** Answers a request through its server transaction (which also answers its retransmissions). */
  reply(request: SipMessage, status: number, reason: string, options: ReplyOptions = {}): void {
    const headers: Record<string, unknown> = { ...options.headers };
    if (options.body && options.contentType) headers['content-type'] = options.contentType;
    const response = sip.makeResponse(request, status, reason, {
      headers,
      content: options.body ? options.body.toString('latin1') : undefined,
    });
    // Our tag on the To of every final response that creates or answers a dialog-less request.
    if (status >= 200 && response.headers.to && !response.headers.to.params?.tag) {
      response.headers.to = { ...response.headers.to, params: { ...response.headers.to.params, tag: localTag(request) } };
    }
    if (request.method !== 'INVITE') {
      this.#replyNonInvite(request, response, status);
      return;
    }
    const t = this.#layer.getServer(request);
    if (!t) return;
    bump(this.stats.responsesOut, `${request.method ? methodLabel(request.method) : 'other'} ${status}`);
    t.send(response);
  }

  #replyNonInvite(request: SipMessage, response: SipMessage, status: number): void {
    const key = serverTransactionKey(request);
    const entry = this.#responses.get(key);
    // Answered already, not a request we received, or forgotten long ago: nothing to send.
    if (entry === undefined || Buffer.isBuffer(entry)) return;
    const remote = entry;
    bump(this.stats.responsesOut, `${request.method ? methodLabel(request.method) : 'other'} ${status}`);
    const bytes = Buffer.from(sip.stringify(response), 'latin1');
    this.#sendBytes(remote, bytes);
    if (status < 200) return;
    if (remote.protocol === 'UDP') this.#responses.complete(key, bytes);
    else this.#responses.forget(key);
  }

  /**
   * Sends a request to a device at `remote` (the address its packets came from) and calls back
   * with every response (provisional ones included) or a locally made 408/503 on timeout or a
   * transport failure. `message.headers.via` is replaced by ours.
   */
  request(remote: SipRemote, message: SipMessage, onResponse: (response: SipMessage, body: Buffer) => void): void {
    message.headers.via = [{ protocol: remote.protocol, host: this.#options.publicAddress, port: this.#port, params: {} }];
    bump(this.stats.requestsOut, methodLabel(message.method ?? 'other'));
    if (message.method !== 'INVITE') {
      message.headers.via[0].params.branch = sip.generateBranch();
      if (remote.protocol === 'UDP') message.headers.via[0].params.rport = null;
      const deliver = (response: SipMessage) => onResponse(response, response.content ? Buffer.from(response.content, 'latin1') : Buffer.alloc(0));
      this.#clients.start(clientTransactionKey(message), {
        bytes: Buffer.from(sip.stringify(message), 'latin1'),
        reliable: remote.protocol !== 'UDP',
        send: (bytes) => this.#sendBytes(remote, bytes),
        onResponse: deliver,
        onTimeout: () => deliver(sip.makeResponse(message, 408, 'Request Timeout')),
      });
      return;
    }
    const connection = this.#connection(remote);
    this.#layer.createClientTransaction(connection, message, (response) => {
      onResponse(response, response.content ? Buffer.from(response.content, 'latin1') : Buffer.alloc(0));
    });
  }

  /** ACK for a 2xx to INVITE: its own transaction-less request. */
  sendAck(remote: SipRemote, message: SipMessage): void {
    message.headers.via = [{ protocol: remote.protocol, host: this.#options.publicAddress, port: this.#port, params: { branch: sip.generateBranch() } }];
    const connection = this.#connection(remote);
    connection.send(message);
    connection.release();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#layer.destroy();
    this.#clients.stop();
    this.#responses.clear();
    for (const socket of this.#tcpFlows.values()) socket.destroy();
    this.#tcpFlows.clear();
    await new Promise<void>((resolve) => this.#udp.close(() => resolve()));
    await new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
  }

  #adoptTcp(socket: net.Socket, known?: SipRemote): void {
    const remote: SipRemote = known ?? { protocol: 'TCP', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const key = remoteKey(remote);
    this.#tcpFlows.set(key, socket);
    this.stats.tcpConnections++;
    socket.setNoDelay(true);
    socket.setTimeout(this.#options.tcpIdleTimeoutMs ?? 10 * 60_000, () => socket.destroy());
    const framer = new SipTcpFramer((message) => this.#onBytes(message, remote));
    socket.on('data', (chunk: Buffer) => {
      const error = framer.push(chunk);
      if (error) {
        this.stats.dropped['tcp-framing']++;
        this.#options.logger.debug({ remote, error }, 'closing SIP TCP connection');
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      if (this.#tcpFlows.get(key) === socket) this.#tcpFlows.delete(key);
    });
  }

  #onBytes(data: Buffer, remote: SipRemote): void {
    if (this.#closed) return;
    const parsed = parseSipMessage(data, this.#options.maxMessageBytes);
    if (!parsed.ok) {
      this.stats.dropped[parsed.reason]++;
      return;
    }
    this.stats.headerLinesDropped += parsed.droppedHeaderLines;
    const m = parsed.message;
    try {
      if (m.method) {
        const via = m.headers.via[0];
        via.params.received = remote.address;
        if (Object.hasOwn(via.params, 'rport')) via.params.rport = remote.port;
        bump(this.stats.requestsIn, methodLabel(m.method));
        if (m.method === 'ACK') {
          this.#deliver(m, parsed.body, remote);
          return;
        }
        if (m.method !== 'INVITE') {
          const key = serverTransactionKey(m);
          const known = this.#responses.get(key);
          if (known !== undefined) {
            // A retransmission: the same final response again, or nothing while it is being handled.
            if (Buffer.isBuffer(known)) this.#sendBytes(remote, known);
            return;
          }
          if (!this.#responses.begin(key, remote)) {
            this.stats.dropped.overload = (this.stats.dropped.overload ?? 0) + 1;
            return;
          }
          this.#deliver(m, parsed.body, remote);
          return;
        }
        const existing = this.#layer.getServer(m);
        if (existing) {
          existing.message?.(m, remote);
          return;
        }
        this.#layer.createServerTransaction(m, this.#connection(remote));
        this.#deliver(m, parsed.body, remote);
      } else {
        bump(this.stats.responsesIn, `${methodLabel(m.headers.cseq.method)} ${m.status}`);
        if (m.headers.cseq.method !== 'INVITE') {
          if (!this.#clients.onResponse(clientTransactionKey(m), m)) this.stats.dropped['stray-response']++;
          return;
        }
        const t = this.#layer.getClient(m);
        if (t) t.message?.(m, remote);
        else this.stats.dropped['stray-response']++;
      }
    } catch (err) {
      this.#options.logger.error({ err, remote }, 'SIP message handling failed');
    }
  }

  #deliver(message: SipMessage, body: Buffer, remote: SipRemote): void {
    try {
      this.#options.onRequest({ message, body, remote });
    } catch (err) {
      this.#options.logger.error({ err, method: message.method }, 'SIP request handler threw');
      if (message.method !== 'ACK') this.reply(message, 500, 'Server Internal Error');
    }
  }

  /** How the transaction layer sends to a remote: UDP datagram, or its TCP connection (dialed if none). */
  #connection(remote: SipRemote): SipConnection {
    return {
      protocol: remote.protocol,
      release() {},
      send: (m: SipMessage) => this.#sendBytes(remote, Buffer.from(sip.stringify(m), 'latin1')),
    };
  }

  #sendBytes(remote: SipRemote, bytes: Buffer): void {
    if (this.#closed) return;
    if (remote.protocol === 'UDP') {
      this.#udp.send(bytes, remote.port, remote.address);
      return;
    }
    let socket = this.#tcpFlows.get(remoteKey(remote));
    if (!socket || socket.destroyed) {
      socket = net.connect({ host: remote.address, port: remote.port });
      this.#adoptTcp(socket, remote);
    }
    socket.write(bytes);
  }
}

/** A To tag stable for one request (retransmissions of a request get the same tag). */
function localTag(request: SipMessage): string {
  let h = 0x811c9dc5;
  const s = `${request.headers['call-id']}|${request.headers.cseq?.seq}`;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
