/**
 * The device side of an INVITE's SDP: what the platform's offer asks for (where to send, over what,
 * with which SSRC) and the answer a GB28181 camera gives. The offer is read with the same tolerant
 * reader the platform uses for answers (common/sip/sdp.ts); anything we cannot act on is refused
 * with a reason, which the caller turns into a 488.
 */
import { isIP } from 'node:net';
import { parseAnswer } from '../../common/sip/sdp.ts';
import { parseSsrcText, ssrcText } from '../../common/sip/ssrc.ts';
import type { MediaTransport } from '../media/stream.ts';

/** What the offer asks the device to do. */
export interface MediaPlan {
  /** udp: send to host:port; tcp-connect: dial host:port (the platform listens); tcp-listen: the platform dials us. */
  transport: MediaTransport;
  /** The offer's c= address and m= port (unused for tcp-listen). */
  host: string;
  port: number;
  /** RTP payload type for PS (96 unless the offer maps PS to another). */
  payloadType: number;
  /** The SSRC to send with: the offer's y=, else the one in the Subject header, else 0. */
  ssrc: number;
  /** The SSRC text as offered (y= or Subject), undefined when there was none. */
  ssrcText: string | undefined;
  /** s= of the offer (Play, Playback, Download), echoed in the answer. */
  sessionName: string;
  /** t= of the offer, echoed in the answer. */
  time: string;
  /** Oddities of the offer that did not stop us (for the log). */
  problems: string[];
}

export type OfferResult = { ok: true; plan: MediaPlan } | { ok: false; reason: string };

/**
 * Reads an offer. `subject` is the INVITE's Subject header (`{channelId}:{ssrc},{serverId}:0`),
 * used for the SSRC when the SDP has no usable y=. Never throws.
 */
export function readOffer(sdp: string, subject?: string): OfferResult {
  const o = parseAnswer(sdp);
  if (o.mediaType === undefined) return { ok: false, reason: o.problems.find((p) => p.startsWith('no m=')) ?? 'no m=video line' };
  let transport: MediaTransport;
  if (o.transport === 'tcp') {
    // a=setup of the platform: passive = it listens (we dial), active = it dials us. GB platforms
    // that leave it out mean passive, the common mode.
    transport = o.setup === 'active' ? 'tcp-listen' : 'tcp-connect';
  } else {
    transport = 'udp';
  }
  const host = o.connectionIp ?? '';
  const port = o.mediaPort ?? 0;
  if (transport !== 'tcp-listen') {
    if (isIP(host) === 0) return { ok: false, reason: host === '' ? 'no c= address' : `c= address is not an IP address: ${host.slice(0, 64)}` };
    if (port === 0) return { ok: false, reason: 'no usable m= port' };
  }
  const ps = o.rtpmap.find((r) => r.encoding.toUpperCase() === 'PS');
  let payloadType: number;
  if (ps && o.payloadTypes.includes(ps.payloadType)) payloadType = ps.payloadType;
  else if (o.payloadTypes.includes(96) && !o.rtpmap.some((r) => r.payloadType === 96)) payloadType = 96;
  else if (ps) payloadType = ps.payloadType;
  else return { ok: false, reason: 'the offer has no PS/90000 payload' };

  let ssrc = 0;
  let offered: string | undefined;
  if (o.ssrcNumber !== undefined) {
    ssrc = o.ssrcNumber;
    offered = /^\d+/.exec(o.ssrc ?? '')?.[0];
  } else {
    const fromSubject = subjectSsrc(subject);
    if (fromSubject !== undefined) {
      ssrc = fromSubject.number;
      offered = fromSubject.text;
    }
  }
  const time = o.time ? `${o.time.start} ${o.time.stop}` : '0 0';
  const sessionName = o.sessionName && /^[A-Za-z]{1,16}$/.test(o.sessionName) ? o.sessionName : 'Play';
  return { ok: true, plan: { transport, host, port, payloadType, ssrc, ssrcText: offered, sessionName, time, problems: o.problems } };
}

/** The SSRC in a Subject header `{channelId}:{ssrc},{serverId}:0`. */
function subjectSsrc(subject: string | undefined): { text: string; number: number } | undefined {
  if (typeof subject !== 'string' || subject.length > 256) return undefined;
  const m = /^[^:,]*:(\d{1,10})\s*,/.exec(subject.trim());
  if (!m) return undefined;
  const n = parseSsrcText(m[1]);
  return n === undefined ? undefined : { text: m[1], number: n };
}

export interface AnswerOptions {
  /** o= user name (the device ID). */
  username: string;
  /** Our media address (c= and o=). */
  ip: string;
  /** Our media port: the source port (udp, tcp-connect) or the listening port (tcp-listen). */
  port: number;
  transport: MediaTransport;
  payloadType: number;
  sessionName: string;
  time: string;
  /** The y= value to write, or undefined for no y= line. */
  y: string | undefined;
}

/** The camera's SDP answer: CRLF lines and a final line break, like the offers devices accept. */
export function buildAnswer(a: AnswerOptions): string {
  const family = isIP(a.ip);
  if (family === 0) throw new TypeError(`SDP answer needs an IP address, got ${JSON.stringify(a.ip)}`);
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new RangeError(`bad media port ${a.port}`);
  const addr = `IN IP${family} ${a.ip}`;
  const tcp = a.transport !== 'udp';
  const lines = [
    'v=0',
    `o=${a.username} 0 0 ${addr}`,
    `s=${a.sessionName}`,
    `c=${addr}`,
    `t=${a.time}`,
    `m=video ${a.port} ${tcp ? 'TCP/RTP/AVP' : 'RTP/AVP'} ${a.payloadType}`,
    'a=sendonly',
    `a=rtpmap:${a.payloadType} PS/90000`,
  ];
  // We dial the platform (it said passive) → we are active; it dials us → we are passive.
  if (tcp) lines.push(a.transport === 'tcp-connect' ? 'a=setup:active' : 'a=setup:passive', 'a=connection:new');
  if (a.y !== undefined) lines.push(`y=${a.y}`);
  lines.push('f=');
  return lines.join('\r\n') + '\r\n';
}

/**
 * The y= text of the answer: the offered text as is (a normal camera echoes it), zero-padded to 10
 * digits with `padded`, or our own SSRC with `foreign` (undefined: no y= line).
 */
export function answerY(plan: MediaPlan, o: { noY?: boolean; padded?: boolean; foreign?: number }): string | undefined {
  if (o.noY) return undefined;
  if (o.foreign !== undefined) return ssrcText(o.foreign);
  if (o.padded || plan.ssrcText === undefined) return ssrcText(plan.ssrc);
  return plan.ssrcText;
}
