/**
 * RTMP chunk stream reader for what a server sends to a publisher (Adobe RTMP 1.0, section 5.3).
 *
 * An incremental state machine over the byte stream: feed it any split of the input and it yields
 * the same messages. Set Chunk Size and Abort are applied inside the reader, since they change how
 * the following bytes are cut. The input is hostile: message lengths are capped before anything is
 * allocated, the bytes held in partial messages are capped, and every violation is an
 * RtmpProtocolError with a reason, never an unbounded buffer.
 */
import { MessageType } from './protocol.ts';

export class RtmpProtocolError extends Error {}

export interface RtmpMessage {
  readonly csid: number;
  readonly type: number;
  readonly streamId: number;
  /** Milliseconds, modulo 2^32. */
  readonly timestamp: number;
  readonly payload: Buffer;
}

export interface ChunkReaderOptions {
  /** Largest message accepted (default 1 MiB). */
  maxMessageSize?: number;
  /** Largest chunk size a peer may set (default 16 MiB). */
  maxChunkSize?: number;
  /** Largest number of chunk streams tracked at once (default 64). */
  maxChunkStreams?: number;
}

interface InStream {
  timestamp: number;
  delta: number;
  length: number;
  type: number;
  streamId: number;
  /** The last header carried an extended timestamp, so fmt 3 chunks carry one too. */
  extended: boolean;
  /** Message being assembled, or null between messages. */
  buf: Buffer | null;
  filled: number;
}

const State = { Header: 0, Payload: 1 } as const;
const MAX_HEADER = 3 + 11 + 4;

export class ChunkReader {
  private chunkSizeValue = 128;
  private readonly maxMessageSize: number;
  private readonly maxChunkSize: number;
  private readonly maxChunkStreams: number;
  private readonly streams = new Map<number, InStream>();
  private state: number = State.Header;
  /** Bytes of an incomplete chunk header carried to the next push. */
  private carry: Buffer = Buffer.alloc(0);
  private current: InStream | null = null;
  private currentCsid = 0;
  /** Payload bytes left in the chunk being read. */
  private chunkLeft = 0;
  private partialBytes = 0;
  private failed: RtmpProtocolError | null = null;

  constructor(options: ChunkReaderOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? 1024 * 1024;
    this.maxChunkSize = options.maxChunkSize ?? 16 * 1024 * 1024;
    this.maxChunkStreams = options.maxChunkStreams ?? 64;
  }

  /** The peer's chunk size, as last set by a Set Chunk Size message. */
  get chunkSize(): number {
    return this.chunkSizeValue;
  }

  /**
   * Consumes bytes and returns the messages they complete, in order. Throws RtmpProtocolError on a
   * violation; after that the reader is dead and throws the same error again.
   */
  push(data: Buffer): RtmpMessage[] {
    if (this.failed) throw this.failed;
    try {
      return this.parse(data);
    } catch (err) {
      this.failed = err instanceof RtmpProtocolError ? err : new RtmpProtocolError(String(err));
      this.carry = Buffer.alloc(0);
      this.streams.clear();
      throw this.failed;
    }
  }

  private parse(input: Buffer): RtmpMessage[] {
    const out: RtmpMessage[] = [];
    let buf = input;
    let pos = 0;
    if (this.carry.length > 0) {
      // At most MAX_HEADER - 1 bytes are carried; join just enough to finish the header.
      const take = Math.min(input.length, MAX_HEADER);
      buf = Buffer.concat([this.carry, input.subarray(0, take)]);
      const carried = this.carry.length;
      this.carry = Buffer.alloc(0);
      const used = this.readHeader(buf, 0);
      if (used < 0) {
        this.carry = buf;
        return out;
      }
      if (used - carried < 0) throw new RtmpProtocolError('internal: header shorter than carried bytes');
      buf = input;
      pos = used - carried;
      this.afterHeader(out);
    }
    while (pos < buf.length) {
      if (this.state === State.Header) {
        const used = this.readHeader(buf, pos);
        if (used < 0) {
          this.carry = Buffer.from(buf.subarray(pos));
          return out;
        }
        pos += used;
        this.afterHeader(out);
      } else {
        const s = this.current!;
        const take = Math.min(this.chunkLeft, buf.length - pos);
        buf.copy(s.buf!, s.filled, pos, pos + take);
        s.filled += take;
        this.chunkLeft -= take;
        pos += take;
        if (this.chunkLeft === 0) this.finishChunk(out);
      }
    }
    return out;
  }

  /** Parses one chunk header at pos; returns the bytes used, or -1 when more input is needed. */
  private readHeader(buf: Buffer, pos: number): number {
    const avail = buf.length - pos;
    if (avail < 1) return -1;
    const b0 = buf[pos];
    const fmt = b0 >> 6;
    let csid = b0 & 0x3f;
    let p = pos + 1;
    if (csid === 0) {
      if (avail < 2) return -1;
      csid = 64 + buf[p];
      p += 1;
    } else if (csid === 1) {
      if (avail < 3) return -1;
      csid = 64 + buf[p] + buf[p + 1] * 256;
      p += 2;
    }
    const headerLen = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (buf.length - p < headerLen) return -1;

    let s = this.streams.get(csid);
    if (s === undefined) {
      if (fmt !== 0) throw new RtmpProtocolError(`chunk fmt ${fmt} on chunk stream ${csid} that has no previous header`);
      if (this.streams.size >= this.maxChunkStreams) {
        throw new RtmpProtocolError(`more than ${this.maxChunkStreams} chunk streams in use`);
      }
    }
    const inMessage = s !== undefined && s.buf !== null;
    if (inMessage && fmt !== 3) {
      throw new RtmpProtocolError(`chunk fmt ${fmt} on chunk stream ${csid} interrupts an unfinished message`);
    }

    let tsField = 0;
    let length = s?.length ?? 0;
    let type = s?.type ?? 0;
    let streamId = s?.streamId ?? 0;
    if (fmt <= 2) {
      tsField = buf.readUIntBE(p, 3);
      if (fmt <= 1) {
        length = buf.readUIntBE(p + 3, 3);
        type = buf[p + 6];
        if (fmt === 0) streamId = buf.readUInt32LE(p + 7);
      }
    }
    p += headerLen;
    const extended = fmt === 3 ? (s?.extended ?? false) : tsField === 0xffffff;
    if (extended) {
      if (buf.length - p < 4) return -1;
      tsField = buf.readUInt32BE(p);
      p += 4;
    }

    // The whole header is present: commit it.
    if (s === undefined) {
      s = { timestamp: 0, delta: 0, length: 0, type: 0, streamId: 0, extended: false, buf: null, filled: 0 };
      this.streams.set(csid, s);
    }
    s.extended = extended;
    if (!inMessage) {
      if (fmt === 0) {
        s.timestamp = tsField;
        s.delta = 0;
      } else {
        if (fmt !== 3) s.delta = tsField;
        s.timestamp = (s.timestamp + s.delta) >>> 0;
      }
      s.length = length;
      s.type = type;
      s.streamId = streamId;
      if (length > this.maxMessageSize) {
        throw new RtmpProtocolError(`message of ${length} bytes (type ${type}) exceeds the ${this.maxMessageSize}-byte limit`);
      }
      if (this.partialBytes + length > this.maxMessageSize * 2) {
        throw new RtmpProtocolError('too many bytes held in unfinished messages');
      }
      s.buf = Buffer.allocUnsafe(length);
      s.filled = 0;
      this.partialBytes += length;
    }
    this.current = s;
    this.currentCsid = csid;
    this.chunkLeft = Math.min(this.chunkSizeValue, s.length - s.filled);
    return p - pos;
  }

  private afterHeader(out: RtmpMessage[]): void {
    if (this.chunkLeft === 0) this.finishChunk(out);
    else this.state = State.Payload;
  }

  private finishChunk(out: RtmpMessage[]): void {
    this.state = State.Header;
    const s = this.current!;
    if (s.filled < s.length) return;
    const payload = s.buf!;
    s.buf = null;
    this.partialBytes -= s.length;
    const msg: RtmpMessage = {
      csid: this.currentCsid,
      type: s.type,
      streamId: s.streamId,
      timestamp: s.timestamp,
      payload,
    };
    this.applyControl(msg);
    out.push(msg);
  }

  /** Set Chunk Size and Abort change the framing, so the reader applies them itself. */
  private applyControl(msg: RtmpMessage): void {
    if (msg.type === MessageType.SetChunkSize) {
      if (msg.payload.length < 4) throw new RtmpProtocolError('Set Chunk Size message shorter than 4 bytes');
      const size = msg.payload.readUInt32BE(0);
      if (size < 1 || size > 0x7fffffff) throw new RtmpProtocolError(`invalid chunk size ${size}`);
      if (size > this.maxChunkSize) {
        throw new RtmpProtocolError(`chunk size ${size} exceeds the ${this.maxChunkSize}-byte limit`);
      }
      this.chunkSizeValue = size;
    } else if (msg.type === MessageType.Abort) {
      if (msg.payload.length < 4) throw new RtmpProtocolError('Abort message shorter than 4 bytes');
      const s = this.streams.get(msg.payload.readUInt32BE(0));
      if (s !== undefined && s.buf !== null) {
        this.partialBytes -= s.length;
        s.buf = null;
        s.filled = 0;
      }
    }
  }
}
