/**
 * PTZ buttons: hold to move, release to stop (pointer or keyboard). Commands to one channel go
 * out one after another, so a stop never overtakes its move.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ptz } from './api.ts';
import type { PtzAction } from './types.ts';

const pad: { action: PtzAction; glyph: string; label: string }[] = [
  { action: 'up-left', glyph: '↖', label: 'up and left' },
  { action: 'up', glyph: '↑', label: 'up' },
  { action: 'up-right', glyph: '↗', label: 'up and right' },
  { action: 'left', glyph: '←', label: 'left' },
  { action: 'stop', glyph: '■', label: 'stop' },
  { action: 'right', glyph: '→', label: 'right' },
  { action: 'down-left', glyph: '↙', label: 'down and left' },
  { action: 'down', glyph: '↓', label: 'down' },
  { action: 'down-right', glyph: '↘', label: 'down and right' },
];

export function PtzPad({ deviceId, channelId, collapsed }: { deviceId: string; channelId: string; collapsed: boolean }) {
  const [open, setOpen] = useState(!collapsed);
  const [speed, setSpeed] = useState(128);
  const [error, setError] = useState<string>();
  const [active, setActive] = useState<PtzAction>();
  const chain = useRef<Promise<void>>(Promise.resolve());
  const moving = useRef<PtzAction | undefined>(undefined);

  const send = (action: PtzAction) => {
    chain.current = chain.current.then(() =>
      ptz(deviceId, channelId, action, speed).then(
        () => setError(undefined),
        (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
      ),
    );
  };
  const start = (action: PtzAction) => {
    if (action === 'stop') {
      moving.current = undefined;
      setActive(undefined);
      send('stop');
      return;
    }
    if (moving.current === action) return;
    moving.current = action;
    setActive(action);
    send(action);
  };
  const end = () => {
    if (!moving.current) return;
    moving.current = undefined;
    setActive(undefined);
    send('stop');
  };
  // Leaving the page or the channel while holding a button: stop the camera.
  useEffect(() => () => end(), []);

  const button = (action: PtzAction, glyph: string, label: string) => (
    <button
      type="button"
      key={action}
      class={active === action ? 'ptz-btn active' : 'ptz-btn'}
      data-testid={`ptz-${action}`}
      aria-label={action === 'stop' ? 'Stop' : `Move ${label} (hold)`}
      title={action === 'stop' ? 'Stop' : `Hold to move ${label}`}
      onPointerDown={(e) => {
        if (e.button !== 0) return;
        (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
        start(action);
      }}
      onPointerUp={end}
      onPointerCancel={end}
      onLostPointerCapture={end}
      onKeyDown={(e) => {
        if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) {
          e.preventDefault();
          start(action);
        }
      }}
      onKeyUp={(e) => {
        if (e.key === ' ' || e.key === 'Enter') end();
      }}
      onBlur={end}
      onContextMenu={(e) => e.preventDefault()}
    >
      {glyph}
    </button>
  );

  if (!open) {
    return (
      <div class="ptz ptz-collapsed">
        <button type="button" class="link" data-testid="ptz-show" onClick={() => setOpen(true)}>
          PTZ controls (the camera did not say whether it can move)
        </button>
      </div>
    );
  }
  return (
    <div class="ptz" data-testid="ptz-pad">
      <div class="ptz-grid" role="group" aria-label="Pan and tilt">
        {pad.map((p) => button(p.action, p.glyph, p.label))}
      </div>
      <div class="ptz-side">
        <div class="ptz-zoom" role="group" aria-label="Zoom">
          {button('zoom-in', '+', 'zoom in')}
          {button('zoom-out', '−', 'zoom out')}
        </div>
        <label class="ptz-speed">
          Speed
          <input type="range" min={16} max={255} step={1} value={speed} data-testid="ptz-speed" onInput={(e) => setSpeed(Number((e.target as HTMLInputElement).value))} />
        </label>
        {error && (
          <div class="error-text small" role="alert" data-testid="ptz-error">
            {error}
          </div>
        )}
        {!error && <div class="muted small">Hold a button to move; release to stop.</div>}
      </div>
    </div>
  );
}
