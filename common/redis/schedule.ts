/**
 * Schedules kept as sorted sets (member = what, score = when, in ms): every replica may sweep them,
 * and each due member is handed to one caller only, because taking (or claiming) is one script.
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

const CLAIM_DUE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], member) end
return due
`;

type ClaimClient = Redis & { gbClaimDue(key: string, now: number, nextAt: number, limit: number): Promise<string[]> };

/**
 * Returns up to `limit` members of `key` whose time is ≤ now and moves them to `nextAt` in the same
 * step: a lease rather than a take, so a member stays scheduled if its caller dies.
 */
export function claimDue(redis: Redis, key: string, now: number, nextAt: number, limit: number): Promise<string[]> {
  const r = redis as ClaimClient;
  if (typeof r.gbClaimDue !== 'function') redis.defineCommand('gbClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE });
  return r.gbClaimDue(key, now, nextAt, limit);
}
