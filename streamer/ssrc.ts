/** The SDP y= value (up to 10 decimal digits, devices may pad with zeros) as the 32-bit RTP SSRC. */
export function parseSsrc(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}
