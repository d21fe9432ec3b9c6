/**
 * G.711 encoders (ITU-T G.711: A-law and µ-law companding of 16-bit linear PCM) and a tone
 * generator that cameras-in-tests use as their microphone.
 */

/** Encodes one 16-bit linear sample (-32768..32767) to an A-law byte. */
export function linearToAlaw(sample: number): number {
  // A-law works on 13-bit magnitudes; the sign goes to bit 7 and even bits are inverted (0x55).
  let mag = sample >> 3;
  let sign: number;
  if (mag >= 0) {
    sign = 0x80;
  } else {
    sign = 0;
    mag = -mag - 1;
  }
  let code: number;
  if (mag < 32) {
    // Segments 0 and 1 share a step of 2 (linear part of the curve).
    code = mag >> 1;
  } else {
    // Segment = position of the highest set bit above bit 4 (1..7), mantissa = the 4 bits below it.
    let seg = 1;
    while (seg < 8 && mag >= 32 << seg) seg++;
    if (seg >= 8) code = 0x7f;
    else code = (seg << 4) | ((mag >> seg) & 0x0f);
  }
  return (code | sign) ^ 0x55;
}

/** Encodes one 16-bit linear sample to a µ-law byte. */
export function linearToUlaw(sample: number): number {
  // µ-law works on 14-bit magnitudes with a bias of 33 so every segment starts at a power of two.
  // Negative samples use the one's complement, as the ITU-T G.191 reference encoder does.
  let mag: number;
  let sign = 0;
  if (sample < 0) {
    sign = 0x80;
    mag = ~sample >> 2;
  } else {
    mag = sample >> 2;
  }
  if (mag > 8158) mag = 8158;
  mag += 33;
  let seg = 0;
  while (seg < 7 && mag >= 64 << seg) seg++;
  const code = (seg << 4) | ((mag >> (seg + 1)) & 0x0f);
  return (sign | code) ^ 0xff;
}

export type G711Codec = 'pcma' | 'pcmu';

/**
 * One second of a sine tone at 8 kHz, G.711-encoded. A whole number of hertz fits a whole number of
 * periods into one second, so the buffer loops seamlessly and 20/40 ms frames can be views into it.
 */
export function g711Tone(codec: G711Codec, frequencyHz = 1000, amplitude = 0.3): Buffer {
  const out = Buffer.allocUnsafe(8000);
  const encode = codec === 'pcma' ? linearToAlaw : linearToUlaw;
  const peak = Math.round(32767 * Math.min(1, Math.max(0, amplitude)));
  for (let i = 0; i < 8000; i++) {
    out[i] = encode(Math.round(peak * Math.sin((2 * Math.PI * frequencyHz * i) / 8000)));
  }
  return out;
}
