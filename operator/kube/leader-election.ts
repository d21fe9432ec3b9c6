/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 *
 * - A candidate takes the Lease when it is absent, released (no holder) or expired: its record
 *   (holder, renewTime...) has not changed for a lease duration as measured on the candidate's own
 *   clock (so clock skew between nodes does not matter).
 * - The leader renews every retryPeriod. When it cannot renew for renewDeadline (API errors, a
 *   partition), or sees another holder, it stops leading at once: the AbortSignal handed to
 *   onStartedLeading aborts and onStoppedLeading is called. renewDeadline < leaseDuration leaves
 *   the old leader time to stop before anyone else may take over.
 * - Every write carries the Lease's resourceVersion: of two candidates writing at once one gets
 *   409 and reads again.
 * - Cancelled while leading (shutdown), it clears the holder so a successor takes over on its next
 *   try instead of waiting for the lease to expire.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';
import { isAlreadyExists, isConflict, resources, type KubeClient } from './client.ts';
import { microTime, sleep } from './time.ts';
import type { Lease } from './types.ts';

export interface LeaderElectionOptions {
  namespace: string;
  /** The Lease's name (one per operator deployment). */
  name: string;
  /** This candidate (the pod name); unique among candidates. */
  identity: string;
  /** How long a Lease stays taken without renewal (default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before giving up (default 10 s). */
  renewDeadlineMs?: number;
  /** Between tries to acquire or renew (default 2 s). */
  retryPeriodMs?: number;
  /** Release the Lease when `run`'s signal aborts while leading (default true). */
  releaseOnCancel?: boolean;
  /**
   * Called on becoming leader. `signal` aborts when leadership ends (lost or cancelled): stop every
   * controller then. `run` waits for the returned promise before releasing the Lease.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called when leadership ends (after having started). */
  onStoppedLeading?(): void;
  /** Called whenever another (or this) candidate is seen to become the holder. */
  onNewLeader?(identity: string): void;
  /** Registers gbcast_operator_leader{lease,identity} (1 while leading) on this registry. */
  registry?: Registry;
  logger?: Logger;
  now?: () => number;
}

export class LeaderElector {
  readonly identity: string;
  readonly #client: KubeClient;
  readonly #o: Required<Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs' | 'releaseOnCancel'>> & LeaderElectionOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  #leading = false;
  #leader: string | undefined;
  /** The holder record last read or written, and when (our clock) it last changed. */
  #observedRecord = '';
  #observedAt = 0;
  #observedLease: Lease | undefined;
  #gauge: Gauge<'lease' | 'identity'> | undefined;
  #campaign: { stop: AbortController; done: Promise<void> } | undefined;

  constructor(client: KubeClient, options: LeaderElectionOptions) {
    this.#client = client;
    this.#o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, releaseOnCancel: true, ...options };
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = this.#o;
    if (!(leaseDurationMs > renewDeadlineMs)) throw new Error('leader election: leaseDuration must be greater than renewDeadline');
    if (!(renewDeadlineMs > retryPeriodMs * 1.2)) throw new Error('leader election: renewDeadline must be greater than 1.2 × retryPeriod');
    if (!options.identity) throw new Error('leader election: identity is empty');
    this.identity = options.identity;
    this.#logger = (options.logger ?? silentLogger()).child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    this.#now = options.now ?? Date.now;
    if (options.registry) this.#gauge = leaderGauge(options.registry);
    this.#setGauge();
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last seen ('' when released, undefined before the first read). */
  get leader(): string | undefined {
    return this.#leader;
  }

  /**
   * Campaigns in the background until stop(): leads whenever it wins, and after losing the Lease
   * campaigns again (onStartedLeading is then called again, with a fresh signal).
   */
  start(): void {
    if (this.#campaign) return;
    const stop = new AbortController();
    const done = (async () => {
      while (!stop.signal.aborted) {
        await this.run(stop.signal);
        // Lost: a short pause before campaigning again, so a flapping API is not hammered.
        await sleep(this.#o.retryPeriodMs, stop.signal);
      }
    })();
    this.#campaign = { stop, done };
  }

  /** Ends start()'s campaign: stops leading (onStoppedLeading), releases the Lease if held, resolves when done. */
  async stop(): Promise<void> {
    const campaign = this.#campaign;
    if (!campaign) return;
    campaign.stop.abort();
    await campaign.done;
    this.#campaign = undefined;
  }

  /**
   * One term: campaigns until leading, leads until leadership is lost or `signal` aborts, then
   * returns (after releasing the Lease if cancelled).
   */
  async run(signal: AbortSignal = new AbortController().signal): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.#o;
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(signal)) break;
      await sleep(retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    if (signal.aborted) return;

    this.#leading = true;
    this.#setGauge();
    this.#logger.info('became leader');
    const lead = new AbortController();
    const work = (async () => this.#o.onStartedLeading(lead.signal))().catch((err: unknown) => {
      this.#logger.error({ err }, 'onStartedLeading failed');
    });

    let lastRenew = this.#now();
    while (!signal.aborted) {
      await sleep(retryPeriodMs, signal);
      if (signal.aborted) break;
      const left = lastRenew + renewDeadlineMs - this.#now();
      const renewed = left > 0 && (await this.#tryAcquireOrRenew(AbortSignal.any([signal, AbortSignal.timeout(left)])));
      if (renewed) {
        lastRenew = this.#now();
        continue;
      }
      if (signal.aborted) break;
      if (this.#leader && this.#leader !== this.identity) {
        this.#logger.warn({ holder: this.#leader }, 'leadership lost: another candidate holds the lease');
        break;
      }
      if (this.#now() - lastRenew >= renewDeadlineMs) {
        this.#logger.warn({ renewDeadlineMs }, 'leadership lost: could not renew the lease in time');
        break;
      }
    }

    this.#leading = false;
    this.#setGauge();
    lead.abort(new Error('leadership ended'));
    this.#call(() => this.#o.onStoppedLeading?.());
    await work;
    if (signal.aborted && this.#o.releaseOnCancel) await this.#release();
  }

  // -------------------------------------------------------------------------------------------

  /** One try; true when this candidate holds the Lease afterwards. Never throws. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { namespace, name } = this.#o;
    const client = this.#client;
    const now = this.#now();
    try {
      const lease = await client.tryGet(resources.leases, name, namespace, { signal });
      if (!lease) {
        const created = await client.create(
          resources.leases,
          { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: this.#spec(now, now, 0) },
          { signal },
        );
        this.#observe(created, now);
        return true;
      }
      this.#observe(lease, now);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const durationMs = spec.leaseDurationSeconds ? spec.leaseDurationSeconds * 1000 : this.#o.leaseDurationMs;
      if (holder && holder !== this.identity && this.#observedAt + durationMs > now) return false;
      const mine = holder === this.identity;
      const acquireMs = mine && spec.acquireTime ? Date.parse(spec.acquireTime) : now;
      const transitions = (spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
      const updated = await client.replace(resources.leases, { ...lease, spec: this.#spec(acquireMs, now, transitions) }, { signal });
      this.#observe(updated, now);
      return true;
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) this.#logger.debug({ err }, 'lease changed meanwhile; reading it again next time');
      else if (!signal.aborted || this.#leading) this.#logger.warn({ err }, 'cannot acquire or renew the lease');
      return false;
    }
  }

  #spec(acquireMs: number, renewMs: number, transitions: number): NonNullable<Lease['spec']> {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.#o.leaseDurationMs / 1000)),
      acquireTime: microTime(acquireMs),
      renewTime: microTime(renewMs),
      leaseTransitions: transitions,
    };
  }

  #observe(lease: Lease, now: number): void {
    this.#observedLease = lease;
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity ?? '', spec.leaseDurationSeconds, spec.acquireTime, spec.renewTime, spec.leaseTransitions]);
    if (record !== this.#observedRecord) {
      this.#observedRecord = record;
      this.#observedAt = now;
    }
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.#leader) {
      this.#leader = holder;
      if (holder) this.#call(() => this.#o.onNewLeader?.(holder));
    }
  }

  /** Clears the holder if it is still this candidate, so a successor need not wait for expiry. */
  async #release(): Promise<void> {
    const { namespace, name } = this.#o;
    const client = this.#client;
    const signal = AbortSignal.timeout(this.#o.renewDeadlineMs);
    try {
      const lease = (await client.tryGet(resources.leases, name, namespace, { signal })) ?? this.#observedLease;
      if (!lease || lease.spec?.holderIdentity !== this.identity) return;
      const now = this.#now();
      await client.replace(
        resources.leases,
        {
          ...lease,
          spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: lease.spec?.leaseTransitions ?? 0 },
        },
        { signal },
      );
      this.#leader = '';
      this.#logger.info('lease released');
    } catch (err) {
      this.#logger.warn({ err }, 'cannot release the lease; it will expire');
    }
  }

  #setGauge(): void {
    this.#gauge?.set({ lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.identity }, this.#leading ? 1 : 0);
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error({ err }, 'leader election callback threw');
    }
  }
}

const gauges = new WeakMap<Registry, Gauge<'lease' | 'identity'>>();

function leaderGauge(registry: Registry): Gauge<'lease' | 'identity'> {
  let gauge = gauges.get(registry);
  if (!gauge) {
    gauge = new Gauge({ name: 'gbcast_operator_leader', help: '1 while this replica holds the Lease, else 0.', labelNames: ['lease', 'identity'], registers: [registry] });
    gauges.set(registry, gauge);
  }
  return gauge;
}
