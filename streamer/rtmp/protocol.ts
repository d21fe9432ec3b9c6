/**
 * RTMP 1.0 constants (Adobe RTMP specification, sections 5.4 and 7.1) and the encoders for the
 * small control and command messages a publisher sends.
 */
import { encodeAmf0 } from '../flv/amf0.ts';
import type { Amf0Value } from '../flv/amf0.ts';

export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

export const UserControlEvent = {
  StreamBegin: 0,
  StreamEof: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

/** Chunk stream ids this publisher uses. 2 is reserved by the spec for protocol control. */
export const ChunkStream = {
  Control: 2,
  Command: 3,
  Audio: 4,
  Data: 5,
  Video: 6,
} as const;

export const DEFAULT_CHUNK_SIZE = 128;
/** The largest chunk size every server we target accepts (SRS: 128..65536; nginx-rtmp: up to 10 MB). */
export const MAX_INTEROPERABLE_CHUNK_SIZE = 65536;

/** Payload of Set Chunk Size (type 1): 31-bit size. */
export function setChunkSizePayload(size: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(size & 0x7fffffff, 0);
  return b;
}

/** Payload of Acknowledgement (type 3): the number of bytes received so far, modulo 2^32. */
export function acknowledgementPayload(sequence: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(sequence >>> 0, 0);
  return b;
}

/** Payload of Window Acknowledgement Size (type 5). */
export function windowAckSizePayload(size: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(size >>> 0, 0);
  return b;
}

/** Payload of a User Control Ping Response (type 4, event 7) echoing the request's timestamp. */
export function pingResponsePayload(timestamp: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b.writeUInt16BE(UserControlEvent.PingResponse, 0);
  b.writeUInt32BE(timestamp >>> 0, 2);
  return b;
}

/** Payload of an AMF0 command (type 20): name, transaction id, command object, arguments. */
export function commandPayload(name: string, transactionId: number, commandObject: Amf0Value, ...args: Amf0Value[]): Buffer {
  return encodeAmf0([name, transactionId, commandObject, ...args]);
}

/** `@setDataFrame` as an AMF0 string: prepended to onMetaData so the server stores the metadata. */
export const SET_DATA_FRAME = encodeAmf0(['@setDataFrame']);

/** True when an AMF0 data payload already starts with the string `@setDataFrame`. */
export function startsWithSetDataFrame(body: Buffer): boolean {
  return body.length >= SET_DATA_FRAME.length && body.compare(SET_DATA_FRAME, 0, SET_DATA_FRAME.length, 0, SET_DATA_FRAME.length) === 0;
}
