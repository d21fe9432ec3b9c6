/**
 * A lenient, bounded XML reader for MANSCDP bodies: text in, a small element tree out.
 *
 * It is not a conforming XML parser. It reads what devices actually send and keeps what parsed:
 * - a BOM and anything before `<?xml` are skipped; comments, DOCTYPE and processing instructions
 *   are skipped; CDATA is text;
 * - `&` that does not start a known entity (`&amp; &lt; &gt; &quot; &apos; &nbsp;`, `&#N;`, `&#xH;`)
 *   is literal text, and so is `<` that does not start a tag (`a < b`, `<3`, `<口` at the end);
 * - end tags match open elements case-insensitively; an end tag that closes an ancestor closes
 *   the elements left open inside it, except when they look like an unescaped `<word>` in a text
 *   field (`<Address>A&B <x> road</Address>`): then their source is put back as the field's text;
 * - a start tag named like an open element (other than the root) closes it first: MANSCDP never
 *   nests an element in one of the same name, so `<Item>…<Item>` is a missing `</Item>`;
 * - an end tag that matches nothing is text; at the end of input every open element is closed
 *   (`truncated`); anything after the root element is ignored.
 * Limits (input length, depth, element count) return an error result. The scan is linear: every
 * look-ahead stops at the next `<` or is consumed, and entity look-ahead is bounded.
 * Nothing here throws.
 */

export interface XmlElement {
  /** The tag name as written (case preserved, prefix kept). */
  name: string;
  /** Attributes as written, first occurrence wins (a prototype-less object). */
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (not its descendants'), entities decoded, untrimmed. */
  text: string;
}

export interface XmlLimits {
  /** Maximum input length in UTF-16 code units. */
  maxLength: number;
  /** Maximum element nesting depth (the root is depth 1). */
  maxDepth: number;
  /** Maximum number of start tags. */
  maxElements: number;
}

/** 1 MiB of text holds ~1,700 realistic catalog items of ~20 elements each, so 50,000 elements. */
export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = { maxLength: 1 << 20, maxDepth: 32, maxElements: 50_000 };

export type XmlErrorCode = 'too-long' | 'too-deep' | 'too-many-elements' | 'no-root';

export type XmlResult =
  | {
      ok: true;
      root: XmlElement;
      /** Number of places where broken markup was repaired (0 for well-formed input). */
      repairs: number;
      /** The input ended before the root element was closed. */
      truncated: boolean;
    }
  | { ok: false; error: XmlErrorCode; message: string };

// ---------------------------------------------------------------------------------------------
// Characters

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const AMP = 0x26;

function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || (c >= 0x80 && c !== 0xfeff);
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

// ---------------------------------------------------------------------------------------------
// Entities

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };
/** Longest entity body looked at after `&` (`#x10FFFF` is 8, `#1114111` is 8). */
const MAX_ENTITY = 10;

function entityValue(body: string): string | undefined {
  if (body.charCodeAt(0) === 0x23 /* # */) {
    const hex = body.length > 1 && (body.charCodeAt(1) | 0x20) === 0x78; /* x */
    const digits = body.slice(hex ? 2 : 1);
    if (!(hex ? /^[0-9a-fA-F]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) return undefined;
    const cp = parseInt(digits, hex ? 16 : 10);
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    return String.fromCodePoint(cp);
  }
  return Object.hasOwn(NAMED_ENTITIES, body.toLowerCase()) ? NAMED_ENTITIES[body.toLowerCase()] : undefined;
}

/** Decodes entity and character references; anything that is not one stays literal. */
export function decodeEntities(s: string): string {
  let amp = s.indexOf('&');
  if (amp < 0) return s;
  let out = '';
  let from = 0;
  while (amp >= 0) {
    const limit = Math.min(s.length, amp + 2 + MAX_ENTITY);
    let semi = -1;
    for (let j = amp + 1; j < limit; j++) {
      const c = s.charCodeAt(j);
      if (c === 0x3b /* ; */) {
        semi = j;
        break;
      }
      if (c === AMP || c === LT || isSpace(c)) break;
    }
    const value = semi > amp + 1 ? entityValue(s.slice(amp + 1, semi)) : undefined;
    if (value !== undefined) {
      out += s.slice(from, amp) + value;
      from = semi + 1;
    }
    amp = s.indexOf('&', value !== undefined ? from : amp + 1);
  }
  return out + s.slice(from);
}

// ---------------------------------------------------------------------------------------------
// Tags

interface StartTag {
  name: string;
  attributes: Record<string, string>;
  selfClosing: boolean;
  /** Index just past the `>`. */
  end: number;
  /** Characters inside the tag that were skipped as garbage. */
  garbage: boolean;
}

/**
 * Reads a start tag at `lt` (`input[lt]` is `<`, `input[lt + 1]` a name start). Returns undefined
 * when it is not a tag: another `<` (also inside a quoted value) or the end of input comes first.
 */
function readStartTag(input: string, lt: number): StartTag | undefined {
  const n = input.length;
  let i = lt + 1;
  while (i < n && isNameChar(input.charCodeAt(i))) i++;
  const name = input.slice(lt + 1, i);
  const attributes: Record<string, string> = Object.create(null);
  let garbage = false;
  while (i < n) {
    const c = input.charCodeAt(i);
    if (isSpace(c)) {
      i++;
    } else if (c === GT) {
      return { name, attributes, selfClosing: false, end: i + 1, garbage };
    } else if (c === SLASH && i + 1 < n && input.charCodeAt(i + 1) === GT) {
      return { name, attributes, selfClosing: true, end: i + 2, garbage };
    } else if (c === LT) {
      return undefined;
    } else if (isNameStart(c)) {
      const nameStart = i;
      while (i < n && isNameChar(input.charCodeAt(i))) i++;
      const attrName = input.slice(nameStart, i);
      while (i < n && isSpace(input.charCodeAt(i))) i++;
      let value = '';
      if (i < n && input.charCodeAt(i) === EQUALS) {
        i++;
        while (i < n && isSpace(input.charCodeAt(i))) i++;
        const q = i < n ? input.charCodeAt(i) : 0;
        if (q === DQUOTE || q === SQUOTE) {
          const valueStart = i + 1;
          i = valueStart;
          while (i < n && input.charCodeAt(i) !== q) {
            if (input.charCodeAt(i) === LT) return undefined;
            i++;
          }
          if (i >= n) return undefined;
          value = input.slice(valueStart, i);
          i++;
        } else {
          const valueStart = i;
          while (i < n) {
            const v = input.charCodeAt(i);
            if (isSpace(v) || v === GT || v === LT || (v === SLASH && i + 1 < n && input.charCodeAt(i + 1) === GT)) break;
            i++;
          }
          value = input.slice(valueStart, i);
          garbage = true; // unquoted value
        }
      } else {
        garbage = true; // attribute without a value
      }
      if (!Object.hasOwn(attributes, attrName)) attributes[attrName] = decodeEntities(value);
    } else {
      garbage = true;
      i++;
    }
  }
  return undefined;
}

/** Reads an end tag at `lt` (`</name >`); returns the name and the index past `>`, or undefined. */
function readEndTag(input: string, lt: number): { name: string; end: number } | undefined {
  const n = input.length;
  let i = lt + 2;
  if (i >= n || !isNameStart(input.charCodeAt(i))) return undefined;
  while (i < n && isNameChar(input.charCodeAt(i))) i++;
  const name = input.slice(lt + 2, i);
  while (i < n && isSpace(input.charCodeAt(i))) i++;
  if (i >= n || input.charCodeAt(i) !== GT) return undefined;
  return { name, end: i + 1 };
}

/** Skips a declaration or processing instruction body: past the next `>`, or up to a `<`, or to the end. */
function skipToGt(input: string, from: number): number {
  for (let i = from; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === GT) return i + 1;
    if (c === LT) return i;
  }
  return input.length;
}

/**
 * `input.indexOf(needle, from)` for increasing `from`, remembering the last answer so that repeated
 * searches (many unterminated comments) scan the input once in total rather than once per search.
 */
class Finder {
  readonly #input: string;
  readonly #needle: string;
  #pos = -2; // -2: never searched
  #searchedFrom = 0;

  constructor(input: string, needle: string) {
    this.#input = input;
    this.#needle = needle;
  }

  next(from: number): number {
    if (this.#pos >= from) return this.#pos;
    if (this.#pos === -1 && this.#searchedFrom <= from) return -1;
    this.#searchedFrom = from;
    this.#pos = this.#input.indexOf(this.#needle, from);
    return this.#pos;
  }
}

// ---------------------------------------------------------------------------------------------
// The reader

function err(error: XmlErrorCode, message: string): XmlResult {
  return { ok: false, error, message };
}

/** Reads `input` into an element tree; see the file comment for what is repaired. Never throws. */
export function parseXml(input: string, limits: Partial<XmlLimits> = {}): XmlResult {
  const maxLength = limits.maxLength ?? DEFAULT_XML_LIMITS.maxLength;
  const maxDepth = limits.maxDepth ?? DEFAULT_XML_LIMITS.maxDepth;
  const maxElements = limits.maxElements ?? DEFAULT_XML_LIMITS.maxElements;
  if (input.length > maxLength) return err('too-long', `input of ${input.length} characters exceeds ${maxLength}`);

  const n = input.length;
  let i = 0;
  if (input.charCodeAt(0) === 0xfeff) i = 1;
  const decl = input.slice(i, i + 4096).search(/<\?xml/i);
  if (decl > 0) i += decl;

  const stack: XmlElement[] = [];
  const lowerNames: string[] = []; // lower-cased name of each open element
  const starts: number[] = []; // offset of each open element's `<`
  const commentEnd = new Finder(input, '-->');
  const cdataEnd = new Finder(input, ']]>');
  let root: XmlElement | undefined;
  let elements = 0;
  let repairs = 0;
  let rootClosed = false;

  // Text is gathered as runs of the input (plain text, literal `<`, stray end tags are adjacent) and
  // decoded once per run, so a body of a million stray `<` is one string, not a million pieces.
  let runStart = -1;
  let runEnd = -1;
  const flush = (): void => {
    if (runStart < 0) return;
    if (stack.length > 0) stack[stack.length - 1].text += decodeEntities(input.slice(runStart, runEnd));
    runStart = -1;
  };
  const addText = (from: number, to: number): void => {
    if (runStart >= 0 && from !== runEnd) flush();
    if (runStart < 0) runStart = from;
    runEnd = to;
  };

  while (i < n) {
    const lt = input.indexOf('<', i);
    if (lt < 0) {
      addText(i, n);
      break;
    }
    if (lt > i) addText(i, lt);
    i = lt;
    const c = lt + 1 < n ? input.charCodeAt(lt + 1) : 0;

    if (c === BANG) {
      if (input.startsWith('<!--', lt)) {
        flush();
        const end = commentEnd.next(lt + 4);
        i = end >= 0 ? end + 3 : skipToGt(input, lt + 4); // unterminated: treat as `<!…>`
        continue;
      }
      if (input.startsWith('<![CDATA[', lt)) {
        flush();
        const end = cdataEnd.next(lt + 9);
        if (stack.length > 0) stack[stack.length - 1].text += input.slice(lt + 9, end < 0 ? n : end);
        i = end < 0 ? n : end + 3;
        continue;
      }
      if (lt + 2 < n && isNameStart(input.charCodeAt(lt + 2))) {
        flush();
        i = skipToGt(input, lt + 2); // DOCTYPE and other declarations
        continue;
      }
    } else if (c === QUESTION) {
      flush();
      i = skipToGt(input, lt + 2); // `<?xml …?>` and other processing instructions
      continue;
    } else if (c === SLASH) {
      const tag = readEndTag(input, lt);
      if (tag) {
        i = tag.end;
        const lower = tag.name.toLowerCase();
        let k = stack.length - 1;
        while (k >= 0 && lowerNames[k] !== lower) k--;
        if (k < 0) {
          addText(lt, tag.end); // matches nothing open: text
          repairs++;
          continue;
        }
        flush();
        if (k < stack.length - 1) {
          repairs++;
          if (looksLikeText(stack, k)) {
            const parent = stack[k];
            parent.children.pop();
            parent.text += decodeEntities(input.slice(starts[k + 1], lt));
          }
        }
        stack.length = k;
        lowerNames.length = k;
        starts.length = k;
        if (k === 0) {
          rootClosed = true;
          break;
        }
        continue;
      }
    } else if (isNameStart(c)) {
      const tag = readStartTag(input, lt);
      if (tag) {
        flush();
        if (tag.garbage) repairs++;
        if (++elements > maxElements) return err('too-many-elements', `more than ${maxElements} elements`);
        // MANSCDP never nests an element in one of the same name: `<Item>` while an Item is open
        // means its end tag is missing, so close it there (the root excepted).
        const lower = tag.name.toLowerCase();
        let same = stack.length - 1;
        while (same > 0 && lowerNames[same] !== lower) same--;
        if (same > 0) {
          stack.length = same;
          lowerNames.length = same;
          starts.length = same;
          repairs++;
        }
        if (stack.length >= maxDepth) return err('too-deep', `nesting deeper than ${maxDepth}`);
        const el: XmlElement = { name: tag.name, attributes: tag.attributes, children: [], text: '' };
        if (stack.length > 0) stack[stack.length - 1].children.push(el);
        else root = el;
        i = tag.end;
        if (tag.selfClosing) {
          if (stack.length === 0) {
            rootClosed = true;
            break;
          }
        } else {
          stack.push(el);
          lowerNames.push(lower);
          starts.push(lt);
        }
        continue;
      }
    }
    // Not markup: a literal `<`.
    addText(lt, lt + 1);
    if (stack.length > 0) repairs++;
    i = lt + 1;
  }
  flush();

  if (!root) return err('no-root', 'no element found');
  const truncated = !rootClosed;
  if (truncated) repairs++;
  return { ok: true, root, repairs, truncated };
}

/**
 * Whether the elements left open above `stack[k]` when it is closed are an unescaped `<word>` in
 * its text rather than real children: they form a single chain (each the only child of the one
 * below, the last with no children) that is the only child of `stack[k]`.
 */
function looksLikeText(stack: XmlElement[], k: number): boolean {
  for (let j = k; j < stack.length - 1; j++) if (stack[j].children.length !== 1) return false;
  return stack[stack.length - 1].children.length === 0;
}

// ---------------------------------------------------------------------------------------------
// Reading the tree

/** The lower-cased local name (without a namespace prefix) used for case-insensitive lookups. */
export function localName(name: string): string {
  return name.slice(name.lastIndexOf(':') + 1).toLowerCase();
}

/** The first child named `name` (case-insensitive, prefix ignored). */
export function childElement(el: XmlElement, name: string): XmlElement | undefined {
  const want = name.toLowerCase();
  for (const c of el.children) if (localName(c.name) === want) return c;
  return undefined;
}

/** All children named `name` (case-insensitive, prefix ignored). */
export function childElements(el: XmlElement, name: string): XmlElement[] {
  const want = name.toLowerCase();
  return el.children.filter((c) => localName(c.name) === want);
}

/** An attribute by name, case-insensitive. */
export function attributeValue(el: XmlElement, name: string): string | undefined {
  if (Object.hasOwn(el.attributes, name)) return el.attributes[name];
  const want = name.toLowerCase();
  for (const key of Object.keys(el.attributes)) if (key.toLowerCase() === want) return el.attributes[key];
  return undefined;
}
