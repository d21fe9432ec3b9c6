/**
 * PS demux benchmark: how much CPU does the receive side of one camera stream cost?
 *
 *   node bench/ps-demux.bench.ts [--seconds 60] [--rounds 10] [--payload 1400] [--no-ffmpeg]
 *
 * Media: a realistic GB28181 camera stream. H.264 at 2 Mbit/s, 25 fps, GOP 50, no B-frames, made
 * with ffmpeg from the stress-tmp.h264 fixture (852x480; --no-ffmpeg uses the fixture as it is,
 * about 0.7 Mbit/s), with G.711A audio (320 bytes every 40 ms), muxed Hikvision-style (pack header
 * per frame, system header + PSM with HK descriptors + private stream 0xBD on keyframes, PES cut at
 * 65,000 bytes) by the test PS writer, and cut into RTP packets with a 1400-byte payload.
 *
 * Measured, each as the best of --rounds passes over the whole stream (after a warm-up pass):
 * 1. PsDemuxer alone: push() each RTP payload, endOfFrame() on the marker.
 * 2. UDP receive path: RtpPacket.parse + ReorderBuffer + PsDemuxer, one datagram per packet.
 * 3. TCP receive path: RFC 4571 stream in 64 KiB chunks → RtpTcpFramer + RtpPacket.parse +
 *    SequenceGapDetector + PsDemuxer.
 * Reported: MB/s of PS payload, ns per RTP packet, and how many 2 Mbit/s streams one core could
 * demultiplex at that speed (an upper bound: sockets, FLV and RTMP cost more).
 */
import type { MediaFrame } from '../common/codec/frame.ts';
import { PsDemuxer } from '../streamer/ps/ps-demuxer.ts';
import { splitAccessUnits } from '../streamer/ps/testing/access-units.ts';
import { PsWriter, packetize } from '../streamer/ps/testing/ps-writer.ts';
import { toneBytes } from '../streamer/ps/testing/streams.ts';
import { ReorderBuffer, SequenceGapDetector } from '../streamer/rtp/reorder-buffer.ts';
import { RtpPacket } from '../streamer/rtp/rtp-packet.ts';
import { RtpTcpFramer } from '../streamer/rtp/tcp-framer.ts';
import { arg } from './lib/args.ts';
import { h264At2Mbps } from './lib/camera-clip.ts';

const SECONDS = Number(arg('seconds', '60'));
const ROUNDS = Number(arg('rounds', '10'));
const PAYLOAD = Number(arg('payload', '1400'));
const USE_FFMPEG = !process.argv.includes('--no-ffmpeg');

const es = h264At2Mbps(SECONDS, USE_FFMPEG);
const units = splitAccessUnits(es, 'h264');
const writer = new PsWriter({ hkDescriptors: true, privateStream: true, maxPesPayload: 65000 });
const framesPs: Buffer[] = [];
units.forEach((u, i) => {
  const t = 90000 + i * 3600;
  framesPs.push(writer.frame({ kind: 'video', pts: t, keyframe: u.keyframe, data: u.data }));
  framesPs.push(writer.frame({ kind: 'audio', pts: t, data: toneBytes(320, i) }));
});
const rtp = packetize(framesPs, PAYLOAD);
const psBytes = framesPs.reduce((n, f) => n + f.length, 0);
const duration = units.length / 25;
const videoBits = units.reduce((n, u) => n + u.data.length, 0) * 8;
const tcpStream = Buffer.concat(
  rtp.flatMap((p) => {
    const h = Buffer.alloc(2);
    h.writeUInt16BE(p.packet.length);
    return [h, p.packet];
  }),
);

console.log(
  `stream: ${units.length} frames (${duration.toFixed(1)} s), video ${(videoBits / duration / 1e6).toFixed(2)} Mbit/s, ` +
    `PS ${(psBytes / 1e6).toFixed(1)} MB, ${rtp.length} RTP packets of <= ${PAYLOAD} bytes payload`,
);

let sink = 0;
const onFrame = (f: MediaFrame): void => {
  sink += f.data.length;
};

function demuxOnly(): void {
  const d = new PsDemuxer(onFrame);
  for (const p of rtp) {
    d.push(p.payload);
    if (p.marker) d.endOfFrame();
  }
  d.end();
}

function udpPath(): void {
  const d = new PsDemuxer(onFrame);
  const pkt = new RtpPacket();
  const rb = new ReorderBuffer<Buffer>({
    deliver: (dgram) => {
      if (pkt.parse(dgram)) {
        d.push(pkt.buf, pkt.payloadOffset, pkt.payloadEnd);
        if (pkt.marker) d.endOfFrame();
      }
    },
    loss: () => d.signalLoss(),
  });
  const seq = new RtpPacket();
  for (const p of rtp) {
    if (seq.parse(p.packet)) rb.push(seq.sequence, p.packet);
  }
  d.end();
}

function tcpPath(): void {
  const d = new PsDemuxer(onFrame);
  const pkt = new RtpPacket();
  const gaps = new SequenceGapDetector();
  const framer = new RtpTcpFramer((packet) => {
    if (!pkt.parse(packet)) return;
    const missing = gaps.check(pkt.sequence);
    if (missing < 0) return;
    if (missing > 0) d.signalLoss();
    d.push(pkt.buf, pkt.payloadOffset, pkt.payloadEnd);
    if (pkt.marker) d.endOfFrame();
  });
  for (let off = 0; off < tcpStream.length; off += 65536) framer.push(tcpStream.subarray(off, off + 65536));
  d.end();
}

function measure(name: string, run: () => void): void {
  run();
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    run();
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns < best) best = ns;
  }
  const mbps = psBytes / 1e6 / (best / 1e9);
  const nsPerPacket = best / rtp.length;
  const streamsPerCore = duration / (best / 1e9);
  console.log(
    `${name.padEnd(34)} ${mbps.toFixed(0).padStart(6)} MB/s  ${nsPerPacket.toFixed(0).padStart(6)} ns/packet  ` +
      `~${streamsPerCore.toFixed(0)} streams of this bitrate per core`,
  );
}

// Warm every path up first, so that the order of the measurements does not matter.
for (let i = 0; i < 2; i++) {
  demuxOnly();
  udpPath();
  tcpPath();
}
measure('PsDemuxer alone', demuxOnly);
measure('UDP: parse + reorder + demux', udpPath);
measure('TCP: framer + parse + gaps + demux', tcpPath);
if (sink === 0) console.log('no frames?');
