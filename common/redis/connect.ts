import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';

/**
 * A Redis client that fails commands fast while Redis is unreachable (the data plane must keep
 * flowing without it) and reconnects in the background with capped backoff.
 */
export function connectRedis(url: string, logger: Logger, name = 'gbcast'): Redis {
  const client = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(200 * 2 ** Math.min(attempt, 6), 5000),
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) logger.warn({ err: err.message }, 'redis unavailable');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info('redis available again');
    down = false;
  });
  return client;
}

/** Resolves when the client is ready, rejects after `timeoutMs`. */
export function waitForRedis(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
