/**
 * MANSCDP body bytes ⇄ text.
 *
 * Bodies are declared GB2312, but devices send GB2312, GBK, GB18030, UTF-8 or no declaration at all.
 * GB18030 is a superset of GBK and GB2312, so it is the fallback for everything that is not clearly
 * UTF-8. A body is read as UTF-8 only when its bytes are valid UTF-8 and
 *   - the XML declaration says UTF-8 (or UTF8), or
 *   - there is no declaration (and the bytes hold non-ASCII, the only case where the choice matters), or
 *   - it starts with a UTF-8 byte order mark (a stronger signal than a copy-pasted declaration).
 * Short GBK strings can happen to be valid UTF-8, which is why a GB declaration wins over validity.
 * Decoding never throws: undecodable bytes become U+FFFD.
 */
import { isUtf8 } from 'node:buffer';

export type BodyEncoding = 'utf-8' | 'gb18030';

export interface DecodedBody {
  text: string;
  /** The decoder that was used. */
  encoding: BodyEncoding;
  /** The encoding named in the XML declaration, lower-cased, or undefined when there is none. */
  declared: string | undefined;
}

const utf8Decoder = new TextDecoder('utf-8'); // strips a leading BOM
const gbDecoder = new TextDecoder('gb18030');

/** How far into the body the XML declaration is looked for (devices may put garbage before it). */
const DECLARATION_WINDOW = 1024;

/** The encoding named by the XML declaration (`<?xml … encoding="…"?>`), lower-cased, if any. */
export function declaredEncoding(bytes: Uint8Array): string | undefined {
  const headLength = Math.min(bytes.length, DECLARATION_WINDOW);
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, headLength).toString('latin1');
  const start = head.search(/<\?xml/i);
  if (start < 0) return undefined;
  let end = head.indexOf('?>', start);
  if (end < 0) end = head.indexOf('>', start);
  const decl = end < 0 ? head.slice(start) : head.slice(start, end);
  const m = /encoding\s*=\s*["']?\s*([A-Za-z0-9._:-]+)/i.exec(decl);
  return m ? m[1].toLowerCase() : undefined;
}

function isUtf8Name(name: string): boolean {
  return name === 'utf-8' || name === 'utf8';
}

function hasNonAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return true;
  return false;
}

function hasUtf8Bom(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** Decodes a MANSCDP body by the rule in the file comment. Never throws. */
export function decodeBody(bytes: Uint8Array): DecodedBody {
  const declared = declaredEncoding(bytes);
  if (!hasNonAscii(bytes)) {
    // Pure ASCII reads the same in both encodings.
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
    return { text, encoding: declared !== undefined && isUtf8Name(declared) ? 'utf-8' : 'gb18030', declared };
  }
  const useUtf8 = isUtf8(bytes) && (hasUtf8Bom(bytes) || declared === undefined || isUtf8Name(declared));
  if (useUtf8) return { text: utf8Decoder.decode(bytes), encoding: 'utf-8', declared };
  return { text: gbDecoder.decode(bytes), encoding: 'gb18030', declared };
}

// ---------------------------------------------------------------------------------------------
// GB2312 encoding (for what we send: the device simulator's channel names)

let gb2312Table: Map<number, number> | undefined;

/** UTF-16 code unit → GB2312 two-byte code (lead << 8 | trail), built once from the GB18030 decoder. */
function reverseTable(): Map<number, number> {
  if (gb2312Table) return gb2312Table;
  const table = new Map<number, number>();
  const pair = new Uint8Array(2);
  for (let lead = 0xa1; lead <= 0xf7; lead++) {
    for (let trail = 0xa1; trail <= 0xfe; trail++) {
      pair[0] = lead;
      pair[1] = trail;
      const s = gbDecoder.decode(pair);
      if (s.length !== 1) continue;
      const cu = s.charCodeAt(0);
      // U+FFFD: unmapped; private use: GBK/GB18030 user-defined areas, not GB2312 characters.
      if (cu === 0xfffd || (cu >= 0xe000 && cu <= 0xf8ff)) continue;
      if (!table.has(cu)) table.set(cu, (lead << 8) | trail);
    }
  }
  gb2312Table = table;
  return table;
}

/**
 * Encodes text as GB2312 (EUC-CN): ASCII as one byte, GB2312 characters as two bytes, anything else
 * (including characters outside the Basic Multilingual Plane) as one `?`.
 */
export function encodeGb2312(text: string): Buffer {
  const table = reverseTable();
  const out = Buffer.allocUnsafe(text.length * 2);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const cu = text.charCodeAt(i);
    if (cu < 0x80) {
      out[n++] = cu;
      continue;
    }
    if (cu >= 0xd800 && cu <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++; // one `?` for the whole surrogate pair
      out[n++] = 0x3f;
      continue;
    }
    const code = table.get(cu);
    if (code === undefined) {
      out[n++] = 0x3f;
    } else {
      out[n++] = code >> 8;
      out[n++] = code & 0xff;
    }
  }
  return out.subarray(0, n);
}
