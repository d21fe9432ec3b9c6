/**
 * AMF0 (Action Message Format 0), as used by FLV script data and RTMP command messages.
 * Encoding covers what a publisher sends; decoding is defensive, since it reads server replies.
 */

export const Amf0Marker = {
  Number: 0x00,
  Boolean: 0x01,
  String: 0x02,
  Object: 0x03,
  Null: 0x05,
  Undefined: 0x06,
  Reference: 0x07,
  EcmaArray: 0x08,
  ObjectEnd: 0x09,
  StrictArray: 0x0a,
  Date: 0x0b,
  LongString: 0x0c,
} as const;

export type Amf0Value = number | boolean | string | null | undefined | Amf0Object | Amf0EcmaArray | Amf0Value[];
export interface Amf0Object {
  [key: string]: Amf0Value;
}

/** An associative array encoded with marker 0x08, as onMetaData expects. */
export class Amf0EcmaArray {
  readonly entries: Amf0Object;
  constructor(entries: Amf0Object) {
    this.entries = entries;
  }
}

export class Amf0Error extends Error {}

const MAX_DEPTH = 16;

export function encodeAmf0(values: readonly Amf0Value[]): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) writeValue(parts, v, 0);
  return Buffer.concat(parts);
}

function writeValue(out: Buffer[], v: Amf0Value, depth: number): void {
  if (depth > MAX_DEPTH) throw new Amf0Error('AMF0 value nested too deeply');
  if (v === null) {
    out.push(Buffer.of(Amf0Marker.Null));
  } else if (v === undefined) {
    out.push(Buffer.of(Amf0Marker.Undefined));
  } else if (typeof v === 'number') {
    const b = Buffer.allocUnsafe(9);
    b[0] = Amf0Marker.Number;
    b.writeDoubleBE(v, 1);
    out.push(b);
  } else if (typeof v === 'boolean') {
    out.push(Buffer.of(Amf0Marker.Boolean, v ? 1 : 0));
  } else if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    if (s.length <= 0xffff) {
      const h = Buffer.allocUnsafe(3);
      h[0] = Amf0Marker.String;
      h.writeUInt16BE(s.length, 1);
      out.push(h, s);
    } else {
      const h = Buffer.allocUnsafe(5);
      h[0] = Amf0Marker.LongString;
      h.writeUInt32BE(s.length, 1);
      out.push(h, s);
    }
  } else if (Array.isArray(v)) {
    const h = Buffer.allocUnsafe(5);
    h[0] = Amf0Marker.StrictArray;
    h.writeUInt32BE(v.length, 1);
    out.push(h);
    for (const item of v) writeValue(out, item, depth + 1);
  } else if (v instanceof Amf0EcmaArray) {
    const keys = Object.keys(v.entries);
    const h = Buffer.allocUnsafe(5);
    h[0] = Amf0Marker.EcmaArray;
    h.writeUInt32BE(keys.length, 1);
    out.push(h);
    writeProperties(out, v.entries, depth);
  } else {
    out.push(Buffer.of(Amf0Marker.Object));
    writeProperties(out, v, depth);
  }
}

function writeProperties(out: Buffer[], obj: Amf0Object, depth: number): void {
  for (const [key, value] of Object.entries(obj)) {
    const k = Buffer.from(key, 'utf8');
    const h = Buffer.allocUnsafe(2);
    h.writeUInt16BE(k.length, 0);
    out.push(h, k);
    writeValue(out, value, depth + 1);
  }
  out.push(Buffer.of(0, 0, Amf0Marker.ObjectEnd));
}

/** Decodes every value in buf. Throws Amf0Error on truncated or unsupported input. */
export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const reader = { buf, pos: 0 };
  const values: Amf0Value[] = [];
  while (reader.pos < buf.length) values.push(readValue(reader, 0));
  return values;
}

interface Reader {
  buf: Buffer;
  pos: number;
}

function need(r: Reader, n: number): void {
  if (r.pos + n > r.buf.length) throw new Amf0Error('AMF0 data truncated');
}

function readValue(r: Reader, depth: number): Amf0Value {
  if (depth > MAX_DEPTH) throw new Amf0Error('AMF0 value nested too deeply');
  need(r, 1);
  const marker = r.buf[r.pos++];
  switch (marker) {
    case Amf0Marker.Number: {
      need(r, 8);
      const n = r.buf.readDoubleBE(r.pos);
      r.pos += 8;
      return n;
    }
    case Amf0Marker.Boolean:
      need(r, 1);
      return r.buf[r.pos++] !== 0;
    case Amf0Marker.String:
      return readShortString(r);
    case Amf0Marker.LongString: {
      need(r, 4);
      const len = r.buf.readUInt32BE(r.pos);
      r.pos += 4;
      need(r, len);
      const s = r.buf.toString('utf8', r.pos, r.pos + len);
      r.pos += len;
      return s;
    }
    case Amf0Marker.Object:
      return readProperties(r, depth);
    case Amf0Marker.EcmaArray:
      need(r, 4);
      r.pos += 4; // the count is advisory; the end marker terminates
      return new Amf0EcmaArray(readProperties(r, depth));
    case Amf0Marker.StrictArray: {
      need(r, 4);
      const count = r.buf.readUInt32BE(r.pos);
      r.pos += 4;
      if (count > r.buf.length - r.pos) throw new Amf0Error('AMF0 strict array longer than its data');
      const arr: Amf0Value[] = [];
      for (let i = 0; i < count; i++) arr.push(readValue(r, depth + 1));
      return arr;
    }
    case Amf0Marker.Date: {
      need(r, 10);
      const ms = r.buf.readDoubleBE(r.pos);
      r.pos += 10;
      return ms;
    }
    case Amf0Marker.Null:
      return null;
    case Amf0Marker.Undefined:
      return undefined;
    default:
      throw new Amf0Error(`unsupported AMF0 marker 0x${marker.toString(16)}`);
  }
}

function readShortString(r: Reader): string {
  need(r, 2);
  const len = r.buf.readUInt16BE(r.pos);
  r.pos += 2;
  need(r, len);
  const s = r.buf.toString('utf8', r.pos, r.pos + len);
  r.pos += len;
  return s;
}

function readProperties(r: Reader, depth: number): Amf0Object {
  const obj: Amf0Object = {};
  while (true) {
    need(r, 3);
    if (r.buf[r.pos] === 0 && r.buf[r.pos + 1] === 0 && r.buf[r.pos + 2] === Amf0Marker.ObjectEnd) {
      r.pos += 3;
      return obj;
    }
    const key = readShortString(r);
    obj[key] = readValue(r, depth + 1);
  }
}
