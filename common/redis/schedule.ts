/**
 * Schedules kept as sorted sets (member = what, score = when, in ms): every replica may sweep them,
 * and each due member is handed to one caller only, because taking is one script.
 */
import type { Redis } from 'ioredis';

const TAKE_DUE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
`;

type ScheduleClient = Redis & { gbTakeDue(key: string, now: number, limit: number): Promise<string[]> };

/** Removes and returns up to `limit` members of `key` whose time (score) is ≤ now. */
export function takeDue(redis: Redis, key: string, now: number, limit: number): Promise<string[]> {
  const r = redis as ScheduleClient;
  if (typeof r.gbTakeDue !== 'function') redis.defineCommand('gbTakeDue', { numberOfKeys: 1, lua: TAKE_DUE });
  return r.gbTakeDue(key, now, limit);
}
