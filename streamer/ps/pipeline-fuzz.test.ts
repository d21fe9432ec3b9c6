/**
 * Seeded fuzzing of the receive path: RTP parsing → (UDP) reorder buffer or (TCP) framer + gap
 * detector → PS demuxer, with random inputs and mutations of valid streams.
 *
 * Checked: nothing throws; every run ends; internal buffers stay under their caps after every
 * packet and the heap does not grow over a long hostile stream; random input never vanishes
 * without a counter moving; and for structural damage (bytes removed, inserted, duplicated, length
 * fields changed, packets lost or repeated) a frame that is not byte-identical to a frame of the
 * clean stream is only ever emitted when an error counter says something was wrong, or when the
 * damaged bytes still chain as a valid program stream unit by unit (whole units cut or added, which
 * no demuxer can tell from the real thing); those cases are counted and must stay rare.
 *
 * Reproduce a failure with the printed seed: FUZZ_SEED=<seed> node --test <this file>
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { MediaFrame } from '../../common/codec/frame.ts';
import { parseRtpHeader, writeRtpHeader } from '../rtp/rtp-packet.ts';
import type { RtpPacket } from '../rtp/rtp-packet.ts';
import { ReorderBuffer, SequenceGapDetector } from '../rtp/reorder-buffer.ts';
import { MAX_TCP_FRAME, RtpTcpFramer } from '../rtp/tcp-framer.ts';
import { PsDemuxer } from './ps-demuxer.ts';
import { mulberry32, randInt } from '../../common/testing/prng.ts';
import { PsWriter, packetize } from './testing/ps-writer.ts';
import type { PsWriterOptions, RtpOut } from './testing/ps-writer.ts';
import { toneBytes } from './testing/streams.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x6b5ca57);
const MAX_FRAME = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Material: small synthetic streams, so that many cases run in little time.

/** Random slice-like bytes without zero bytes (so no accidental start codes or emulation issues). */
function noise(rnd: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 1 + randInt(rnd, 255);
  return b;
}

function h264Unit(rnd: () => number, key: boolean): Buffer {
  const parts: Buffer[] = key
    ? [Buffer.from([0, 0, 0, 1, 0x67, 0x4d, 0x00, 0x1e]), noise(rnd, 8), Buffer.from([0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80]), Buffer.from([0, 0, 0, 1, 0x65, 0x88])]
    : [Buffer.from([0, 0, 0, 1, 0x41, 0x9a])];
  parts.push(noise(rnd, 20 + randInt(rnd, key ? 3000 : 900)));
  return Buffer.concat(parts);
}

function h265Unit(rnd: () => number, key: boolean): Buffer {
  const parts: Buffer[] = key
    ? [
        Buffer.from([0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01]),
        Buffer.from([0, 0, 0, 1, 0x42, 0x01, 0x01, 0x01]),
        Buffer.from([0, 0, 0, 1, 0x44, 0x01, 0xc1, 0x72]),
        Buffer.from([0, 0, 0, 1, 0x26, 0x01, 0xaf]),
      ]
    : [Buffer.from([0, 0, 0, 1, 0x02, 0x01, 0xd0])];
  parts.push(noise(rnd, 20 + randInt(rnd, key ? 3000 : 900)));
  return Buffer.concat(parts);
}

interface Base {
  name: string;
  packets: RtpOut[];
  /** PES lengths are all known (no unbounded video PES): structural damage must be detected. */
  knownLengths: boolean;
  /** Keys of the frames the clean stream yields. */
  clean: Set<string>;
}

function frameKey(f: MediaFrame): string {
  return `${f.kind}|${f.pts}|${f.kind === 'video' ? `${f.dts}|${f.keyframe}|` : ''}${f.data.toString('base64')}`;
}

function makeBase(rnd: () => number, name: string, codec: 'h264' | 'h265', writer: PsWriterOptions, payloadSize: number): Base {
  const w = new PsWriter(writer);
  const frames: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const key = i % 8 === 0;
    const data = codec === 'h264' ? h264Unit(rnd, key) : h265Unit(rnd, key);
    frames.push(w.frame({ kind: 'video', pts: 90000 + i * 3600 + 3600, dts: 90000 + i * 3600, keyframe: key, data }));
    frames.push(w.frame({ kind: 'audio', pts: 90000 + i * 3600, data: toneBytes(80 + randInt(rnd, 300), i) }));
  }
  const packets = packetize(frames, payloadSize, { firstSequence: 65500 });
  const base: Base = { name, packets, knownLengths: !writer.unboundedVideo, clean: new Set() };
  const p = new Pipeline('udp');
  for (const pkt of packets) p.udp(pkt.packet);
  p.end();
  for (const f of p.frames) base.clean.add(frameKey(f));
  assert.equal(p.errors(), 0, `clean base ${name} runs without errors`);
  assert.ok(p.frames.length >= 60, `clean base ${name} yields frames`);
  return base;
}

// ---------------------------------------------------------------------------------------------
// The pipeline under test, wired as the streamer wires it.

class Pipeline {
  readonly frames: MediaFrame[] = [];
  rtpRejected = 0;
  readonly demuxer = new PsDemuxer((f) => this.frames.push(f), { maxFrameBytes: MAX_FRAME });
  private readonly reorder = new ReorderBuffer<RtpPacket>(
    {
      deliver: (p) => this.deliver(p),
      loss: () => this.demuxer.signalLoss(),
      reset: () => this.demuxer.signalLoss(),
    },
    { now: () => this.clock },
  );
  private readonly gap = new SequenceGapDetector();
  private readonly framer = new RtpTcpFramer((pkt) => this.tcpPacket(pkt));
  private clock = 0;
  readonly mode: 'udp' | 'tcp';

  constructor(mode: 'udp' | 'tcp') {
    this.mode = mode;
  }

  udp(datagram: Buffer): void {
    this.clock += 1;
    const p = parseRtpHeader(datagram);
    if (!p) {
      this.rtpRejected++;
      return;
    }
    this.reorder.push(p.sequence, p);
    this.checkBounds();
  }

  tcp(chunk: Buffer): void {
    this.framer.push(chunk);
    this.checkBounds();
  }

  private tcpPacket(pkt: Buffer): void {
    const p = parseRtpHeader(pkt);
    if (!p) {
      this.rtpRejected++;
      return;
    }
    const missing = this.gap.check(p.sequence);
    if (missing < 0) return;
    if (missing > 0) this.demuxer.signalLoss();
    this.deliver(p);
  }

  private deliver(p: RtpPacket): void {
    this.demuxer.push(p.buf, p.payloadOffset, p.payloadEnd);
    if (p.marker) this.demuxer.endOfFrame();
  }

  /** Frames emitted before end(): a stream cut anywhere can still end on a frame boundary by chance. */
  framesBeforeEnd = 0;

  end(): void {
    this.reorder.flush();
    this.framesBeforeEnd = this.frames.length;
    this.demuxer.end();
  }

  checkBounds(): void {
    assert.ok(this.demuxer.queuedBytes <= 4200 + 70000, `demuxer queue ${this.demuxer.queuedBytes}`);
    assert.ok(this.demuxer.pendingFrameBytes <= MAX_FRAME, `frame ${this.demuxer.pendingFrameBytes}`);
    assert.ok(this.framer.bufferedBytes <= MAX_TCP_FRAME, `framer ${this.framer.bufferedBytes}`);
    assert.ok(this.reorder.heldCount <= 64, `reorder ${this.reorder.heldCount}`);
  }

  /** Sum of every counter that reports something wrong. */
  errors(): number {
    const d = this.demuxer.stats;
    const r = this.reorder.stats;
    const g = this.gap.stats;
    return (
      this.rtpRejected +
      this.framer.stats.resyncs +
      r.lost +
      r.duplicates +
      r.late +
      r.resets +
      g.lost +
      g.duplicates +
      g.late +
      g.resets +
      d.malformed +
      d.resyncs +
      d.droppedFrames +
      d.losses +
      d.timestampJumps +
      d.unsupportedStreams
    );
  }

  /** Sum of every counter: something noticed the input. */
  activity(): number {
    const d = this.demuxer.stats;
    return this.errors() + this.demuxer.stats.skippedBytes + this.reorder.stats.delivered + this.gap.stats.delivered + d.packs + d.pesAudio + d.pesVideo + d.pesSkipped + d.psms + d.systemHeaders + this.framer.stats.packets;
  }
}

/**
 * An independent check of a byte stream's PS structure: from the first pack header on, does every
 * unit follow the previous one exactly, by its own length, up to the end (the last unit may be cut)?
 */
function chainsByLength(ps: Buffer): boolean {
  let p = ps.indexOf(Buffer.from([0, 0, 1, 0xba]));
  if (p < 0) return true;
  while (p + 4 <= ps.length) {
    if (ps[p] !== 0 || ps[p + 1] !== 0 || ps[p + 2] !== 1 || ps[p + 3] < 0xb9) return false;
    const id = ps[p + 3];
    if (id === 0xb9) p += 4;
    else if (id === 0xba) {
      if (p + 14 > ps.length) return true;
      p += (ps[p + 4] & 0xc0) === 0x40 ? 14 + (ps[p + 13] & 7) : 12;
    } else {
      if (p + 6 > ps.length) return true;
      const len = ps.readUInt16BE(p + 4);
      if (len === 0) return true;
      p += 6 + len;
    }
  }
  return true;
}

/** The RTP payloads of well-formed packets, in sequence order (for chainsByLength). */
function payloadStream(packets: Buffer[]): Buffer {
  const parsed = packets.map((b) => parseRtpHeader(b)).filter((x): x is RtpPacket => x !== null);
  const first = parsed.length > 0 ? parsed[0].sequence : 0;
  parsed.sort((a, b) => ((a.sequence - first) & 0xffff) - ((b.sequence - first) & 0xffff));
  return Buffer.concat(parsed.map((x) => x.payload()));
}

// ---------------------------------------------------------------------------------------------
// Mutations

const STRUCTURAL = ['truncate', 'insert', 'duplicateRange', 'removeRange', 'lengthField', 'dropPacket', 'duplicatePacket', 'swapPackets'] as const;
const OTHER = ['bitFlips', 'overwrite16', 'randomPacket'] as const;
type Mutation = (typeof STRUCTURAL)[number] | (typeof OTHER)[number];

function mutate(rnd: () => number, packets: Buffer[], m: Mutation): void {
  const i = randInt(rnd, packets.length);
  const p = packets[i];
  const at = 12 + randInt(rnd, Math.max(1, p.length - 12));
  switch (m) {
    case 'truncate':
      packets[i] = p.subarray(0, Math.max(12, randInt(rnd, p.length)));
      break;
    case 'insert':
      packets[i] = Buffer.concat([p.subarray(0, at), noise(rnd, 1 + randInt(rnd, 64)), p.subarray(at)]);
      break;
    case 'duplicateRange': {
      const n = 1 + randInt(rnd, 100);
      packets[i] = Buffer.concat([p.subarray(0, at), p.subarray(at, at + n), p.subarray(at)]);
      break;
    }
    case 'removeRange':
      packets[i] = Buffer.concat([p.subarray(0, at), p.subarray(Math.min(p.length, at + 1 + randInt(rnd, 100)))]);
      break;
    case 'lengthField': {
      // Change the 16-bit length after a start code in this packet to a random value.
      let sc = p.indexOf(Buffer.from([0, 0, 1]), 12 + randInt(rnd, Math.max(1, p.length - 12)));
      while (sc >= 0 && !(sc + 6 <= p.length && p[sc + 3] >= 0xbb && p[sc + 3] !== 0xba)) sc = p.indexOf(Buffer.from([0, 0, 1]), sc + 1);
      if (sc < 0) {
        // No length field in this packet: remove bytes instead.
        packets[i] = Buffer.concat([p.subarray(0, at), p.subarray(Math.min(p.length, at + 1 + randInt(rnd, 100)))]);
        break;
      }
      const q = Buffer.from(p);
      q.writeUInt16BE(randInt(rnd, 0x10000), sc + 4);
      packets[i] = q;
      break;
    }
    case 'dropPacket':
      packets.splice(i, 1);
      break;
    case 'duplicatePacket':
      packets.splice(Math.min(packets.length, i + 1 + randInt(rnd, 5)), 0, p);
      break;
    case 'swapPackets':
      if (i + 1 < packets.length) [packets[i], packets[i + 1]] = [packets[i + 1], p];
      break;
    case 'bitFlips': {
      const q = Buffer.from(p);
      for (let k = 1 + randInt(rnd, 8); k > 0; k--) q[randInt(rnd, q.length)] ^= 1 << randInt(rnd, 8);
      packets[i] = q;
      break;
    }
    case 'overwrite16': {
      const q = Buffer.from(p);
      if (at + 2 <= q.length) q.writeUInt16BE(randInt(rnd, 0x10000), at);
      packets[i] = q;
      break;
    }
    case 'randomPacket': {
      const q = noise(rnd, 1 + randInt(rnd, 1500));
      if (rnd() < 0.5 && q.length >= 12) {
        writeRtpHeader(q, 0, { sequence: randInt(rnd, 0x10000), timestamp: 0, ssrc: 0x0bebdfa1, payloadType: 96 });
        if (rnd() < 0.5) q[12 % q.length] = 0;
      }
      packets[i] = q;
      break;
    }
  }
}

function rfc4571(packets: Buffer[]): Buffer {
  return Buffer.concat(
    packets.flatMap((p) => {
      const h = Buffer.alloc(2);
      h.writeUInt16BE(Math.min(p.length, 0xffff));
      return [h, p.subarray(0, 0xffff)];
    }),
  );
}

function runCase(mode: 'udp' | 'tcp', packets: Buffer[], rnd: () => number): Pipeline {
  const p = new Pipeline(mode);
  if (mode === 'udp') {
    for (const pkt of packets) p.udp(pkt);
  } else {
    const stream = rfc4571(packets);
    for (let off = 0; off < stream.length; ) {
      const n = 1 + randInt(rnd, 3000);
      p.tcp(stream.subarray(off, off + n));
      off += n;
    }
  }
  p.end();
  return p;
}

// ---------------------------------------------------------------------------------------------

test(`seeded fuzz of RTP + framer + reorder + PS demuxer (seed ${SEED})`, () => {
  console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} reproduces)`);
  const rnd = mulberry32(SEED);
  const bases = [
    makeBase(rnd, 'h264 plain', 'h264', {}, 1400),
    makeBase(rnd, 'h265 lying PSM, HK, BD', 'h265', { videoStreamType: 0x1b, hkDescriptors: true, privateStream: true }, 700),
    makeBase(rnd, 'h264 pack per PES, small PES', 'h264', { packPerPes: true, ptsOnEveryPes: true, maxPesPayload: 300 }, 500),
    makeBase(rnd, 'h264 no PSM, unbounded PES', 'h264', { psm: 'none', unboundedVideo: true, maxPesPayload: 800 }, 1000),
    makeBase(rnd, 'h265 MPEG-1 packs', 'h265', { mpeg1Pack: true }, 188),
  ];
  const t0 = performance.now();
  let inputs = 0;
  let cases = 0;
  let structuralCases = 0;
  let silentlyChanged = 0;

  // Phase 1: independent short cases.
  for (let c = 0; c < 100000; c++) {
    const mode = c % 3 === 2 ? 'tcp' : 'udp';
    cases++;
    if (c % 10 === 0) {
      // Random input.
      const packets: Buffer[] = [];
      for (let k = 1 + randInt(rnd, 8); k > 0; k--) {
        const q = noise(rnd, 1 + randInt(rnd, 1400));
        if (rnd() < 0.5 && q.length >= 12) writeRtpHeader(q, 0, { sequence: randInt(rnd, 0x10000), timestamp: 0, ssrc: 1, payloadType: 96 });
        packets.push(q);
      }
      inputs += packets.length;
      const p = runCase(mode, packets, rnd);
      assert.ok(p.activity() > 0, `seed ${SEED} case ${c}: random input left no trace`);
      continue;
    }
    const base = bases[c % bases.length];
    const start = randInt(rnd, base.packets.length - 10);
    const packets = base.packets.slice(start, start + 5 + randInt(rnd, 40)).map((x) => x.packet);
    const structural = rnd() < 0.7;
    const count = 1 + randInt(rnd, 3);
    const applied: string[] = [];
    for (let k = 0; k < count; k++) {
      const m = structural ? STRUCTURAL[randInt(rnd, STRUCTURAL.length)] : OTHER[randInt(rnd, OTHER.length)];
      mutate(rnd, packets, m);
      applied.push(m);
    }
    inputs += packets.length;
    const p = runCase(mode, packets, rnd);
    if (structural && base.knownLengths) {
      structuralCases++;
      if (p.errors() === 0) {
        for (const f of p.frames.slice(0, p.framesBeforeEnd)) {
          if (base.clean.has(frameKey(f))) continue;
          // A changed frame and no counter moved. The only legitimate way: the damage removed or
          // added exactly whole PS units (say a cut that ends a packet one PES early, or 14 bytes
          // taken from a PES payload just before a 14-byte pack header, which the PES then absorbs),
          // so that the bytes still form a valid program stream. Check that independently.
          silentlyChanged++;
          const valid = chainsByLength(payloadStream(packets));
          if (process.env.FUZZ_DUMP && !valid) {
            process.getBuiltinModule('node:fs').writeFileSync(
              process.env.FUZZ_DUMP,
              JSON.stringify({ mode, packets: packets.map((x) => x.toString('hex')), clean: base.packets.slice(start, start + 50).map((x) => x.packet.toString('hex')) }),
            );
          }
          assert.ok(valid, `seed ${SEED} case ${c} (${base.name}, ${mode}, ${applied.join('+')}): a frame changed by damage that no counter reported`);
        }
      }
    }
  }
  assert.ok(silentlyChanged <= structuralCases / 200, `silent changes ${silentlyChanged} of ${structuralCases}`);

  // Phase 2: one long-lived pipeline per transport fed a long hostile stream; memory stays flat.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (const mode of ['udp', 'tcp'] as const) {
    const p = new Pipeline(mode);
    let heapStart = 0;
    let seq = 0;
    for (let round = 0; round < 1000; round++) {
      if (round === 100) {
        gc();
        heapStart = process.memoryUsage().heapUsed;
      }
      const base = bases[round % bases.length];
      // Continue the sequence numbers from round to round, as one long stream would.
      const packets = base.packets.map((x) => {
        const q = Buffer.from(x.packet);
        q.writeUInt16BE(seq++ & 0xffff, 2);
        return q;
      });
      for (let k = randInt(rnd, 3); k > 0; k--) {
        const all = [...STRUCTURAL, ...OTHER];
        mutate(rnd, packets, all[randInt(rnd, all.length)]);
      }
      inputs += packets.length;
      if (mode === 'udp') for (const pkt of packets) p.udp(pkt);
      else {
        const stream = rfc4571(packets);
        for (let off = 0; off < stream.length; off += 1400) p.tcp(stream.subarray(off, off + 1400));
      }
      // Keep the collected frames from growing the heap: only the demuxer's own memory matters.
      p.frames.length = 0;
    }
    p.end();
    gc();
    const growth = process.memoryUsage().heapUsed - heapStart;
    assert.ok(growth < 32 * 1024 * 1024, `${mode}: heap grew by ${(growth / 1e6).toFixed(1)} MB`);
    assert.ok(p.demuxer.stats.framesVideo > 1000, `${mode}: the long stream kept producing video`);
  }

  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `fuzz: ${cases} cases + 2 long streams, ${inputs} packets in ${seconds.toFixed(1)} s; ` +
      `${structuralCases} cases of structural damage checked, ${silentlyChanged} frames changed without a counter (whole PS units cut or added)`,
  );
  assert.ok(cases >= 100000);
});
