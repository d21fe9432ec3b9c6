/**
 * One RTMP publishing connection: TCP, handshake, the command flow up to NetStream.Publish.Start,
 * then a pipe for media messages. It never reconnects and never queues: RtmpPublisher does that.
 *
 * Command flow, as FMLE/OBS/FFmpeg publish and servers expect:
 *   Set Chunk Size → connect → (_result) → releaseStream, FCPublish, createStream → (_result: the
 *   stream id) → publish(name, 'live') → (onStatus NetStream.Publish.Start).
 * Server control messages are answered on the way: Acknowledgement after each window of bytes,
 * Ping Response to each Ping Request.
 *
 * Events: 'publishing' once the server accepted the publish; 'closed' exactly once, with the reason;
 * 'drain' when the socket's buffer has emptied.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Amf0EcmaArray, Amf0Error, decodeAmf0 } from '../flv/amf0.ts';
import type { Amf0Object, Amf0Value } from '../flv/amf0.ts';
import { ChunkReader, RtmpProtocolError } from './chunk-reader.ts';
import type { RtmpMessage } from './chunk-reader.ts';
import { ChunkWriter } from './chunk-writer.ts';
import { CoalescedWriter, flushSchedulerFor } from '../net/coalesced-writer.ts';
import { ClientHandshake, HandshakeError } from './handshake.ts';
import {
  ChunkStream,
  MessageType,
  UserControlEvent,
  acknowledgementPayload,
  commandPayload,
  pingResponsePayload,
  setChunkSizePayload,
} from './protocol.ts';
import type { RtmpLogger } from './types.ts';
import type { RtmpTarget } from './url.ts';

export interface RtmpConnectionOptions {
  target: RtmpTarget;
  /** Outgoing chunk size, announced right after the handshake. */
  chunkSize: number;
  /** Deadline from TCP connect to NetStream.Publish.Start. */
  connectTimeoutMs: number;
  /** Largest message accepted from the server. */
  maxServerMessageSize: number;
  logger: RtmpLogger;
  flashVer?: string;
  /**
   * Media messages are gathered and written together this long after the first one (0: at the end
   * of the current event-loop turn). Commands and control messages go out at once.
   */
  mergeWriteMs?: number;
}

export type RtmpConnectionPhase = 'tcp' | 'handshake' | 'connect' | 'createStream' | 'publish' | 'publishing' | 'closed';

interface ConnectionEvents {
  publishing: [streamId: number];
  closed: [reason: string];
  drain: [];
}

const Tx = { Connect: 1, ReleaseStream: 2, FCPublish: 3, CreateStream: 4, Publish: 5 } as const;
const DEFAULT_FLASH_VER = 'FMLE/3.0 (compatible; gbcast)';

export class RtmpConnection extends EventEmitter<ConnectionEvents> {
  private readonly opts: RtmpConnectionOptions;
  private readonly socket: net.Socket;
  private readonly writer = new ChunkWriter();
  private readonly reader: ChunkReader;
  private readonly handshake = new ClientHandshake(Date.now());
  private phaseValue: RtmpConnectionPhase = 'tcp';
  private streamIdValue = 0;
  private timer: NodeJS.Timeout | null = null;
  private bytesIn = 0;
  private lastAck = 0;
  private ackWindow = 0;
  private readonly out: Buffer[] = [];
  private readonly coalesced: CoalescedWriter;
  private endRequested = false;
  /** Bytes handed to the socket, chunk headers included. */
  bytesWritten = 0;

  constructor(opts: RtmpConnectionOptions) {
    super();
    this.opts = opts;
    this.reader = new ChunkReader({ maxMessageSize: opts.maxServerMessageSize });
    this.socket = net.connect({ host: opts.target.host, port: opts.target.port, noDelay: true, keepAlive: true });
    this.coalesced = new CoalescedWriter(this.socket, flushSchedulerFor(opts.mergeWriteMs ?? 0));
    this.timer = setTimeout(() => this.close(`timed out after ${opts.connectTimeoutMs} ms in phase ${this.phaseValue}`), opts.connectTimeoutMs);
    this.socket.on('connect', () => {
      this.phaseValue = 'handshake';
      this.socket.write(this.handshake.c0c1);
    });
    this.socket.on('data', (data: Buffer) => this.onData(data));
    this.socket.on('drain', () => this.emit('drain'));
    this.socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    this.socket.on('end', () => this.close(this.endReason()));
    this.socket.on('close', () => this.close(this.endReason()));
  }

  get phase(): RtmpConnectionPhase {
    return this.phaseValue;
  }

  get streamId(): number {
    return this.streamIdValue;
  }

  /** Bytes accepted but not yet handed to the kernel (gathered for the next write, or buffered by the socket). */
  get writableLength(): number {
    return this.phaseValue === 'closed' ? 0 : this.socket.writableLength + this.coalesced.pendingBytes;
  }

  /**
   * Sends one media or data message on the published stream; returns the bytes put on the wire.
   * `payload` parts are sent as views, never copied.
   */
  sendMessage(csid: number, type: number, timestamp: number, payload: Buffer | readonly Buffer[]): number {
    if (this.phaseValue !== 'publishing') return 0;
    return this.writeMessage(csid, type, this.streamIdValue, timestamp, payload, false);
  }

  /**
   * Ends the publish politely (FCUnpublish, deleteStream), then half-closes the socket and waits
   * up to `timeoutMs` for it to close.
   */
  async end(timeoutMs: number): Promise<void> {
    if (this.phaseValue === 'closed') return;
    if (this.phaseValue === 'publishing') {
      const name = this.opts.target.stream;
      this.sendCommand(0, 'FCUnpublish', 6, null, name);
      this.sendCommand(0, 'deleteStream', 7, null, this.streamIdValue);
    }
    const closed = new Promise<void>((resolve) => this.once('closed', () => resolve()));
    const timer = setTimeout(() => this.close('closed by the publisher'), timeoutMs);
    this.endRequested = true;
    this.coalesced.flush();
    this.socket.end();
    await closed;
    clearTimeout(timer);
  }

  /** Tears the connection down at once; emits 'closed' the first time. */
  close(reason: string): void {
    if (this.phaseValue === 'closed') return;
    this.phaseValue = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.coalesced.discard();
    this.socket.destroy();
    this.emit('closed', reason);
  }

  private isClosed(): boolean {
    return this.phaseValue === 'closed';
  }

  private endReason(): string {
    if (this.endRequested) return 'closed by the publisher';
    if (this.phaseValue === 'publishing') return 'connection closed by the server';
    return `connection closed by the server during ${this.phaseValue}`;
  }

  private onData(data: Buffer): void {
    if (this.phaseValue === 'closed') return;
    this.bytesIn += data.length;
    try {
      if (this.phaseValue === 'handshake') {
        const step = this.handshake.push(data);
        if (step.c2) this.socket.write(step.c2);
        if (!step.done) return;
        this.onHandshakeDone();
        if (!step.rest || step.rest.length === 0) return;
        data = step.rest;
      }
      const messages = this.reader.push(data);
      for (const m of messages) {
        this.onMessage(m);
        if (this.isClosed()) return;
      }
      this.maybeAcknowledge();
    } catch (err) {
      if (err instanceof RtmpProtocolError || err instanceof HandshakeError || err instanceof Amf0Error) {
        this.close(`protocol error: ${err.message}`);
      } else {
        this.close(`internal error: ${(err as Error).message}`);
      }
    }
  }

  private onHandshakeDone(): void {
    this.phaseValue = 'connect';
    const size = this.opts.chunkSize;
    this.writeMessage(ChunkStream.Control, MessageType.SetChunkSize, 0, 0, setChunkSizePayload(size));
    this.writer.setChunkSize(size);
    const { app, tcUrl } = this.opts.target;
    this.sendCommand(0, 'connect', Tx.Connect, {
      app,
      type: 'nonprivate',
      flashVer: this.opts.flashVer ?? DEFAULT_FLASH_VER,
      tcUrl,
    });
  }

  private maybeAcknowledge(): void {
    if (this.ackWindow > 0 && this.bytesIn - this.lastAck >= this.ackWindow) {
      this.lastAck = this.bytesIn;
      this.writeMessage(ChunkStream.Control, MessageType.Acknowledgement, 0, 0, acknowledgementPayload(this.bytesIn));
    }
  }

  private onMessage(m: RtmpMessage): void {
    switch (m.type) {
      case MessageType.WindowAckSize:
        if (m.payload.length >= 4) this.ackWindow = m.payload.readUInt32BE(0);
        return;
      case MessageType.UserControl:
        if (m.payload.length >= 6 && m.payload.readUInt16BE(0) === UserControlEvent.PingRequest) {
          this.writeMessage(ChunkStream.Control, MessageType.UserControl, 0, 0, pingResponsePayload(m.payload.readUInt32BE(2)));
        }
        return;
      case MessageType.CommandAmf0:
        this.onCommand(decodeAmf0(m.payload));
        return;
      case MessageType.CommandAmf3:
        // An AMF3 command message starts with a format byte (0) followed by AMF0 values.
        if (m.payload.length > 0) this.onCommand(decodeAmf0(m.payload.subarray(1)));
        return;
      default:
        // Set Chunk Size and Abort are applied by the reader; Set Peer Bandwidth, Acknowledgement,
        // data and media messages need nothing from a publisher.
        return;
    }
  }

  private onCommand(values: Amf0Value[]): void {
    const [name, tx] = values;
    if (typeof name !== 'string') throw new RtmpProtocolError('command without a name');
    const info = asObject(values[3]);
    if (name === '_result' || name === '_error') {
      if (tx === Tx.Connect && this.phaseValue === 'connect') {
        if (name === '_error') return this.close(`connect rejected: ${describe(info)}`);
        const code = info?.code;
        if (typeof code === 'string' && code !== 'NetConnection.Connect.Success') {
          return this.close(`connect rejected: ${describe(info)}`);
        }
        this.phaseValue = 'createStream';
        const stream = this.opts.target.stream;
        this.sendCommand(0, 'releaseStream', Tx.ReleaseStream, null, stream);
        this.sendCommand(0, 'FCPublish', Tx.FCPublish, null, stream);
        this.sendCommand(0, 'createStream', Tx.CreateStream, null);
      } else if (tx === Tx.CreateStream && this.phaseValue === 'createStream') {
        const id = values[3];
        if (name === '_error') return this.close(`createStream rejected: ${describe(info)}`);
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
          return this.close(`createStream answered without a valid stream id (${String(id)})`);
        }
        this.streamIdValue = id;
        this.phaseValue = 'publish';
        this.sendCommand(id, 'publish', Tx.Publish, null, this.opts.target.stream, 'live');
      } else if (tx === Tx.Publish && name === '_error' && this.phaseValue === 'publish') {
        return this.close(`publish rejected: ${describe(info)}`);
      }
      // Replies to releaseStream and FCPublish (often _error, or none) do not matter.
      return;
    }
    if (name === 'onStatus') {
      const status = asObject(values[3]);
      const code = typeof status?.code === 'string' ? status.code : '';
      const level = typeof status?.level === 'string' ? status.level : '';
      if (this.phaseValue === 'publish') {
        if (code === 'NetStream.Publish.Start') {
          this.phaseValue = 'publishing';
          if (this.timer) clearTimeout(this.timer);
          this.timer = null;
          this.emit('publishing', this.streamIdValue);
          return;
        }
        if (level === 'error' || /BadName|Rejected|Failed|Denied|Forbidden/i.test(code)) {
          return this.close(`publish rejected: ${describe(status)}`);
        }
      } else if (this.phaseValue === 'publishing' && level === 'error') {
        return this.close(`server error status: ${describe(status)}`);
      }
      this.opts.logger.debug({ code, level }, 'rtmp onStatus');
      return;
    }
    if (name === 'close') return this.close('the server sent close');
    // onBWDone, onFCPublish and anything else: nothing to do for a publisher.
    this.opts.logger.debug({ command: name }, 'rtmp command ignored');
  }

  private sendCommand(streamId: number, name: string, tx: number, obj: Amf0Value, ...args: Amf0Value[]): void {
    this.writeMessage(ChunkStream.Command, MessageType.CommandAmf0, streamId, 0, commandPayload(name, tx, obj, ...args));
  }

  private writeMessage(
    csid: number,
    type: number,
    streamId: number,
    timestamp: number,
    payload: Buffer | readonly Buffer[],
    immediate = true,
  ): number {
    const out = this.out;
    out.length = 0;
    const n = this.writer.write(out, csid, type, streamId, timestamp, payload);
    for (const b of out) this.coalesced.push(b);
    out.length = 0;
    if (immediate) this.coalesced.flush();
    this.bytesWritten += n;
    return n;
  }
}

function asObject(v: Amf0Value): Amf0Object | null {
  if (v instanceof Amf0EcmaArray) return v.entries;
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Amf0Object) : null;
}

function describe(info: Amf0Object | null): string {
  if (!info) return 'no details';
  const code = typeof info.code === 'string' ? info.code : '';
  const desc = typeof info.description === 'string' ? info.description : '';
  return [code, desc].filter((s) => s !== '').join(': ') || 'no details';
}
