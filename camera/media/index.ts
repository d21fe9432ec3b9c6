/**
 * The media half of `gbcast camera`: a GB28181 camera's RTP/PS sender. Start at startMediaStream();
 * the stages it wires are exported for tests and tools that need one of them alone.
 */
export { startMediaStream } from './stream.ts';
export type { MediaStream, MediaStreamOptions, MediaTransport } from './stream.ts';
export { MediaSender, emptyStats } from './media-sender.ts';
export type { EndReason, MediaSenderOptions, MediaStats, Pacing } from './media-sender.ts';
export { PsMuxer, StreamId, StreamType, audioStreamType, videoStreamType } from './ps-muxer.ts';
export type { PsMuxerOptions, PsQuirks } from './ps-muxer.ts';
export { RtpPacketizer, RtpFraming, RTP_HEADER_LENGTH } from './rtp-packetizer.ts';
export type { RtpPacketizerOptions } from './rtp-packetizer.ts';
export { FrameScheduler, sharedScheduler } from './scheduler.ts';
export type { ScheduledTask } from './scheduler.ts';
export { TcpListener, TcpTransport, UdpTransport, connectTcp, createSharedUdpSocket } from './transports.ts';
export type { PacketTransport } from './transports.ts';
export { FrameTimeline } from './timeline.ts';
export type { TimelineOptions } from './timeline.ts';
export { detectVideoCodec, loadVideoSource, parseAnnexB } from './video-source.ts';
export type { AccessUnit, IndexedVideoFrame, VideoSource } from './video-source.ts';
export { g711ToneSource, loadAacSource, parseAdts } from './audio-source.ts';
export type { AudioSource } from './audio-source.ts';
export { g711Tone, linearToAlaw, linearToUlaw } from './g711.ts';
export { muxToPs } from './ps-file.ts';
export { crc32Mpeg2 } from './crc32.ts';
