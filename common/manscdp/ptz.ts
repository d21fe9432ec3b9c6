/**
 * The 8-byte PTZ command of a DeviceControl `PTZCmd` (GB/T 28181 Appendix A.3), as 16 upper-case
 * hex digits:
 *
 *   byte 0  0xA5
 *   byte 1  high nibble: version (0); low nibble: check = (0xA + 0x5 + version) % 16  → 0x0F
 *   byte 2  address, low 8 bits
 *   byte 3  command: bit 0 right, 1 left, 2 down, 3 up, 4 zoom in (tele), 5 zoom out (wide);
 *           bits 7–6 zero for PTZ moves (other values are preset, cruise, scan and focus commands);
 *           0x00 stops
 *   byte 4  pan speed 0–255
 *   byte 5  tilt speed 0–255
 *   byte 6  high nibble: zoom speed 0–15; low nibble: address, high 4 bits
 *   byte 7  checksum: sum of bytes 0–6 mod 256
 */

export type PtzPan = 'left' | 'right';
export type PtzTilt = 'up' | 'down';
export type PtzZoom = 'in' | 'out';

export interface PtzMove {
  pan?: PtzPan;
  tilt?: PtzTilt;
  zoom?: PtzZoom;
  /** Stop all movement (no direction may be given with it). */
  stop?: boolean;
  /** 0–255, required unless stopping: pan and tilt speed, scaled to 0–15 for zoom. */
  speed?: number;
  /** Device address 0–4095 (default 1; devices ignore it on GB28181). */
  address?: number;
}

const VERSION = 0;
const BYTE0 = 0xa5;
const BYTE1 = (VERSION << 4) | (((BYTE0 >> 4) + (BYTE0 & 0x0f) + VERSION) % 16);

const BIT = { right: 0x01, left: 0x02, down: 0x04, up: 0x08, in: 0x10, out: 0x20 } as const;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** Zoom speed 0–15 from a 0–255 speed; a non-zero speed never becomes 0 (the lens would not move). */
export function zoomSpeedOf(speed: number): number {
  return speed === 0 ? 0 : Math.max(1, Math.round((speed * 15) / 255));
}

/** Builds the PTZCmd hex for a move or a stop. Throws RangeError on invalid input. */
export function ptzCommand(move: PtzMove): string {
  const { pan, tilt, zoom, stop = false, address = 1 } = move;
  if (pan !== undefined && pan !== 'left' && pan !== 'right') throw new RangeError(`pan must be 'left' or 'right', got ${String(pan)}`);
  if (tilt !== undefined && tilt !== 'up' && tilt !== 'down') throw new RangeError(`tilt must be 'up' or 'down', got ${String(tilt)}`);
  if (zoom !== undefined && zoom !== 'in' && zoom !== 'out') throw new RangeError(`zoom must be 'in' or 'out', got ${String(zoom)}`);
  if (typeof stop !== 'boolean') throw new RangeError('stop must be a boolean');
  if (!Number.isInteger(address) || address < 0 || address > 0xfff) throw new RangeError(`address must be an integer 0–4095, got ${address}`);
  const moving = pan !== undefined || tilt !== undefined || zoom !== undefined;
  if (stop && moving) throw new RangeError('stop cannot be combined with a direction');
  if (!stop && !moving) throw new RangeError('give a direction (pan, tilt or zoom) or stop: true');

  let speed = 0;
  if (!stop) {
    if (move.speed === undefined || !Number.isInteger(move.speed) || move.speed < 0 || move.speed > 255) {
      throw new RangeError(`speed must be an integer 0–255, got ${String(move.speed)}`);
    }
    speed = move.speed;
  }

  const b = new Uint8Array(8);
  b[0] = BYTE0;
  b[1] = BYTE1;
  b[2] = address & 0xff;
  b[3] = (pan ? BIT[pan] : 0) | (tilt ? BIT[tilt] : 0) | (zoom ? BIT[zoom] : 0);
  b[4] = pan ? speed : 0;
  b[5] = tilt ? speed : 0;
  b[6] = ((zoom ? zoomSpeedOf(speed) : 0) << 4) | (address >> 8);
  let sum = 0;
  for (let i = 0; i < 7; i++) sum += b[i];
  b[7] = sum & 0xff;
  return hex(b);
}

/** A decoded PTZCmd (what the device simulator needs to act on a DeviceControl). */
export interface PtzDecoded {
  address: number;
  /** The command byte. */
  code: number;
  /** Whether `code` is a pan/tilt/zoom move or stop (bits 7–6 zero); otherwise pan/tilt/zoom are undefined. */
  isMove: boolean;
  stop: boolean;
  pan: PtzPan | undefined;
  tilt: PtzTilt | undefined;
  zoom: PtzZoom | undefined;
  panSpeed: number;
  tiltSpeed: number;
  zoomSpeed: number;
}

/**
 * Reads a PTZCmd from the network: undefined unless it is 16 hex digits starting A5 with a valid
 * byte-1 check and checksum. Opposite bits set together (left and right) read as no movement on
 * that axis. Never throws.
 */
export function parsePtzCommand(text: string): PtzDecoded | undefined {
  const t = text.trim();
  if (!/^[0-9A-Fa-f]{16}$/.test(t)) return undefined;
  const b = Buffer.from(t, 'hex');
  if (b[0] !== BYTE0) return undefined;
  if ((b[1] & 0x0f) !== ((BYTE0 >> 4) + (BYTE0 & 0x0f) + (b[1] >> 4)) % 16) return undefined;
  let sum = 0;
  for (let i = 0; i < 7; i++) sum += b[i];
  if ((sum & 0xff) !== b[7]) return undefined;
  const code = b[3];
  const isMove = (code & 0xc0) === 0;
  const axis = <T>(first: number, second: number, a: T, z: T): T | undefined => {
    if (!isMove) return undefined;
    const x = (code & first) !== 0;
    const y = (code & second) !== 0;
    return x === y ? undefined : x ? a : z;
  };
  const pan = axis<PtzPan>(BIT.right, BIT.left, 'right', 'left');
  const tilt = axis<PtzTilt>(BIT.down, BIT.up, 'down', 'up');
  const zoom = axis<PtzZoom>(BIT.in, BIT.out, 'in', 'out');
  return {
    address: ((b[6] & 0x0f) << 8) | b[2],
    code,
    isMove,
    stop: isMove && pan === undefined && tilt === undefined && zoom === undefined,
    pan,
    tilt,
    zoom,
    panSpeed: b[4],
    tiltSpeed: b[5],
    zoomSpeed: b[6] >> 4,
  };
}
