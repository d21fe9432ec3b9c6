/** The streamer pool(s): address, load, CPU, bitrate, draining. Read every 5 s while shown. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { listStreamers } from './api.ts';
import { subscribeEvents, subscribeReconnect } from './events.ts';
import { ago, bitrate } from './format.ts';
import { useInterval, useNow, usePageVisible } from './hooks.ts';
import type { Streamer } from './types.ts';

export function StreamersView() {
  const [streamers, setStreamers] = useState<Streamer[]>();
  const [error, setError] = useState<string>();
  const visible = usePageVisible();
  const now = useNow(2000);

  const load = useCallback(() => {
    listStreamers().then(
      (s) => {
        setStreamers([...s].sort((a, b) => a.pool.localeCompare(b.pool) || a.id.localeCompare(b.id)));
        setError(undefined);
      },
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  }, []);
  useEffect(load, [load]);
  useInterval(load, 5000, visible);
  useEffect(() => subscribeReconnect(load), [load]);
  useEffect(() => subscribeEvents((e) => e.type === 'streamer.draining' && load()), [load]);

  return (
    <section class="pane full" aria-label="Streamers">
      <div class="toolbar">
        <h2 class="view-title">Streamers</h2>
        <span class="muted">{streamers ? `${streamers.length} live` : ''}</span>
        <div class="spacer" />
        <button type="button" onClick={load}>
          Refresh
        </button>
      </div>
      {error && <div class="error-bar" role="alert">{error}</div>}
      <div class="table-wrap">
        <table class="grid" data-testid="streamer-table">
          <thead>
            <tr>
              <th>Streamer</th>
              <th class="w-pool">Pool</th>
              <th class="w-addr">Media address</th>
              <th>API</th>
              <th class="c-right w-small">Streams</th>
              <th class="w-bar" title="Process CPU, percent of one core">
                CPU
              </th>
              <th class="c-right w-num">Bitrate in</th>
              <th class="w-num">State</th>
              <th class="w-small">Version</th>
              <th class="c-right w-num">Report</th>
            </tr>
          </thead>
          <tbody>
            {streamers?.map((s) => (
              <tr key={s.id} data-testid="streamer-row" data-streamer-id={s.id} data-draining={s.draining ? 'true' : 'false'}>
                <td class="mono ellipsis">{s.id}</td>
                <td>{s.pool}</td>
                <td class="mono">
                  {s.address}:{s.port}
                </td>
                <td class="mono muted small ellipsis">{s.url}</td>
                <td class="c-right">{s.activeStreams}</td>
                <td>
                  <div class="cpu">
                    <div class="bar">
                      <div class={s.cpuPercent >= 80 ? 'bar-fill hot' : 'bar-fill'} style={{ width: `${Math.min(100, Math.round(s.cpuPercent))}%` }} />
                    </div>
                    <span class="small">{Math.round(s.cpuPercent)} %</span>
                  </div>
                </td>
                <td class="c-right">{bitrate(s.bitrateIn)}</td>
                <td>{s.draining ? <span class="tag warn">draining</span> : <span class="tag ok">serving</span>}</td>
                <td class="muted small">{s.version}</td>
                <td class="c-right muted small">{ago(s.updatedAt, now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {streamers?.length === 0 && <div class="empty">No streamer is reporting to this installation's store.</div>}
      </div>
    </section>
  );
}
