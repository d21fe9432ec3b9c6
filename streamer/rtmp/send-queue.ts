/**
 * The publisher's send queue and its decisions, with no I/O: which tags to send, which to drop.
 *
 * - Bounded in bytes: the queue plus whatever the socket still holds (`inFlight`) stays under
 *   `maxBytes`. On overflow every queued media tag is dropped (headers are kept) and media resumes at
 *   the next video keyframe, so the server never gets a frame whose reference was dropped.
 * - After each (re)publish the queue restarts with the header tags (metadata, sequence headers) and
 *   waits for a video keyframe before media, when the stream has video. Audio-only streams pass.
 */
import type { RtmpMediaTag } from './types.ts';

export type OfferResult = 'queued' | 'dropped';

/**
 * An upper bound of the bytes a tag costs on the wire: the body (plus `@setDataFrame` for script
 * data), the largest first chunk header (18 bytes) and the largest continuation header (7 bytes)
 * per extra chunk. Counting this, rather than the tag size, keeps queue + socket under the limit.
 */
export function wireCost(tag: RtmpMediaTag, chunkSize: number): number {
  const payload = tag.data.length - 15 + (tag.type === 18 ? 16 : 0);
  return payload + 18 + 7 * Math.floor(Math.max(0, payload - 1) / chunkSize);
}

export class SendQueue {
  readonly maxBytes: number;
  readonly chunkSize: number;
  /** Tags dropped (not counting headers offered while no publish is running). */
  drops = 0;
  private items: RtmpMediaTag[] = [];
  private head = 0;
  private bytesValue = 0;
  private awaitKeyframe = true;
  private hasVideo = false;

  constructor(maxBytes: number, chunkSize = 128) {
    this.maxBytes = maxBytes;
    this.chunkSize = chunkSize;
  }

  /** Bytes of the tags waiting in the queue. */
  get bytes(): number {
    return this.bytesValue;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** True while media waits for the next video keyframe. */
  get waitingForKeyframe(): boolean {
    return this.awaitKeyframe && this.hasVideo;
  }

  /**
   * A new publish: drop whatever is queued (counted), queue the headers and the backlog (media from
   * the latest keyframe on), then go on with live media (or wait for a keyframe if there was none).
   * Returns the number of media tags dropped.
   */
  restart(headers: readonly RtmpMediaTag[], backlog: readonly RtmpMediaTag[] = []): number {
    const dropped = this.clear();
    for (const h of headers) {
      if (h.type === 9) this.hasVideo = true;
      this.push(h);
    }
    this.awaitKeyframe = true;
    // Media since the latest keyframe, so a publish that starts (or restarts) mid-GOP loses nothing;
    // it goes through the same gate and bound as live media.
    for (const t of backlog) if (!t.isHeader) this.offer(t, 0);
    return dropped;
  }

  /** Empties the queue; media tags count as drops. Returns how many media tags were dropped. */
  clear(): number {
    let dropped = 0;
    for (let i = this.head; i < this.items.length; i++) if (!this.items[i].isHeader) dropped++;
    this.items = [];
    this.head = 0;
    this.bytesValue = 0;
    this.drops += dropped;
    return dropped;
  }

  /** Decides about one tag from the muxer. `inFlight`: bytes the socket still buffers. */
  offer(tag: RtmpMediaTag, inFlight: number): OfferResult {
    const size = wireCost(tag, this.chunkSize);
    if (tag.type === 9) this.hasVideo = true;
    if (tag.isHeader) {
      if (this.bytesValue + inFlight + size > this.maxBytes) this.dropMedia();
      if (this.bytesValue + size > this.maxBytes) return this.drop();
      this.push(tag);
      return 'queued';
    }
    if (!this.passesGate(tag)) return this.drop();
    if (this.bytesValue + inFlight + size > this.maxBytes) {
      this.dropMedia();
      // Media resumes at a keyframe; this tag may be one.
      if (!this.passesGate(tag) || this.bytesValue + inFlight + size > this.maxBytes) return this.drop();
    }
    this.push(tag);
    return 'queued';
  }

  shift(): RtmpMediaTag | undefined {
    if (this.head >= this.items.length) return undefined;
    const tag = this.items[this.head];
    this.items[this.head] = undefined as unknown as RtmpMediaTag;
    this.head++;
    this.bytesValue -= wireCost(tag, this.chunkSize);
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return tag;
  }

  /** Applies the keyframe gate; clears it when the tag is a video keyframe. */
  private passesGate(tag: RtmpMediaTag): boolean {
    if (!this.awaitKeyframe) return true;
    if (tag.type === 9) {
      if (!tag.keyframe) return false;
      this.awaitKeyframe = false;
      return true;
    }
    // Audio and script data wait only when the stream has video.
    return !this.hasVideo;
  }

  /** Overflow: drop every queued media tag, keep the headers, resume at the next keyframe. */
  private dropMedia(): void {
    const kept: RtmpMediaTag[] = [];
    let bytes = 0;
    for (let i = this.head; i < this.items.length; i++) {
      const t = this.items[i];
      if (t.isHeader) {
        kept.push(t);
        bytes += wireCost(t, this.chunkSize);
      } else {
        this.drops++;
      }
    }
    this.items = kept;
    this.head = 0;
    this.bytesValue = bytes;
    this.awaitKeyframe = true;
  }

  private drop(): OfferResult {
    this.drops++;
    return 'dropped';
  }

  private push(tag: RtmpMediaTag): void {
    this.items.push(tag);
    this.bytesValue += wireCost(tag, this.chunkSize);
  }
}
