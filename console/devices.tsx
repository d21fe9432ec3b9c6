/**
 * Devices: search (id prefix, or part of name, vendor, model, IP), online filter, pages of 100 in
 * id order; rows follow the event stream (device.online/offline re-read that device), the page
 * shown is read again every 30 s for keepalive times, and all of it after an event-stream
 * reconnect. A selected device opens its channels and the player beside the list.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { getDevice, listDevices } from './api.ts';
import { DevicePanel } from './device-panel.tsx';
import { subscribeEvents, subscribeReconnect } from './events.ts';
import { ago } from './format.ts';
import { useDebounced, useInterval, useNow, usePageVisible } from './hooks.ts';
import type { Device } from './types.ts';

const pageSize = 100;
/** A filtered page may take several calls (each scans at most 20,000 devices); at most this many. */
const maxCallsPerPage = 25;

type OnlineFilter = 'all' | 'online' | 'offline';

interface Page {
  devices: Device[];
  next?: string;
  scanned: number;
}

async function loadPage(q: string, online: OnlineFilter, after: string | undefined, signal: AbortSignal, progress: (scanned: number) => void): Promise<Page> {
  const filter = { q: q || undefined, online: online === 'all' ? undefined : online === 'online' };
  const devices: Device[] = [];
  let cursor = after;
  let scanned = 0;
  for (let call = 0; call < maxCallsPerPage; call++) {
    const res = await listDevices({ ...filter, after: cursor, limit: pageSize - devices.length }, signal);
    devices.push(...res.devices);
    scanned += res.scanned ?? res.devices.length;
    progress(scanned);
    cursor = res.next;
    if (!cursor || devices.length >= pageSize) break;
  }
  return { devices, next: cursor, scanned };
}

function vendor(d: Device): string {
  return [d.manufacturer, d.model].filter(Boolean).join(' · ');
}

export function DevicesView() {
  const [query, setQuery] = useState('');
  const [online, setOnline] = useState<OnlineFilter>('all');
  const q = useDebounced(query.trim(), 250);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Page>();
  const [loading, setLoading] = useState(false);
  const [scanning, setScanning] = useState(0);
  const [error, setError] = useState<string>();
  const [selectedId, setSelectedId] = useState<string>();
  const [reloadTick, setReloadTick] = useState(0);
  const visible = usePageVisible();
  const now = useNow(5000);
  const after = cursors[cursors.length - 1];
  const shown = useRef<Page | undefined>(undefined);
  shown.current = page;

  // A new filter starts at the first page.
  useEffect(() => setCursors([undefined]), [q, online]);

  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    setScanning(0);
    loadPage(q, online, after, abort.signal, setScanning).then(
      (p) => {
        setPage(p);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        setError(err instanceof Error ? err.message : String(err));
        setLoading(false);
      },
    );
    return () => abort.abort();
  }, [q, online, after, reloadTick]);

  const reload = useCallback(() => setReloadTick((t) => t + 1), []);
  useInterval(reload, 30_000, visible);
  useEffect(() => subscribeReconnect(reload), [reload]);

  // Devices named by events are read again, in a batch.
  const dirty = useRef(new Set<string>());
  const flush = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(
    () =>
      subscribeEvents((event) => {
        if (event.type !== 'device.online' && event.type !== 'device.offline') return;
        const current = shown.current;
        if (!current) return;
        const here = current.devices.some((d) => d.id === event.deviceId);
        if (here) {
          // Show the new state at once; the record follows.
          setPage((p) => p && { ...p, devices: p.devices.map((d) => (d.id === event.deviceId ? { ...d, online: event.type === 'device.online' } : d)) });
          dirty.current.add(event.deviceId);
        } else if (!current.next && event.type === 'device.online') {
          // Maybe a new device that belongs on this (last) page.
          reload();
          return;
        } else return;
        if (flush.current) return;
        flush.current = setTimeout(async () => {
          flush.current = undefined;
          const ids = [...dirty.current];
          dirty.current.clear();
          const fresh = await Promise.all(ids.map((id) => getDevice(id).catch(() => undefined)));
          const byId = new Map(fresh.filter((d): d is Device => d !== undefined).map((d) => [d.id, d]));
          setPage((p) => p && { ...p, devices: p.devices.map((d) => byId.get(d.id) ?? d) });
        }, 300);
      }),
    [reload],
  );

  const selected = useMemo(() => page?.devices.find((d) => d.id === selectedId), [page, selectedId]);
  const [selectedCopy, setSelectedCopy] = useState<Device>();
  useEffect(() => {
    if (selected) setSelectedCopy(selected);
  }, [selected]);
  const detail = selectedId ? (selected ?? (selectedCopy?.id === selectedId ? selectedCopy : undefined)) : undefined;

  const first = (cursors.length - 1) * pageSize + 1;
  const filtered = q !== '' || online !== 'all';

  return (
    <div class={detail ? 'split with-panel' : 'split'}>
      <section class="pane list-pane" aria-label="Devices">
        <div class="toolbar">
          <input
            type="search"
            class="search"
            placeholder="Search id, name, vendor, model, IP…"
            aria-label="Search devices"
            data-testid="device-search"
            value={query}
            onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          />
          <select aria-label="Online filter" data-testid="device-filter-online" value={online} onChange={(e) => setOnline((e.target as HTMLSelectElement).value as OnlineFilter)}>
            <option value="all">All</option>
            <option value="online">Online</option>
            <option value="offline">Offline</option>
          </select>
          <div class="spacer" />
          <span class="muted pager-text" data-testid="device-range">
            {loading && filtered && scanning > 0
              ? `searching… ${scanning.toLocaleString()} looked at`
              : page && page.devices.length > 0
                ? `${first.toLocaleString()}–${(first + page.devices.length - 1).toLocaleString()}`
                : ''}
          </span>
          <button type="button" data-testid="device-page-prev" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))} aria-label="Previous page">
            ‹
          </button>
          <button type="button" data-testid="device-page-next" disabled={!page?.next} onClick={() => page?.next && setCursors((c) => [...c, page.next])} aria-label="Next page">
            ›
          </button>
        </div>
        {error && <div class="error-bar" role="alert">{error}</div>}
        <div class="table-wrap">
          <table class="grid devices" data-testid="device-table" aria-busy={loading}>
            <thead>
              <tr>
                <th class="c-state" aria-label="Online" />
                <th class="c-id">Device ID</th>
                <th>Name</th>
                <th class="c-vendor">Vendor / model</th>
                <th class="c-addr">Address</th>
                <th class="c-num" title="Channels">Ch.</th>
                <th class="c-time">Keepalive</th>
              </tr>
            </thead>
            <tbody>
              {page?.devices.map((d) => (
                <tr
                  key={d.id}
                  data-testid="device-row"
                  data-device-id={d.id}
                  data-online={d.online ? 'true' : 'false'}
                  class={d.id === selectedId ? 'selected' : undefined}
                  aria-selected={d.id === selectedId}
                  tabIndex={0}
                  onClick={() => setSelectedId(d.id === selectedId ? undefined : d.id)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault();
                      setSelectedId(d.id === selectedId ? undefined : d.id);
                    }
                  }}
                >
                  <td class="c-state">
                    <span class={d.online ? 'pill on' : 'pill off'} title={d.online ? 'online' : 'offline'} />
                  </td>
                  <td class="c-id mono">{d.id}</td>
                  <td class="ellipsis" title={d.name}>
                    {d.name ?? <span class="muted">—</span>}
                  </td>
                  <td class="c-vendor ellipsis" title={vendor(d)}>
                    {vendor(d) || <span class="muted">—</span>}
                  </td>
                  <td class="c-addr mono ellipsis" title={`${d.transport} ${d.ip}:${d.port}`}>
                    {d.ip}:{d.port}
                  </td>
                  <td class="c-num">{d.channelCount ?? '—'}</td>
                  <td class="c-time" title={d.lastKeepaliveAt ? new Date(d.lastKeepaliveAt).toLocaleString() : undefined}>
                    {ago(d.lastKeepaliveAt, now)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {page && page.devices.length === 0 && !loading && (
            <div class="empty" data-testid="device-empty">
              {filtered ? (page.next ? 'No match yet: more devices to look at with ›.' : 'No device matches.') : 'No device has registered yet.'}
            </div>
          )}
        </div>
      </section>
      {detail && <DevicePanel key={detail.id} device={detail} onClose={() => setSelectedId(undefined)} />}
    </div>
  );
}
