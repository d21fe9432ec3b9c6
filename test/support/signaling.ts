/** Starts a real Signaling in this process on free ports, for tests (on Redis, or on a given store backend). */
import { parseConfig } from '../../common/config.ts';
import { createLogger, silentLogger } from '../../common/logger.ts';
import { signalingOptions } from '../../signaling/config.ts';
import type { StoreBackend } from '../../common/store/backend.ts';
import { Signaling, type SignalingConfig } from '../../signaling/signaling.ts';

export type SignalingOverrides = Partial<{ -readonly [K in keyof SignalingConfig]: SignalingConfig[K] }>;

export const TEST_SERVER_ID = '34020000002000000001';
export const TEST_REALM = '3402000000';
export const TEST_PASSWORD = 'secret123';

export async function startTestSignaling(redisUrl: string, overrides: SignalingOverrides = {}, backend?: StoreBackend): Promise<Signaling> {
  const base = parseConfig(signalingOptions, [], { GBCAST_REDIS_URL: redisUrl });
  const config = {
    ...base,
    sipPort: 0,
    sipHost: '127.0.0.1',
    httpPort: 0,
    httpHost: '127.0.0.1',
    publicAddress: '127.0.0.1',
    password: TEST_PASSWORD,
    redisPrefix: `test${Math.random().toString(36).slice(2, 8)}:`,
    ...overrides,
  } as SignalingConfig;
  const logger = process.env.GBCAST_TEST_LOGS ? createLogger('signaling', 'debug') : silentLogger();
  const signaling = new Signaling(config, logger, { backend });
  await signaling.start();
  return signaling;
}

/** Signaling on a store backend it does not own, with no Redis URL at all (as `gbcast all` runs it). */
export function startTestSignalingOn(backend: StoreBackend, overrides: SignalingOverrides = {}): Promise<Signaling> {
  return startTestSignaling('redis://unused', { redisUrl: undefined, ...overrides }, backend);
}
