/**
 * Device quirks the simulator can reproduce (`--quirk a,b`), each one a behaviour seen in the field
 * (see the GB28181 field notes). Signalling quirks are applied by the device; media quirks map onto
 * the PS muxer's switches and RTP options of camera/media.
 */
import type { PsQuirks } from '../media/ps-muxer.ts';

export const QUIRKS = {
  ssrc0: 'RTP packets carry SSRC 0 whatever was negotiated (many Dahua cameras)',
  'padded-y': 'the SDP answer writes y= zero-padded to 10 digits even when the offer wrote fewer',
  'no-y': 'the SDP answer has no y= line',
  'foreign-y': 'the SDP answer carries an SSRC of the device\'s own choosing, and the RTP uses it (2022 Appendix G)',
  'no-psm': 'PS without a program stream map (the receiver must sniff the codec)',
  'psm-once': 'the program stream map only with the first keyframe',
  'private-stream': 'Hikvision private stream (0xBD PES, HK descriptors in the PSM)',
  'pes-length-zero': 'video PES packets with length 0 (unbounded)',
  'lying-psm': 'the PSM declares H.264 whatever the video is',
  'audio-no-pack-header': 'audio PES packets without a pack header of their own',
  'psm-crc-le': 'the PSM CRC stored little-endian',
  interleaved: 'RTP over TCP with RTSP-style $ framing instead of RFC 4571',
  'unescaped-amp': 'catalog Address fields carry a raw & (broken XML)',
  'broken-catalog-item': 'the first catalog item has no DeviceID (a malformed item the platform must skip while still counting it toward SumNum)',
  'no-media': 'INVITE answered 200 but no media is ever sent',
} as const;

export type Quirk = keyof typeof QUIRKS;

export function isQuirk(name: string): name is Quirk {
  return Object.hasOwn(QUIRKS, name);
}

/** Splits `a,b c` into quirk names; unknown names come back in `unknown`. */
export function parseQuirkList(text: string): { quirks: Set<Quirk>; unknown: string[] } {
  const quirks = new Set<Quirk>();
  const unknown: string[] = [];
  for (const raw of text.split(/[\s,]+/)) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    if (isQuirk(name)) quirks.add(name);
    else unknown.push(raw);
  }
  return { quirks, unknown };
}

/** The PS muxer switches for a set of quirks. */
export function psQuirksOf(quirks: ReadonlySet<Quirk>): PsQuirks {
  return {
    noPsm: quirks.has('no-psm'),
    psmOnce: quirks.has('psm-once'),
    privateStream: quirks.has('private-stream'),
    videoPesLengthZero: quirks.has('pes-length-zero'),
    lyingPsm: quirks.has('lying-psm'),
    audioWithoutPackHeader: quirks.has('audio-no-pack-header'),
    psmCrcLittleEndian: quirks.has('psm-crc-le'),
  };
}

/** One line per quirk, for `--help` and the README. */
export function describeQuirks(): string {
  return Object.entries(QUIRKS)
    .map(([name, what]) => `${name}: ${what}`)
    .join('; ');
}
