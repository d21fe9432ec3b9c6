/**
 * ADTS (ISO/IEC 13818-7 §6.2 / 14496-3 §1.A.2): the self-synchronising header in front of each AAC
 * frame in a byte stream, and the 2-byte AudioSpecificConfig (14496-3 §1.6.2.1) that FLV, RTMP and MP4
 * carry instead of it.
 */

/** Sampling frequencies by sampling_frequency_index (14496-3 table 1.18); 13 and 14 are reserved. */
export const AAC_SAMPLE_RATES: readonly number[] = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/** Samples per channel in one AAC-LC frame. */
export const AAC_FRAME_SAMPLES = 1024;

export interface AdtsHeader {
  /** 4 for MPEG-4, 2 for MPEG-2 (ID bit set); the payload is the same. */
  mpegVersion: 2 | 4;
  /** audio object type = ADTS profile + 1 (2 = AAC LC). */
  audioObjectType: number;
  samplingFrequencyIndex: number;
  sampleRate: number;
  channelConfig: number;
  /** 7 without CRC, 9 with. */
  headerLength: number;
  /** aac_frame_length: the whole ADTS frame, header included. */
  frameLength: number;
  /** number_of_raw_data_blocks_in_frame + 1 */
  rawBlocks: number;
}

export function newAdtsHeader(): AdtsHeader {
  return {
    mpegVersion: 4,
    audioObjectType: 0,
    samplingFrequencyIndex: 0,
    sampleRate: 0,
    channelConfig: 0,
    headerLength: 7,
    frameLength: 0,
    rawBlocks: 1,
  };
}

/**
 * Reads the ADTS header at buf[offset]. Returns false when the bytes there are not a valid header
 * (no syncword, reserved values, a frame length shorter than its header) or are cut short.
 * Fills `out` to avoid an allocation per frame; the frame itself may extend past `end`
 * (check `offset + out.frameLength <= end` before using its payload).
 */
export function readAdtsHeader(buf: Uint8Array, offset: number, out: AdtsHeader, end: number = buf.length): boolean {
  if (offset < 0 || offset + 7 > end) return false;
  const b1 = buf[offset + 1];
  if (buf[offset] !== 0xff || (b1 & 0xf6) !== 0xf0) return false; // syncword, layer == 0
  const b2 = buf[offset + 2];
  const b3 = buf[offset + 3];
  const sfi = (b2 >> 2) & 0x0f;
  if (sfi >= AAC_SAMPLE_RATES.length) return false;
  const headerLength = b1 & 1 ? 7 : 9;
  const frameLength = ((b3 & 0x03) << 11) | (buf[offset + 4] << 3) | (buf[offset + 5] >> 5);
  if (frameLength < headerLength) return false;
  out.mpegVersion = b1 & 0x08 ? 2 : 4;
  out.audioObjectType = (b2 >> 6) + 1;
  out.samplingFrequencyIndex = sfi;
  out.sampleRate = AAC_SAMPLE_RATES[sfi];
  out.channelConfig = ((b2 & 1) << 2) | (b3 >> 6);
  out.headerLength = headerLength;
  out.frameLength = frameLength;
  out.rawBlocks = (buf[offset + 6] & 0x03) + 1;
  return true;
}

/** Convenience form of readAdtsHeader that allocates its result; null when invalid. */
export function parseAdtsHeader(buf: Uint8Array, offset = 0): AdtsHeader | null {
  const h = newAdtsHeader();
  return readAdtsHeader(buf, offset, h) ? h : null;
}

/**
 * AudioSpecificConfig for an ADTS stream: audioObjectType (5 bits), samplingFrequencyIndex (4),
 * channelConfiguration (4), then GASpecificConfig with frameLengthFlag, dependsOnCoreCoder and
 * extensionFlag all 0 (1024-sample frames).
 */
export function audioSpecificConfig(h: Pick<AdtsHeader, 'audioObjectType' | 'samplingFrequencyIndex' | 'channelConfig'>): Buffer {
  const v = (h.audioObjectType << 11) | (h.samplingFrequencyIndex << 7) | (h.channelConfig << 3);
  return Buffer.of(v >> 8, v & 0xff);
}
