/** The signaling API client: JSON over fetch, the bearer token, 401 → ask for the token and retry. */
import { askForToken, authHeaders, currentToken } from './token.ts';
import type { Channel, Device, DevicePage, PlayResult, PtzAction, Stream, Streamer, Summary } from './types.ts';

/** The API lives beside the console (relative, so a path prefix in front of signaling keeps working). */
export const apiBase = new URL('api/v1/', document.baseURI).href;

/** A stream's HTTP-FLV relayed by signaling (send authHeaders() with it). */
export function relayUrl(streamId: string): string {
  return `${apiBase}streams/${encodeURIComponent(streamId)}/live.flv`;
}

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

/** fetch with the token; on 401 asks for a token and tries again with it. */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const sent = currentToken();
    const res = await fetch(new URL(path, apiBase), { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
    if (res.status !== 401) return res;
    await res.body?.cancel();
    // Another request may have got a new token meanwhile: try that one first.
    if (currentToken() !== sent) continue;
    await askForToken(sent !== undefined);
  }
}

async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await authorizedFetch(path, {
    method,
    signal,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json ?? {}) as { error?: string; message?: string; reason?: string };
    throw new ApiError(res.status, err.error ?? err.message ?? `${method} ${path}: HTTP ${res.status}`, err.reason);
  }
  return json as T;
}

export interface DeviceQuery {
  q?: string;
  online?: boolean;
  after?: string;
  limit?: number;
}

export function listDevices(query: DeviceQuery, signal?: AbortSignal): Promise<DevicePage> {
  const params = new URLSearchParams();
  if (query.q) params.set('q', query.q);
  if (query.online !== undefined) params.set('online', String(query.online));
  if (query.after) params.set('after', query.after);
  if (query.limit) params.set('limit', String(query.limit));
  return call('GET', `devices?${params}`, undefined, signal);
}

export const getDevice = (id: string) => call<Device>('GET', `devices/${encodeURIComponent(id)}`);
export const listChannels = async (deviceId: string) =>
  (await call<{ channels: Channel[] }>('GET', `devices/${encodeURIComponent(deviceId)}/channels`)).channels;
export const play = (deviceId: string, channelId: string) =>
  call<PlayResult>('POST', `devices/${encodeURIComponent(deviceId)}/channels/${encodeURIComponent(channelId)}/play`, {});
export const ptz = (deviceId: string, channelId: string, action: PtzAction, speed: number) =>
  call<{ status: number }>('POST', `devices/${encodeURIComponent(deviceId)}/channels/${encodeURIComponent(channelId)}/ptz`, { action, speed });
export const listStreams = async () => (await call<{ streams: Stream[] }>('GET', 'streams')).streams;
export const stopStream = (streamId: string) => call<void>('DELETE', `streams/${encodeURIComponent(streamId)}`);
export const listStreamers = async () => (await call<{ streamers: Streamer[] }>('GET', 'streamers')).streamers;
export const getSummary = () => call<Summary>('GET', 'summary');
