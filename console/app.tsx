/** The shell: header with counts and the event stream's state, tabs, the views, the token dialog. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { getSummary } from './api.ts';
import { DevicesView } from './devices.tsx';
import { connectEvents, publishEvent, publishReconnect, subscribeEvents, subscribeLocalChange, type EventStreamState } from './events.ts';
import { useInterval, usePageVisible } from './hooks.ts';
import { StreamersView } from './streamers.tsx';
import { StreamsView } from './streams.tsx';
import { TokenDialog } from './token-dialog.tsx';
import type { Summary } from './types.ts';

type Tab = 'devices' | 'streams' | 'streamers';
const tabs: { id: Tab; label: string }[] = [
  { id: 'devices', label: 'Devices' },
  { id: 'streams', label: 'Streams' },
  { id: 'streamers', label: 'Streamers' },
];

function tabFromHash(): Tab {
  const h = location.hash.replace(/^#\/?/, '');
  return tabs.some((t) => t.id === h) ? (h as Tab) : 'devices';
}

const stateText: Record<EventStreamState, string> = { connecting: 'connecting…', live: 'live', down: 'reconnecting…' };

export function App() {
  const [tab, setTab] = useState<Tab>(tabFromHash());
  const [summary, setSummary] = useState<Summary>();
  const [eventState, setEventState] = useState<EventStreamState>('connecting');
  const visible = usePageVisible();

  useEffect(() => {
    const on = () => setTab(tabFromHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);

  const refreshSummary = useCallback(() => {
    getSummary().then(setSummary, () => undefined);
  }, []);
  // Events change the counts: read them again, at most once a second.
  const pending = useRef<ReturnType<typeof setTimeout>>(undefined);
  const refreshSoon = useCallback(() => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      refreshSummary();
    }, 1000);
  }, [refreshSummary]);

  useEffect(() => {
    refreshSummary();
    const stop = connectEvents({
      onEvent: publishEvent,
      onOpen: (reconnected) => {
        if (reconnected) {
          publishReconnect();
          refreshSummary();
        }
      },
      onState: setEventState,
    });
    const unsubscribe = subscribeEvents(refreshSoon);
    const unsubscribeLocal = subscribeLocalChange(refreshSoon);
    return () => {
      stop();
      unsubscribe();
      unsubscribeLocal();
    };
  }, [refreshSummary, refreshSoon]);
  // Streams and streamers change without events (loads, bitrates): a slow refresh of the counts.
  useInterval(refreshSummary, 15_000, visible);

  const counts: Record<Tab, string> = {
    devices: summary ? `${summary.devices.online.toLocaleString()} online / ${summary.devices.total.toLocaleString()}` : '',
    streams: summary ? String(summary.streams) : '',
    streamers: summary ? `${summary.streamers.total}${summary.streamers.draining ? ` (${summary.streamers.draining} draining)` : ''}` : '',
  };

  return (
    <div class="shell">
      <header class="topbar">
        <div class="brand">gbcast</div>
        <nav class="tabs" role="tablist">
          {tabs.map((t) => (
            <a
              key={t.id}
              href={`#/${t.id}`}
              role="tab"
              aria-selected={tab === t.id}
              class={tab === t.id ? 'tab active' : 'tab'}
              data-testid={`nav-${t.id}`}
            >
              {t.label}
              {counts[t.id] && <span class="count" data-testid={`count-${t.id}`}>{counts[t.id]}</span>}
            </a>
          ))}
        </nav>
        <div class={`conn conn-${eventState}`} data-testid="events-state" data-state={eventState} title="The console's event stream from signaling">
          <span class="dot" /> {stateText[eventState]}
        </div>
      </header>
      <main class="content">
        {/* Kept mounted: a video keeps playing while another tab is looked at. */}
        <div class="view" hidden={tab !== 'devices'}>
          <DevicesView />
        </div>
        {tab === 'streams' && <StreamsView />}
        {tab === 'streamers' && <StreamersView />}
      </main>
      <TokenDialog />
    </div>
  );
}
