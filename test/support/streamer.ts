/** Starts a real Streamer in this process on free ports, for tests. */
import { parseConfig } from '../../common/config.ts';
import { createLogger, silentLogger } from '../../common/logger.ts';
import { streamerOptions } from '../../streamer/config.ts';
import { Streamer, type StreamerConfig, type StreamerOptions } from '../../streamer/streamer.ts';

export type StreamerOverrides = Partial<{ -readonly [K in keyof StreamerConfig]: StreamerConfig[K] }>;

export async function startTestStreamer(overrides: StreamerOverrides = {}, options: StreamerOptions = {}): Promise<Streamer> {
  const base = parseConfig(streamerOptions, [], {});
  const config = {
    ...base,
    rtpPort: 0,
    rtpHost: '127.0.0.1',
    httpPort: 0,
    httpHost: '127.0.0.1',
    publicAddress: '127.0.0.1',
    streamerId: `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    ...overrides,
  } as StreamerConfig;
  const logger = process.env.GBCAST_TEST_LOGS ? createLogger('streamer', 'debug') : silentLogger();
  const streamer = new Streamer(config, logger, options);
  await streamer.start();
  return streamer;
}

/** JSON over HTTP to the streamer's API. */
export async function api<T = unknown>(
  streamer: Streamer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${streamer.httpUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}
