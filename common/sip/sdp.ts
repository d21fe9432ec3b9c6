/**
 * The SDP of a GB28181 INVITE: the offer we send (Play, Playback, Download) and a tolerant reader of
 * the device's answer. Pure text in, text or plain objects out; no I/O.
 */
import { isIP } from 'node:net';
import { parseSsrcText, ssrcText } from './ssrc.ts';

/** How the media reaches us: UDP, TCP with us listening (passive) or TCP with us dialing the device (active). */
export type MediaTransport = 'udp' | 'tcp-passive' | 'tcp-active';
export type SessionName = 'Play' | 'Playback' | 'Download';

/** Longest SDP answer read (characters); longer ones are refused unread. */
export const MAX_SDP_LENGTH = 16 * 1024;

export interface PlayOfferOptions {
  channelId: string;
  /** Where the device sends the media (the streamer's address): IPv4, or IPv6. */
  mediaIp: string;
  mediaPort: number;
  /** The SSRC, 1–10 digits; written zero-padded to 10 digits. */
  ssrc: string;
  transport: MediaTransport;
  /** Default 'Play'. Playback and Download need startTime and endTime. */
  sessionName?: SessionName;
  /** Playback / Download: start and end of the recording, epoch seconds (the `t=` line). */
  startTime?: number;
  endTime?: number;
  /** Download: the speed factor asked of the device (`a=downloadspeed:`). */
  downloadSpeed?: number;
  /** Vendor sub-stream selection and the like, written as `a=` lines, e.g. 'streamnumber:1'. */
  extraAttributes?: readonly string[];
}

const LINE_BREAK = '\r\n';

/** True when `s` has a control character (C0 or DEL), or any whitespace when `token` is set. */
function hasUnsafeChar(s: string, token: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return token && /\s/.test(s);
}

function assertLineSafe(name: string, value: string): void {
  // Our own values go into SDP lines: no control characters, no spaces (each is one token).
  if (value.length === 0 || hasUnsafeChar(value, true)) throw new TypeError(`SDP ${name} must be a non-empty token, got ${JSON.stringify(value)}`);
}

/**
 * The SDP offer of an INVITE, as GB/T 28181 devices expect it: CRLF line endings and a final line
 * break (some Hikvision firmwares answer 415 without it). Throws TypeError/RangeError on bad options
 * (they come from our own code, not from the network).
 */
export function buildPlayOffer(o: PlayOfferOptions): string {
  const sessionName = o.sessionName ?? 'Play';
  assertLineSafe('channelId', o.channelId);
  const family = isIP(o.mediaIp);
  if (family === 0) throw new TypeError(`SDP mediaIp must be an IP address, got ${JSON.stringify(o.mediaIp)}`);
  const addr = `IN IP${family} ${o.mediaIp}`;
  if (!Number.isInteger(o.mediaPort) || o.mediaPort < 1 || o.mediaPort > 65535) throw new RangeError(`SDP mediaPort out of range: ${o.mediaPort}`);
  const ssrcNumber = parseSsrcText(o.ssrc);
  if (ssrcNumber === undefined) throw new TypeError(`SDP ssrc must be 1–10 digits, got ${JSON.stringify(o.ssrc)}`);
  let time = '0 0';
  if (sessionName !== 'Play') {
    const { startTime: s, endTime: e } = o;
    if (s === undefined || e === undefined || !Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e <= s) {
      throw new RangeError(`${sessionName} needs integer startTime < endTime (epoch seconds), got ${s}–${e}`);
    }
    time = `${s} ${e}`;
  }
  const tcp = o.transport !== 'udp';
  const lines = [
    'v=0',
    `o=${o.channelId} 0 0 ${addr}`,
    `s=${sessionName}`,
    // Recordings name the channel in a URI line (GB/T 28181 Appendix F): {channelId}:{type}, 0 = any.
    ...(sessionName === 'Play' ? [] : [`u=${o.channelId}:0`]),
    `c=${addr}`,
    `t=${time}`,
    `m=video ${o.mediaPort} ${tcp ? 'TCP/RTP/AVP' : 'RTP/AVP'} 96 97 98`,
    'a=recvonly',
    'a=rtpmap:96 PS/90000',
    'a=rtpmap:97 MPEG4/90000',
    'a=rtpmap:98 H264/90000',
  ];
  if (tcp) {
    lines.push(o.transport === 'tcp-passive' ? 'a=setup:passive' : 'a=setup:active', 'a=connection:new');
  }
  if (sessionName === 'Download' && o.downloadSpeed !== undefined) {
    if (!Number.isInteger(o.downloadSpeed) || o.downloadSpeed < 1 || o.downloadSpeed > 64) throw new RangeError(`bad downloadSpeed ${o.downloadSpeed}`);
    lines.push(`a=downloadspeed:${o.downloadSpeed}`);
  }
  for (const a of o.extraAttributes ?? []) {
    if (a.length === 0 || hasUnsafeChar(a, false)) throw new TypeError(`bad extra SDP attribute ${JSON.stringify(a)}`);
    lines.push(`a=${a}`);
  }
  lines.push(`y=${ssrcText(ssrcNumber)}`, 'f=');
  return lines.join(LINE_BREAK) + LINE_BREAK;
}

/** The Subject header of an INVITE: `{channelId}:{ssrc},{serverId}:0`. */
export function subjectHeader(channelId: string, ssrc: string, serverId: string): string {
  return `${channelId}:${ssrc},${serverId}:0`;
}

export interface SdpRtpMap {
  payloadType: number;
  encoding: string;
  clockRate?: number;
  channels?: number;
}

export interface SdpAttribute {
  name: string;
  value?: string;
}

export type SdpDirection = 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive';

/** What a device's SDP answer says; every field optional because devices omit anything. */
export interface SdpAnswer {
  sessionName?: string;
  /** o= user name (the device or channel ID) and address. */
  origin?: { username: string; address?: string };
  /** The c= address of the chosen media (media level, else session level), as text (IPv6 kept as is). */
  connectionIp?: string;
  /** 'IP4', 'IP6' or whatever the device wrote. */
  connectionAddressType?: string;
  /** The chosen m= line: its media type, port and protocol text. */
  mediaType?: string;
  mediaPort?: number;
  protocol?: string;
  /** 'tcp' when the protocol mentions TCP (TCP/RTP/AVP), else 'udp'. */
  transport?: 'udp' | 'tcp';
  /** a=setup of the device: 'active' = it dials us, 'passive' = it listens. */
  setup?: 'active' | 'passive';
  connection?: 'new' | 'existing';
  direction?: SdpDirection;
  payloadTypes: number[];
  rtpmap: SdpRtpMap[];
  /** The y= text as sent (trimmed), and its number when it starts with 1–10 digits ≤ 0xFFFFFFFF. */
  ssrc?: string;
  ssrcNumber?: number;
  /** t= start and stop (epoch seconds; 0 0 for live). */
  time?: { start: number; stop: number };
  /** The f= text. */
  format?: string;
  /** Every a= line of the session and of the chosen media, in order (vendor extras: streamnumber, filesize, …). */
  attributes: SdpAttribute[];
  /** What was odd or unusable; empty for a clean answer. Parsing never throws. */
  problems: string[];
}

export interface ParseAnswerOptions {
  /** Which m= line to read: the first of this media type (default 'video'). */
  media?: string;
}

interface Section {
  mediaType?: string;
  mediaLine?: string;
  connection?: string;
  y?: string;
  attributes: SdpAttribute[];
}

const KNOWN_TYPES = 'vosiuepcbtrzkamyf';

/**
 * Reads a device's SDP answer. Tolerant: LF, CRLF or CR line breaks, blank lines, spaces around '=',
 * lines without '=' and unknown lines (noted in `problems` where odd), several m= sections (the first
 * of the wanted media type is used), c= at media level overriding the session level, a missing y= or
 * one with trailing junk. Refuses input over 16 KiB. Never throws.
 */
export function parseAnswer(sdp: string, options: ParseAnswerOptions = {}): SdpAnswer {
  const wanted = (options.media ?? 'video').toLowerCase();
  const out: SdpAnswer = { payloadTypes: [], rtpmap: [], attributes: [], problems: [] };
  if (typeof sdp !== 'string') {
    out.problems.push('SDP is not text');
    return out;
  }
  if (sdp.length > MAX_SDP_LENGTH) {
    out.problems.push(`SDP longer than ${MAX_SDP_LENGTH} characters: refused`);
    return out;
  }
  const session: Section = { attributes: [] };
  const media: Section[] = [];
  let current = session;
  let sawVersion = false;
  const lines = sdp.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1).trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) {
      out.problems.push(`line ${i + 1} has no '=': ${clip(line)}`);
      continue;
    }
    const type = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (type.length !== 1 || !KNOWN_TYPES.includes(type)) {
      out.problems.push(`line ${i + 1} of unknown type: ${clip(line)}`);
      continue;
    }
    switch (type) {
      case 'v':
        sawVersion = true;
        if (value !== '0') out.problems.push(`unexpected version v=${clip(value)}`);
        break;
      case 'o':
        if (out.origin === undefined) {
          const f = value.split(/\s+/);
          out.origin = f.length >= 6 ? { username: f[0], address: f[5] } : { username: f[0] };
        }
        break;
      case 's':
        if (out.sessionName === undefined) out.sessionName = value;
        break;
      case 't':
        if (out.time === undefined) {
          const m = /^(\d{1,15})\s+(\d{1,15})$/.exec(value);
          if (m) out.time = { start: Number(m[1]), stop: Number(m[2]) };
          else out.problems.push(`bad t= line: ${clip(value)}`);
        }
        break;
      case 'm':
        current = { mediaType: value.split(/\s+/)[0].toLowerCase(), mediaLine: value, attributes: [] };
        media.push(current);
        break;
      case 'c':
        if (current.connection === undefined) current.connection = value;
        break;
      case 'a': {
        const colon = value.indexOf(':');
        current.attributes.push(colon < 0 ? { name: value } : { name: value.slice(0, colon).trim(), value: value.slice(colon + 1).trim() });
        break;
      }
      case 'y':
        if (current.y === undefined) current.y = value;
        else out.problems.push(`second y= ignored: ${clip(value)}`);
        break;
      case 'f':
        if (out.format === undefined) out.format = value;
        break;
      default:
        break; // i=, u=, e=, p=, b=, r=, z=, k=: nothing we need
    }
  }
  if (!sawVersion) out.problems.push('no v= line');

  const chosen = media.find((m) => m.mediaType === wanted);
  if (chosen === undefined) {
    out.problems.push(media.length === 0 ? 'no m= line' : `no m=${wanted} line`);
  } else {
    readMediaLine(chosen.mediaLine ?? '', out);
  }

  const connection = chosen?.connection ?? session.connection;
  if (connection !== undefined) readConnection(connection, out);
  else if (chosen !== undefined) out.problems.push('no c= line');

  // y= belongs after the media description, but devices put it anywhere: prefer the chosen section,
  // then the session level, then any other section.
  const y = chosen?.y ?? session.y ?? media.find((m) => m.y !== undefined)?.y;
  if (y === undefined) out.problems.push('no y= line');
  else readSsrc(y, out);

  out.attributes = chosen === undefined ? session.attributes : [...session.attributes, ...chosen.attributes];
  for (const a of out.attributes) readAttribute(a, out);
  return out;
}

function readMediaLine(line: string, out: SdpAnswer): void {
  const f = line.split(/\s+/);
  out.mediaType = f[0];
  const port = /^(\d{1,5})(?:\/\d+)?$/.exec(f[1] ?? '');
  if (port && Number(port[1]) <= 65535) {
    out.mediaPort = Number(port[1]);
    if (out.mediaPort === 0) out.problems.push('media port 0: the device refused the stream');
  } else {
    out.problems.push(`bad m= port: ${clip(line)}`);
  }
  if (f.length >= 3) {
    out.protocol = f[2];
    out.transport = /tcp/i.test(f[2]) ? 'tcp' : 'udp';
  } else {
    out.problems.push(`m= line without protocol: ${clip(line)}`);
  }
  for (let i = 3; i < f.length; i++) {
    if (/^\d{1,3}$/.test(f[i]) && Number(f[i]) <= 127) out.payloadTypes.push(Number(f[i]));
    else out.problems.push(`bad payload type in m=: ${clip(f[i])}`);
  }
}

function readConnection(value: string, out: SdpAnswer): void {
  const f = value.split(/\s+/);
  if (f.length < 3 || f[0].toUpperCase() !== 'IN') {
    out.problems.push(`bad c= line: ${clip(value)}`);
    return;
  }
  out.connectionAddressType = f[1].toUpperCase();
  const address = f[1].toUpperCase() === 'IP4' ? f[2].split('/')[0] : f[2];
  if (address === '') {
    out.problems.push(`bad c= line: ${clip(value)}`);
    return;
  }
  out.connectionIp = address;
  if (isIP(address) === 0) out.problems.push(`c= address is not an IP address: ${clip(address)}`);
}

function readSsrc(value: string, out: SdpAnswer): void {
  if (value === '') {
    out.problems.push('empty y= line');
    return;
  }
  out.ssrc = value;
  const digits = /^\d+/.exec(value)?.[0] ?? '';
  const n = digits.length > 0 ? parseSsrcText(digits) : undefined;
  if (n === undefined) {
    out.problems.push(`y= is not an SSRC: ${clip(value)}`);
    return;
  }
  out.ssrcNumber = n;
  if (digits.length !== value.length) out.problems.push(`y= has trailing text: ${clip(value)}`);
}

function readAttribute(a: SdpAttribute, out: SdpAnswer): void {
  const name = a.name.toLowerCase();
  const value = a.value?.toLowerCase();
  switch (name) {
    case 'sendonly':
    case 'recvonly':
    case 'sendrecv':
    case 'inactive':
      out.direction = name; // media level comes later and wins
      break;
    case 'setup':
      if (value === 'active' || value === 'passive') out.setup = value;
      else out.problems.push(`unexpected a=setup:${clip(a.value ?? '')}`);
      break;
    case 'connection':
      if (value === 'new' || value === 'existing') out.connection = value;
      break;
    case 'rtpmap': {
      const m = /^(\d{1,3})\s+([^/\s]+)(?:\/(\d{1,9})(?:\/(\d{1,3}))?)?/.exec(a.value ?? '');
      if (m && Number(m[1]) <= 127) {
        const map: SdpRtpMap = { payloadType: Number(m[1]), encoding: m[2] };
        if (m[3] !== undefined) map.clockRate = Number(m[3]);
        if (m[4] !== undefined) map.channels = Number(m[4]);
        out.rtpmap.push(map);
      } else {
        out.problems.push(`bad a=rtpmap:${clip(a.value ?? '')}`);
      }
      break;
    }
    default:
      break;
  }
}

/** The value of the first attribute with this name (ASCII case-insensitive); '' for a flag attribute. */
export function findAttribute(answer: Pick<SdpAnswer, 'attributes'>, name: string): string | undefined {
  const lower = name.toLowerCase();
  const a = answer.attributes.find((x) => x.name.toLowerCase() === lower);
  return a === undefined ? undefined : (a.value ?? '');
}

function clip(s: string): string {
  return JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s);
}
