/**
 * One SIP message from bytes, through the `sip` package's parser, with the leniency devices need.
 *
 * The package drops a whole message when one header line does not look like `Name: value` (a
 * camera's stray line, a broken folding). Here such lines are removed and counted and the message
 * is parsed again, so one bad line costs that line, not the registration. What still does not
 * parse, or lacks Via, From, To, Call-ID or CSeq, is rejected with a reason.
 *
 * Bodies stay bytes: the package keeps them as latin1 strings (one character per byte), which is
 * what Content-Length counts; `body` is the same bytes as a Buffer for MANSCDP/SDP decoding.
 */
import sip, { type SipMessage } from 'sip';

export type ParsedSip =
  | { ok: true; message: SipMessage; body: Buffer; droppedHeaderLines: number }
  | { ok: false; reason: 'unparsable' | 'missing-headers' | 'too-large' };

const HEADER_LINE = /^[!-9;-~]+[ \t]*:/;

export function parseSipMessage(data: Buffer, maxBytes = 64 * 1024): ParsedSip {
  if (data.length > maxBytes) return { ok: false, reason: 'too-large' };
  let droppedHeaderLines = 0;
  let message = safeParse(data);
  if (!message) {
    const cleaned = withoutBadHeaderLines(data);
    if (cleaned.dropped > 0) {
      droppedHeaderLines = cleaned.dropped;
      message = safeParse(cleaned.data);
    }
  }
  if (!message) return { ok: false, reason: 'unparsable' };
  if (!complete(message)) return { ok: false, reason: 'missing-headers' };
  const body = message.content ? Buffer.from(message.content, 'latin1') : Buffer.alloc(0);
  return { ok: true, message, body, droppedHeaderLines };
}

function safeParse(data: Buffer): SipMessage | undefined {
  try {
    return sip.parse(data);
  } catch {
    return undefined;
  }
}

function complete(m: SipMessage): boolean {
  const h = m.headers;
  if (!(m.method || (m.status !== undefined && m.status >= 100 && m.status <= 699))) return false;
  if (!Array.isArray(h.via) || h.via.length === 0 || !h.via[0] || typeof h.via[0].host !== 'string') return false;
  if (typeof h['call-id'] !== 'string' || h['call-id'].length === 0) return false;
  if (!h.from || typeof h.from.uri !== 'string' || !h.to || typeof h.to.uri !== 'string') return false;
  if (!h.cseq || !Number.isFinite(h.cseq.seq) || typeof h.cseq.method !== 'string') return false;
  return true;
}

/** The message with header lines that are not `name: value` (nor a continuation) removed. */
function withoutBadHeaderLines(data: Buffer): { data: Buffer; dropped: number } {
  const text = data.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { data, dropped: 0 };
  const lines = text.slice(0, end).split('\r\n');
  const kept = [lines[0]];
  let dropped = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (HEADER_LINE.test(line) || ((line.startsWith(' ') || line.startsWith('\t')) && kept.length > 1)) kept.push(line);
    else dropped++;
  }
  if (dropped === 0) return { data, dropped: 0 };
  return { data: Buffer.from(kept.join('\r\n') + text.slice(end), 'latin1'), dropped };
}

/** A header's value as one string (the package gives a string, or joins repeats with commas). */
export function headerText(m: SipMessage, name: string): string | undefined {
  const v = m.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** The user part of a SIP URI (`sip:34020000001320000001@3402000000` → the device id). */
export function uriUser(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const m = /^\s*<?\s*sips?:([^@;>\s]+)@/i.exec(uri);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1];
  }
}
