/**
 * Running streams with live numbers (bitrate, viewers, age) and a stop button. The list is small
 * (one row per watched channel), so it is read every 5 s while shown, and at once on receiver events.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { listStreams, stopStream } from './api.ts';
import { publishLocalChange, subscribeEvents, subscribeReconnect } from './events.ts';
import { bitrate, duration } from './format.ts';
import { useInterval, usePageVisible } from './hooks.ts';
import type { Stream } from './types.ts';

export function StreamsView() {
  const [streams, setStreams] = useState<Stream[]>();
  const [error, setError] = useState<string>();
  const [stopping, setStopping] = useState<Set<string>>(new Set());
  const visible = usePageVisible();
  const loadedAt = useRef(Date.now());

  const load = useCallback(() => {
    listStreams().then(
      (s) => {
        loadedAt.current = Date.now();
        setStreams(s);
        setError(undefined);
      },
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  }, []);
  useEffect(load, [load]);
  useInterval(load, 5000, visible);
  useEffect(() => subscribeReconnect(load), [load]);
  useEffect(() => subscribeEvents((e) => e.type.startsWith('receiver.') && setTimeout(load, 300)), [load]);

  const stop = async (id: string) => {
    setStopping((s) => new Set(s).add(id));
    try {
      await stopStream(id);
      publishLocalChange();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
    load();
  };

  return (
    <section class="pane full" aria-label="Streams">
      <div class="toolbar">
        <h2 class="view-title">Streams</h2>
        <span class="muted">{streams ? `${streams.length} running` : ''}</span>
        <div class="spacer" />
        <button type="button" onClick={load} data-testid="streams-refresh">
          Refresh
        </button>
      </div>
      {error && <div class="error-bar" role="alert">{error}</div>}
      <div class="table-wrap">
        <table class="grid" data-testid="stream-table">
          <thead>
            <tr>
              <th class="w-id">Channel</th>
              <th class="w-id">Device</th>
              <th>Streamer</th>
              <th class="w-transport">Transport</th>
              <th class="w-state">State</th>
              <th class="c-right w-num">Bitrate in</th>
              <th class="c-right w-small" title="HTTP-FLV viewers on the streamer + RTMP viewers counted by the play hooks">
                Viewers
              </th>
              <th class="c-right w-num">Age</th>
              <th class="w-action" />
            </tr>
          </thead>
          <tbody>
            {streams?.map((s) => {
              const state = s.state === 'inviting' ? 'inviting' : s.receiverState === 'receiving' ? 'receiving' : s.streamerReachable === false ? 'streamer not answering' : 'waiting for media';
              return (
                <tr key={s.streamId} data-testid="stream-row" data-stream-id={s.streamId} data-channel-id={s.channelId}>
                  <td class="mono">{s.channelId}</td>
                  <td class="mono">{s.deviceId}</td>
                  <td title={s.streamer ? `${s.streamerId} · media ${s.streamer.address}:${s.streamer.port}` : s.streamerId}>
                    {s.streamerId}
                    {s.streamer && <span class="muted mono small"> {s.streamer.address}:{s.streamer.port}</span>}
                  </td>
                  <td>{s.transport}</td>
                  <td title={s.videoCodec ? `${s.videoCodec}${s.audioCodec ? ` + ${s.audioCodec}` : ''}` : undefined}>
                    <span class={state === 'receiving' ? 'tag ok' : state === 'streamer not answering' ? 'tag bad' : 'tag'}>{state}</span>
                    {s.videoCodec && <span class="muted small"> {s.videoCodec}{s.audioCodec ? `+${s.audioCodec}` : ''}</span>}
                  </td>
                  <td class="c-right" data-testid="stream-bitrate">{bitrate(s.bitrateIn)}</td>
                  <td class="c-right" data-testid="stream-viewers" title={`HTTP-FLV ${s.flvViewers ?? '?'} · RTMP ${s.rtmpViewers ?? 0}`}>
                    {s.viewers ?? '—'}
                  </td>
                  <td class="c-right">{duration(s.ageMs ?? Date.now() - s.createdAt)}</td>
                  <td class="c-right">
                    <button type="button" class="small danger-outline" data-testid="stream-stop" data-stream-id={s.streamId} disabled={stopping.has(s.streamId)} onClick={() => stop(s.streamId)}>
                      {stopping.has(s.streamId) ? 'Stopping…' : 'Stop'}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {streams?.length === 0 && (
          <div class="empty" data-testid="stream-empty">
            No stream is running. Open a device's channel to start one.
          </div>
        )}
      </div>
    </section>
  );
}
