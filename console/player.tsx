/**
 * Watches a channel: play through the API (idempotent per channel: a running stream is shared),
 * then the stream's HTTP-FLV from its streamer into a <video> with mpegts.js (Media Source
 * Extensions). Low latency: no stash buffer, latency chasing. G.711 audio (most GB28181 cameras)
 * cannot go through MSE: when the demuxer refuses the audio, the player starts again video-only.
 */
import mpegts from 'mpegts.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { play, relayUrl, stopStream } from './api.ts';
import { authHeaders } from './token.ts';
import { publishLocalChange, subscribeEvents } from './events.ts';
import { bitrate } from './format.ts';
import { PtzPad } from './ptz.tsx';
import type { Channel, PlayResult } from './types.ts';

type Status = { kind: 'starting' | 'waiting' | 'playing' | 'retrying' | 'ended' } | { kind: 'error'; message: string };

const maxRetries = 5;

/** Why the streamer closed a receiver (receiver.closed), in words, with what to check. */
const closeReasons: Record<string, string> = {
  'no-packets': 'no RTP packet reached the streamer: check the firewall or NAT in front of its media port, and the address in the SDP',
  'wrong-ssrc': 'packets arrived with another SSRC, from an address the camera did not announce',
  stopped: 'media flowed, then stopped (camera rebooted or its network dropped)',
  'connection-closed': 'the camera closed the TCP media connection',
  'connect-failed': 'the streamer could not connect to the camera (tcp-active)',
  deleted: 'the stream was stopped',
  shutdown: 'the streamer shut down',
};
// mpegts.js logs every step to the console: keep its warnings and errors only.
mpegts.LoggingControl.enableVerbose = false;
mpegts.LoggingControl.enableDebug = false;
mpegts.LoggingControl.enableInfo = false;

export function Player({ deviceId, channel, ptz, onClose }: { deviceId: string; channel: Channel; ptz: 'ptz' | 'fixed' | 'unknown'; onClose: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [stream, setStream] = useState<PlayResult>();
  const [status, setStatus] = useState<Status>({ kind: 'starting' });
  const [info, setInfo] = useState<{ width?: number; height?: number; codec?: string; kbps?: number; dropped?: number; audio: boolean; hasAudio?: boolean }>({ audio: true });
  // Browsers autoplay muted only; the person can unmute.
  const [muted, setMuted] = useState(true);
  /** Bumped to play again (after an error, or by hand); automatic retries are counted apart. */
  const [attempt, setAttempt] = useState(0);
  const autoRetries = useRef(0);
  const [withAudio, setWithAudio] = useState(true);
  const [stopping, setStopping] = useState(false);
  const [closed, setClosed] = useState<{ reason: string; detail?: string }>();

  // The streamer says why it closed this stream's receiver.
  useEffect(() => {
    if (!stream) return;
    setClosed(undefined);
    return subscribeEvents((e) => {
      if (e.type === 'receiver.closed' && e.streamId === stream.streamId) setClosed({ reason: e.reason, detail: e.detail });
    });
  }, [stream]);

  // 1. Ask signaling for the stream (once per channel, and again after errors).
  useEffect(() => {
    let cancelled = false;
    setStatus({ kind: 'starting' });
    play(deviceId, channel.id).then(
      (result) => {
        if (!result.reused) publishLocalChange();
        if (!cancelled) setStream(result);
      },
      (err: unknown) => {
        if (!cancelled) setStatus({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [deviceId, channel.id, attempt]);

  // 2. Play its HTTP-FLV.
  useEffect(() => {
    const element = video.current;
    if (!stream || !element) return;
    if (!mpegts.isSupported()) {
      setStatus({ kind: 'error', message: 'This browser has no Media Source Extensions: open the FLV URL in a player instead.' });
      return;
    }
    setStatus({ kind: 'waiting' });
    const player = mpegts.createPlayer(
      // Through signaling (same origin, same token): the streamer's own flvUrl is an address inside the cluster.
      { type: 'flv', isLive: true, url: relayUrl(stream.streamId), cors: true, hasVideo: true, ...(withAudio ? {} : { hasAudio: false }) },
      {
        headers: authHeaders(),
        enableWorker: false,
        enableStashBuffer: false,
        lazyLoad: false,
        autoCleanupSourceBuffer: true,
        liveBufferLatencyChasing: true,
        liveBufferLatencyMaxLatency: 2,
        liveBufferLatencyMinRemain: 0.3,
      },
    );
    let done = false;
    player.on(mpegts.Events.ERROR, (type: string, detail: string, data: unknown) => {
      if (done) return;
      done = true;
      // Demuxer errors carry a string, network errors {code, msg}.
      const text = typeof data === 'string' ? data : ((data as { msg?: string } | undefined)?.msg ?? '');
      const message = `${detail || type}${text ? `: ${text}` : ''}`;
      if (withAudio && /audio/i.test(message)) {
        setInfo((i) => ({ ...i, audio: false }));
        setWithAudio(false); // G.711 and friends: play the video alone
        return;
      }
      if (autoRetries.current < maxRetries) {
        autoRetries.current++;
        setStatus({ kind: 'retrying' });
        setTimeout(() => setAttempt((a) => a + 1), 1500);
      } else setStatus({ kind: 'error', message });
    });
    player.on(mpegts.Events.MEDIA_INFO, (mi: { width?: number; height?: number; videoCodec?: string; hasAudio?: boolean }) => {
      setInfo((i) => ({ ...i, width: mi.width, height: mi.height, codec: mi.videoCodec, hasAudio: mi.hasAudio }));
    });
    player.on(mpegts.Events.STATISTICS_INFO, (s: { speed?: number; droppedFrames?: number }) => {
      setInfo((i) => ({ ...i, kbps: s.speed !== undefined ? s.speed * 8 : undefined, dropped: s.droppedFrames }));
    });
    // The streamer ended the HTTP-FLV response: the stream stopped (stopped, device BYE, no media).
    player.on(mpegts.Events.LOADING_COMPLETE, () => {
      if (!done) setStatus({ kind: 'ended' });
    });
    const onPlaying = () => {
      autoRetries.current = 0;
      setStatus({ kind: 'playing' });
    };
    element.addEventListener('playing', onPlaying);
    player.attachMediaElement(element);
    player.load();
    void Promise.resolve(player.play()).catch(() => undefined);
    return () => {
      done = true;
      element.removeEventListener('playing', onPlaying);
      player.pause();
      player.unload();
      player.detachMediaElement();
      player.destroy();
    };
  }, [stream, withAudio]);

  const stop = async () => {
    if (!stream) return onClose();
    setStopping(true);
    try {
      await stopStream(stream.streamId);
      publishLocalChange();
    } catch {
      // already gone
    }
    onClose();
  };

  const statusText =
    status.kind === 'starting'
      ? 'starting the stream…'
      : status.kind === 'waiting'
        ? 'waiting for video…'
        : status.kind === 'retrying'
          ? 'reconnecting…'
          : status.kind === 'ended'
            ? `The stream ended${closed ? `: ${closed.reason}` : ''}.`
            : status.kind === 'error'
              ? status.message
              : '';

  return (
    <section class="player" data-testid="player" data-state={status.kind} aria-label={`Video of ${channel.name ?? channel.id}`}>
      <div class="player-head">
        <strong class="ellipsis" title={channel.name ?? channel.id}>
          {channel.name ?? channel.id}
        </strong>
        {info.hasAudio && withAudio && (
          <button
            type="button"
            class="small"
            data-testid="player-mute"
            aria-pressed={!muted}
            onClick={() => {
              const v = video.current;
              if (!v) return;
              v.muted = !v.muted;
              setMuted(v.muted);
            }}
          >
            {muted ? 'Unmute' : 'Mute'}
          </button>
        )}
        <button type="button" class="small danger-outline" data-testid="player-stop" disabled={stopping} onClick={stop} title="End the stream for every viewer">
          Stop stream
        </button>
        <button type="button" class="icon" aria-label="Close player" data-testid="player-close" onClick={onClose}>
          ×
        </button>
      </div>
      <div class="video-box">
        <video ref={video} data-testid="player-video" muted autoplay playsInline controls={false} />
        {status.kind !== 'playing' && (
          <div class={status.kind === 'error' ? 'video-overlay error' : 'video-overlay'} data-testid="player-status">
            {statusText}
            {(status.kind === 'error' || status.kind === 'ended') && (
              <button type="button" class="small" data-testid="player-retry" onClick={() => setAttempt((a) => a + 1)}>
                Play again
              </button>
            )}
          </div>
        )}
      </div>
      {closed && (
        <div class="closed-reason small" role="status" data-testid="player-closed-reason" data-reason={closed.reason}>
          <strong>{closed.reason}</strong>: {closeReasons[closed.reason] ?? 'the receiver closed'}
          {closed.detail ? ` (${closed.detail})` : ''}
        </div>
      )}
      <div class="player-stats muted small ellipsis" data-testid="player-stats">
        {[
          info.width ? `${info.width}×${info.height}` : '',
          info.codec ? info.codec.split('.')[0] : '',
          info.kbps !== undefined ? bitrate(info.kbps * 1000) : '',
          info.dropped ? `${info.dropped} frames dropped` : '',
          !info.audio ? 'no audio (its codec cannot play in a browser)' : '',
        ]
          .filter(Boolean)
          .join(' · ')}
      </div>
      {ptz !== 'fixed' && <PtzPad deviceId={deviceId} channelId={channel.id} collapsed={ptz === 'unknown'} />}
    </section>
  );
}
