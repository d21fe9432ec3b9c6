/**
 * Hostile media through a whole receiver: RTP parse → reorder (UDP) or gap check (TCP) → PS demux
 * → FLV mux → HTTP-FLV fan-out, with 100,000+ random and mutated packets built from real fixture
 * video. Nothing may throw, memory must stay bounded, and the damage must show in the counters.
 * Reproduce with the printed seed: FUZZ_SEED=<seed> node --test test/receiver-fuzz.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { MediaTransport } from '../common/contracts.ts';
import { silentLogger } from '../common/logger.ts';
import { Receiver } from '../streamer/receiver/receiver.ts';
import { ComponentCounters, IngestTotals } from '../streamer/stats.ts';
import { mulberry32, randInt } from '../common/testing/prng.ts';
import { PsWriter, packetize } from '../streamer/ps/testing/ps-writer.ts';
import { fixtureAccessUnits, toneBytes } from '../streamer/ps/testing/streams.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed2811);
const CASES = 100_000;

/** An HTTP-FLV viewer that reads everything at once and keeps nothing. */
class DrainingViewer extends EventEmitter {
  bytes = 0;
  writableLength = 0;
  write(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    return true;
  }
  end(): void {}
}

/** The clean packets of ~4 s of real H.264 (with SPS/PPS, so the FLV muxer really muxes) + G.711A. */
function cleanPackets(codec: 'h264' | 'h265'): Buffer[] {
  const units = fixtureAccessUnits(codec === 'h264' ? 'bbb-480x272.h264' : 'avatar.h265', codec).slice(0, 100);
  const w = new PsWriter({ videoStreamType: codec === 'h264' ? 0x1b : 0x24 });
  const frames: Buffer[] = [];
  units.forEach((u, i) => {
    frames.push(w.frame({ kind: 'video', pts: 90000 + i * 3600, dts: 90000 + i * 3600, keyframe: u.keyframe, data: u.data }));
    frames.push(w.frame({ kind: 'audio', pts: 90000 + i * 3600, data: toneBytes(320, i * 320) }));
  });
  return packetize(frames, 1400, { ssrc: 1234 }).map((p) => p.packet);
}

function mutate(rnd: () => number, pkt: Buffer): Buffer {
  const b = Buffer.from(pkt);
  switch (randInt(rnd, 7)) {
    case 0: // bit flips anywhere, header included
      for (let i = randInt(rnd, 4) + 1; i > 0; i--) b[randInt(rnd, b.length)] ^= 1 << randInt(rnd, 8);
      return b;
    case 1: // truncated
      return b.subarray(0, randInt(rnd, b.length));
    case 2: // random bytes after a valid RTP header
      for (let i = 12; i < b.length; i++) b[i] = randInt(rnd, 256);
      return b;
    case 3: // entirely random datagram
      return Buffer.from(Array.from({ length: randInt(rnd, 1500) }, () => randInt(rnd, 256)));
    case 4: // a start code and a stream id planted at a random place
      if (b.length > 20) b.set([0, 0, 1, [0xba, 0xbb, 0xbc, 0xe0, 0xc0, 0xbd][randInt(rnd, 6)]], 12 + randInt(rnd, b.length - 16));
      return b;
    case 5: // a length field made huge or zero
      if (b.length > 20) b.writeUInt16BE(rnd() < 0.5 ? 0 : 0xffff, 12 + randInt(rnd, b.length - 14));
      return b;
    default: // sequence number jump
      b.writeUInt16BE(randInt(rnd, 65536), 2);
      return b;
  }
}

test(`${CASES} hostile packets through whole receivers never throw, stay bounded and are counted (seed ${SEED})`, () => {
  const rnd = mulberry32(SEED);
  const totals = new IngestTotals();
  const closed: string[] = [];
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const make = (transport: MediaTransport, i: number) =>
    new Receiver(
      {
        streamId: `fuzz-${i}`,
        ssrc: 1234,
        ssrcText: '1234',
        transport,
        hevc: i % 2 ? 'enhanced' : 'legacy',
        reorderWindow: 64,
        rtmpQueueBytes: 1 << 20,
        rtmpMergeWriteMs: 0,
        flvViewerMaxPendingBytes: 1 << 20,
      },
      { logger: silentLogger(), totals, onClose: (r, reason) => closed.push(`${r.streamId}:${reason}`) },
    );
  const material = { h264: cleanPackets('h264'), h265: cleanPackets('h265') };
  const receivers = (['udp', 'tcp-passive', 'udp', 'tcp-active'] as MediaTransport[]).map(make);
  const viewers = receivers.map((r) => {
    const v = new DrainingViewer();
    r.viewersFor(undefined).addViewer(v);
    return v;
  });

  let heapAfterWarmup = 0;
  let sent = 0;
  const nextSequence = receivers.map(() => 0);
  for (let round = 0; sent < CASES; round++) {
    const codec = round % 3 === 2 ? 'h265' : 'h264';
    const ri = round % receivers.length;
    const r = receivers[ri];
    const rate = [0.02, 0.2, 1][round % 3];
    for (const original of material[codec]) {
      // Each receiver sees one continuous sequence, as from one camera.
      const clean = Buffer.from(original);
      clean.writeUInt16BE(nextSequence[ri], 2);
      nextSequence[ri] = (nextSequence[ri] + 1) & 0xffff;
      const pkt = rnd() < rate ? mutate(rnd, clean) : clean;
      if (rnd() < 0.01) continue; // lost
      r.onRtp(pkt, 0, pkt.length);
      if (rnd() < 0.01) r.onRtp(pkt, 0, pkt.length); // duplicated
      sent++;
      if (sent % 997 === 0) r.tick();
    }
    if (round === 30) {
      gc();
      heapAfterWarmup = v8.getHeapStatistics().used_heap_size;
    }
  }
  const counters = new ComponentCounters();
  for (const r of receivers) r.addCounters(counters);
  const damage = totals.dropped.malformed + totals.dropped.rtcp + totals.lost + counters.psMalformed + counters.psResyncs + counters.framesDropped + counters.late + counters.duplicates;
  console.log(`seed ${SEED}: ${sent} packets, frames out ${receivers.reduce((n, r) => n + r.framesOut, 0)}, damage counted ${damage}`, {
    malformed: totals.dropped.malformed,
    lost: totals.lost,
    psMalformed: counters.psMalformed,
    psResyncs: counters.psResyncs,
    framesDropped: counters.framesDropped,
  });
  assert.ok(receivers.every((r) => r.framesOut > 0), 'every receiver still produced frames between the damage');
  assert.ok(viewers.every((v) => v.bytes > 0), `every viewer got FLV: ${viewers.map((v) => v.bytes).join(', ')}`);
  assert.ok(damage > CASES / 20, 'the damage is visible in the counters');
  assert.ok(totals.dropped.malformed > 0 && counters.psResyncs + counters.psMalformed > 0);
  gc();
  const growth = v8.getHeapStatistics().used_heap_size - heapAfterWarmup;
  assert.ok(growth < 32 * 1024 * 1024, `heap grew by ${growth} bytes`);
  for (const r of receivers) {
    for (const mode of ['legacy', 'enhanced'] as const) assert.ok(r.viewersFor(mode).gopBytes <= 4 * 1024 * 1024);
  }
  for (const r of receivers) void r.close();
  assert.deepEqual(closed, [], 'receivers do not close themselves on bad input');
});
