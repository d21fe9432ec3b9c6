/**
 * The whole read path for one MESSAGE body: bytes → text (`decode.ts`) → element tree (`xml.ts`)
 * → typed message (`messages.ts`). Never throws: hostile bodies end as an error result whose code
 * the SIP layer can count.
 */
import type { BodyEncoding } from './decode.ts';
import { decodeBody } from './decode.ts';
import type { XmlErrorCode, XmlLimits } from './xml.ts';
import { DEFAULT_XML_LIMITS, parseXml } from './xml.ts';
import type { ManscdpMessage, MessageError } from './messages.ts';
import { readMessage } from './messages.ts';

export type BodyError = 'body-too-large' | XmlErrorCode | MessageError;

export type BodyResult =
  | {
      ok: true;
      message: ManscdpMessage;
      encoding: BodyEncoding;
      /** Broken markup that was repaired (0 for a well-formed body). */
      repairs: number;
      /** The body ended inside the root element: the last fields or items may be cut. */
      truncated: boolean;
    }
  | { ok: false; error: BodyError; detail: string };

/**
 * Reads a MANSCDP body. `limits.maxLength` bounds the byte length too, checked before decoding (the
 * decoded text is never longer, in UTF-16 code units, than the bytes it came from).
 */
export function readBody(bytes: Uint8Array, limits: Partial<XmlLimits> = {}): BodyResult {
  const maxLength = limits.maxLength ?? DEFAULT_XML_LIMITS.maxLength;
  if (bytes.length > maxLength) return { ok: false, error: 'body-too-large', detail: `${bytes.length} bytes exceed ${maxLength}` };
  const decoded = decodeBody(bytes);
  const xml = parseXml(decoded.text, limits);
  if (!xml.ok) return { ok: false, error: xml.error, detail: xml.message };
  const read = readMessage(xml.root);
  if (!read.ok) return read;
  return { ok: true, message: read.message, encoding: decoded.encoding, repairs: xml.repairs, truncated: xml.truncated };
}
