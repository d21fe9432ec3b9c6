/** One device: what it told us, its channels (click one to watch it), the player. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { listChannels } from './api.ts';
import { subscribeEvents, subscribeReconnect } from './events.ts';
import { dateTime } from './format.ts';
import { Player } from './player.tsx';
import type { Channel, Device } from './types.ts';

/** PTZType 1 dome, 2 half-dome, 4 remote-controlled box can move; 3 is a fixed box camera. */
export function ptzKind(channel: Channel): 'ptz' | 'fixed' | 'unknown' {
  if (channel.ptzType === 1 || channel.ptzType === 2 || channel.ptzType === 4) return 'ptz';
  if (channel.ptzType === 3) return 'fixed';
  return 'unknown';
}

const ptzLabel: Record<number, string> = { 1: 'dome', 2: 'half-dome', 3: 'fixed', 4: 'PTZ box' };

export function DevicePanel({ device, onClose }: { device: Device; onClose: () => void }) {
  const [channels, setChannels] = useState<Channel[]>();
  const [error, setError] = useState<string>();
  const [playing, setPlaying] = useState<Channel>();

  const load = useCallback(() => {
    listChannels(device.id).then(
      (c) => {
        setChannels(c);
        setError(undefined);
      },
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  }, [device.id]);
  useEffect(load, [load]);
  useEffect(() => subscribeReconnect(load), [load]);
  // A device that comes online answers its catalog a moment later.
  useEffect(
    () =>
      subscribeEvents((e) => {
        if (e.type === 'device.online' && e.deviceId === device.id) setTimeout(load, 2000);
      }),
    [device.id, load],
  );

  return (
    <aside class="pane detail-pane" aria-label={`Device ${device.id}`} data-testid="device-panel" data-device-id={device.id}>
      <div class="panel-head">
        <div class="panel-title">
          <span class={device.online ? 'pill on' : 'pill off'} />
          <strong class="ellipsis">{device.name ?? device.id}</strong>
          <span class="mono muted">{device.id}</span>
        </div>
        <button type="button" class="icon" aria-label="Close" data-testid="device-panel-close" onClick={onClose}>
          ×
        </button>
      </div>
      <dl class="facts">
        <dt>State</dt>
        <dd>
          {device.online ? 'online' : 'offline'}
          {device.online && device.status ? ` · status ${device.status}` : ''}
        </dd>
        <dt>Address</dt>
        <dd class="mono">
          {device.transport} {device.ip}:{device.port}
        </dd>
        <dt>Vendor</dt>
        <dd>{[device.manufacturer, device.model, device.firmware].filter(Boolean).join(' · ') || '—'}</dd>
        <dt>Registered</dt>
        <dd>{dateTime(device.registeredAt) || '—'}</dd>
      </dl>
      {playing && <Player key={playing.id} deviceId={device.id} channel={playing} ptz={ptzKind(playing)} onClose={() => setPlaying(undefined)} />}
      <h3 class="section-title">
        Channels <span class="muted">{channels ? channels.length : ''}</span>
      </h3>
      {error && <div class="error-bar" role="alert">{error}</div>}
      <div class="channel-list" data-testid="channel-list">
        {channels?.length === 0 && <div class="empty">No catalog yet{device.online ? ' (asked when the device came online)' : ''}.</div>}
        {channels?.map((c) => (
          <button
            type="button"
            key={c.id}
            class={playing?.id === c.id ? 'channel selected' : 'channel'}
            data-testid="channel-row"
            data-channel-id={c.id}
            data-ptz={ptzKind(c)}
            aria-pressed={playing?.id === c.id}
            disabled={!device.online}
            title={device.online ? `Watch ${c.name ?? c.id}` : 'The device is offline'}
            onClick={() => setPlaying(c)}
          >
            <span class={c.status === 'OFF' ? 'pill off' : 'pill on'} title={c.status ?? ''} />
            <span class="channel-name ellipsis">{c.name ?? c.id}</span>
            <span class="mono muted">{c.id}</span>
            {c.ptzType !== undefined && <span class={ptzKind(c) === 'ptz' ? 'tag accent' : 'tag'}>{ptzLabel[c.ptzType] ?? `type ${c.ptzType}`}</span>}
            <span class="play-glyph" aria-hidden="true">▶</span>
          </button>
        ))}
      </div>
    </aside>
  );
}
