/**
 * RTMP chunk stream writer (Adobe RTMP 1.0, section 5.3).
 *
 * Turns one message into the buffers to put on the wire: the chunk headers of the whole message
 * live in one small allocation, and the payload goes out as views of the caller's buffers, so a
 * video frame is never copied. Write the result with cork/write.../uncork (writev).
 *
 * Header formats used: fmt 0 (full header) for the first message on a chunk stream, a changed
 * message stream id or a timestamp that goes backwards; fmt 1 (delta, length, type) otherwise; fmt 3
 * for the continuation chunks of a message. A timestamp (fmt 0) or delta (fmt 1) of 0xFFFFFF or more
 * is sent as 0xFFFFFF plus a 4-byte extended timestamp, and the extended field is repeated on every
 * fmt 3 continuation chunk of that message, as FFmpeg, librtmp, nginx-rtmp (publish_time_fix on,
 * the default) and SRS read it.
 */

const MAX_CSID = 65599;
const TIMESTAMP_EXTENDED = 0xffffff;

interface ChunkStreamState {
  timestamp: number;
  streamId: number;
}

export class ChunkWriter {
  private chunkSizeValue = 128;
  private readonly streams = new Map<number, ChunkStreamState>();

  get chunkSize(): number {
    return this.chunkSizeValue;
  }

  /** Applies a new outgoing chunk size; call right after queuing the Set Chunk Size message. */
  setChunkSize(size: number): void {
    if (!Number.isInteger(size) || size < 1 || size > 0x7fffffff) throw new RangeError(`bad chunk size ${size}`);
    this.chunkSizeValue = size;
  }

  /** Forgets the per-chunk-stream header state (a new connection). */
  reset(): void {
    this.streams.clear();
    this.chunkSizeValue = 128;
  }

  /**
   * Appends to `out` the buffers of one message and returns their total byte length.
   * `timestamp` is in milliseconds; it is sent modulo 2^32.
   */
  write(
    out: Buffer[],
    csid: number,
    type: number,
    streamId: number,
    timestamp: number,
    payload: Buffer | readonly Buffer[],
  ): number {
    if (!Number.isInteger(csid) || csid < 2 || csid > MAX_CSID) throw new RangeError(`bad chunk stream id ${csid}`);
    const parts: readonly Buffer[] = Buffer.isBuffer(payload) ? [payload] : payload;
    let length = 0;
    for (const p of parts) length += p.length;
    if (length > 0xffffff) throw new RangeError(`message of ${length} bytes exceeds the 24-bit length field`);

    const ts = timestamp >>> 0;
    const prev = this.streams.get(csid);
    let fmt: 0 | 1;
    let field: number;
    if (prev === undefined || prev.streamId !== streamId || ((ts - prev.timestamp) >>> 0) > 0x7fffffff) {
      fmt = 0;
      field = ts;
    } else {
      fmt = 1;
      field = (ts - prev.timestamp) >>> 0;
    }
    if (prev === undefined) this.streams.set(csid, { timestamp: ts, streamId });
    else {
      prev.timestamp = ts;
      prev.streamId = streamId;
    }

    const extended = field >= TIMESTAMP_EXTENDED;
    const basicSize = csid < 64 ? 1 : csid < 320 ? 2 : 3;
    const extSize = extended ? 4 : 0;
    const firstSize = basicSize + (fmt === 0 ? 11 : 7) + extSize;
    const contSize = basicSize + extSize;
    const chunkSize = this.chunkSizeValue;
    const chunks = length === 0 ? 1 : Math.ceil(length / chunkSize);
    const headerBytes = firstSize + (chunks - 1) * contSize;
    const hdr = Buffer.allocUnsafe(headerBytes);

    // First header.
    let p = writeBasic(hdr, 0, fmt, csid);
    hdr.writeUIntBE(extended ? TIMESTAMP_EXTENDED : field, p, 3);
    hdr.writeUIntBE(length, p + 3, 3);
    hdr[p + 6] = type;
    p += 7;
    if (fmt === 0) {
      hdr.writeUInt32LE(streamId >>> 0, p); // the message stream id is little-endian
      p += 4;
    }
    if (extended) {
      hdr.writeUInt32BE(field, p);
      p += 4;
    }
    out.push(hdr.subarray(0, p));

    // Payload, cut into chunks; fmt 3 headers between them.
    let partIndex = 0;
    let partOffset = 0;
    let remaining = length;
    for (let c = 0; c < chunks; c++) {
      if (c > 0) {
        const start = p;
        p = writeBasic(hdr, p, 3, csid);
        if (extended) {
          hdr.writeUInt32BE(field, p);
          p += 4;
        }
        out.push(hdr.subarray(start, p));
      }
      let need = Math.min(chunkSize, remaining);
      remaining -= need;
      while (need > 0) {
        const part = parts[partIndex];
        const take = Math.min(need, part.length - partOffset);
        if (take > 0) {
          out.push(take === part.length ? part : part.subarray(partOffset, partOffset + take));
          partOffset += take;
          need -= take;
        }
        if (partOffset >= part.length) {
          partIndex++;
          partOffset = 0;
        }
      }
    }
    return headerBytes + length;
  }
}

function writeBasic(buf: Buffer, at: number, fmt: number, csid: number): number {
  if (csid < 64) {
    buf[at] = (fmt << 6) | csid;
    return at + 1;
  }
  if (csid < 320) {
    buf[at] = fmt << 6;
    buf[at + 1] = csid - 64;
    return at + 2;
  }
  buf[at] = (fmt << 6) | 1;
  buf[at + 1] = (csid - 64) & 0xff;
  buf[at + 2] = (csid - 64) >> 8;
  return at + 3;
}
