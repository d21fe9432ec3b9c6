/**
 * UDP receive through the native batch receiver (native/udp-batch.c): recvmmsg(2) reads up to 64
 * datagrams per syscall and JavaScript is called once per batch with all of them packed in one
 * Buffer, instead of once per datagram with a fresh Buffer and rinfo object each.
 *
 * `loadUdpBatch()` returns undefined when the addon was not built (no C compiler at build time);
 * the caller then falls back to node:dgram.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Datagrams per batch; the native side fills this many [offset, length, ipv4, port] entries at most. */
export const UDP_BATCH_SIZE = 64;

/**
 * Called once per batch. Datagram i is `buf[meta[4i] .. meta[4i] + meta[4i+1])` from IPv4 address
 * `meta[4i+2] >>> 0` (host order) and port `meta[4i+3]`. `buf` is new for every batch, so views
 * of it may be kept; `meta` is reused and must be read before returning.
 */
export type UdpBatchHandler = (buf: Buffer, count: number, meta: Int32Array) => void;

interface NativeBinding {
  open(host: string, port: number, recvBufferBytes: number, pauseMs: number, meta: Int32Array, onBatch: (buf: Buffer, count: number) => void): unknown;
  info(handle: unknown): [port: number, recvBufferBytes: number];
  close(handle: unknown): void;
  trim(): boolean;
}

let binding: NativeBinding | null | undefined;

/** Where the build puts the addon, from source (streamer/ingest) and from dist/streamer/ingest. */
const CANDIDATES = ['../../native/build/udp-batch.node', '../../../native/build/udp-batch.node'];

function loadBinding(): NativeBinding | null {
  if (binding !== undefined) return binding;
  binding = null;
  const require = createRequire(import.meta.url);
  for (const rel of CANDIDATES) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(file)) {
      binding = require(file) as NativeBinding;
      break;
    }
  }
  return binding;
}

export class UdpBatchSocket {
  /** Open sockets stay reachable, as Node keeps active handles: a collected handle would close. */
  static readonly #live = new Set<UdpBatchSocket>();
  readonly #native: NativeBinding;
  readonly #handle: unknown;
  #open = true;

  private constructor(native: NativeBinding, handle: unknown) {
    this.#native = native;
    this.#handle = handle;
  }

  /**
   * Binds host:port (IPv4; port 0 picks one). Throws like bind(2) does, e.g. EADDRINUSE.
   * `pauseMs`: after emptying the socket, wait this long before reading again, so that one wake-up
   * collects many cameras' bursts (0: read as soon as anything arrives).
   */
  static open(host: string, port: number, recvBufferBytes: number, pauseMs: number, onBatch: UdpBatchHandler): UdpBatchSocket {
    const native = loadBinding();
    if (!native) throw new Error('the native UDP batch receiver is not built (scripts/build-native.sh)');
    const meta = new Int32Array(UDP_BATCH_SIZE * 4);
    const handle = native.open(host, port, Math.min(recvBufferBytes, 0x7fffffff), pauseMs, meta, (buf, count) =>
      onBatch(buf, count, meta),
    );
    const socket = new UdpBatchSocket(native, handle);
    UdpBatchSocket.#live.add(socket);
    return socket;
  }

  get port(): number {
    return this.#native.info(this.#handle)[0];
  }

  /** SO_RCVBUF the kernel granted (as asked, without Linux's doubling). */
  get recvBufferBytes(): number {
    return this.#native.info(this.#handle)[1];
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    UdpBatchSocket.#live.delete(this);
    this.#native.close(this.#handle);
  }
}

/**
 * malloc_trim(3): returns the C heap's free pages to the kernel. Buffers of media churn through
 * malloc thousands of times a second and glibc keeps what they leave behind resident; trimming
 * every few seconds keeps RSS near what is really in use. A no-op without the addon.
 */
export function trimNativeHeap(): boolean {
  return loadBinding()?.trim() ?? false;
}

/** True when the native receiver can be used. */
export function udpBatchAvailable(): boolean {
  return loadBinding() !== null;
}

/** "a.b.c.d" from an IPv4 address as the native receiver reports it. */
export function formatIPv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** The inverse of formatIPv4; -1 for anything that is not a dotted IPv4 address. */
export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return -1;
    const n = Number(part);
    if (n > 255) return -1;
    value = value * 256 + n;
  }
  return value;
}
