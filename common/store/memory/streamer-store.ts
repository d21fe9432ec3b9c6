/** The streamer side of the store in this process (the StreamerStore contract, ../streamer-store.ts). */
import type { GbcastEvent, StreamerRecord } from '../../contracts.ts';
import { loadScore } from '../../redis/keys.ts';
import type { ProbeTarget, StreamerDirectives, StreamerStore } from '../streamer-store.ts';
import type { StreamerPool } from './streamer-pool.ts';

export class MemoryStreamerStore implements StreamerStore {
  readonly #pool: StreamerPool;
  readonly #publish: (event: GbcastEvent) => void;

  constructor(pool: StreamerPool, publish: (event: GbcastEvent) => void) {
    this.#pool = pool;
    this.#publish = publish;
  }

  async report(record: StreamerRecord, ttlSeconds: number): Promise<void> {
    const p = this.#pool;
    p.records.set(record.id, JSON.stringify(record), ttlSeconds * 1000);
    let scores = p.scores.get(record.pool);
    if (!scores) p.scores.set(record.pool, (scores = new Map()));
    scores.set(record.id, loadScore(record.activeStreams, record.cpuPercent, record.draining));
    if (p.probes.get(record.id) === undefined) p.probes.set(record.id, 0);
  }

  async remove(id: string, pool: string): Promise<void> {
    this.#pool.records.delete(id);
    this.#pool.scores.get(pool)?.delete(id);
  }

  async requestDrain(id: string): Promise<void> {
    this.#pool.drainRequests.add(id);
  }

  async setPublicAddress(id: string, address: string | undefined): Promise<void> {
    if (address) this.#pool.publicAddresses.set(id, address);
    else this.#pool.publicAddresses.delete(id);
  }

  async directives(id: string): Promise<StreamerDirectives> {
    const address = this.#pool.publicAddresses.get(id);
    const drain = this.#pool.drainRequests.has(id);
    return address ? { drain, publicAddress: address } : { drain };
  }

  async clearDirectives(id: string): Promise<void> {
    this.#pool.drainRequests.delete(id);
    this.#pool.publicAddresses.delete(id);
  }

  async publishEvent(event: GbcastEvent): Promise<void> {
    this.#publish(event);
  }

  async listPool(pool: string): Promise<StreamerRecord[]> {
    return this.#pool.liveRecords(pool);
  }

  async claimDueProbes(now: number, nextAt: number, limit = 100): Promise<ProbeTarget[]> {
    const p = this.#pool;
    return p.probes.claimDue(now, nextAt, limit).map((id) => {
      const target: ProbeTarget = { id };
      const record = p.records.get(id);
      if (record !== undefined) target.record = JSON.parse(record) as StreamerRecord;
      const started = p.probedStarts.get(id);
      if (started !== undefined) target.probedStartedAt = started;
      return target;
    });
  }

  async setProbedStart(id: string, startedAt: number): Promise<void> {
    this.#pool.probedStarts.set(id, startedAt);
  }

  async dropProbe(id: string): Promise<void> {
    this.#pool.probes.delete(id);
    this.#pool.probedStarts.delete(id);
  }
}
