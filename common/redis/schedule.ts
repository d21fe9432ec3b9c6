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

const CLAIM_DUE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], member) end
return due
`;

type ScheduleClient = Redis & {
  gbTakeDue(key: string, now: number, limit: number): Promise<string[]>;
  gbClaimDue(key: string, now: number, nextAt: number, limit: number): Promise<string[]>;
};

/**
 * Defines the schedule scripts on the connection. Call it before the first use (the stores do, in
 * their constructors): a command defined while an auto-pipeline is being gathered is missing from
 * that pipeline, and ioredis then loses the calls queued with it.
 */
export function defineScheduleCommands(redis: Redis): void {
  const r = redis as ScheduleClient;
  if (typeof r.gbTakeDue !== 'function') redis.defineCommand('gbTakeDue', { numberOfKeys: 1, lua: TAKE_DUE });
  if (typeof r.gbClaimDue !== 'function') redis.defineCommand('gbClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE });
}

/** Removes and returns up to `limit` members of `key` whose time (score) is ≤ now. */
export function takeDue(redis: Redis, key: string, now: number, limit: number): Promise<string[]> {
  defineScheduleCommands(redis);
  return (redis as ScheduleClient).gbTakeDue(key, now, limit);
}

/**
 * Returns up to `limit` members of `key` whose time is ≤ now and moves them to `nextAt` in the same
 * step: a lease rather than a take, so a member stays scheduled if its caller dies.
 */
export function claimDue(redis: Redis, key: string, now: number, nextAt: number, limit: number): Promise<string[]> {
  defineScheduleCommands(redis);
  return (redis as ScheduleClient).gbClaimDue(key, now, nextAt, limit);
}
