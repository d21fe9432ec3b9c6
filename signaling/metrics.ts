/**
 * Signaling's Prometheus metrics, read at scrape time from plain counters (SipStackStats,
 * SignalingStats) and from Redis (devices, online). Labels are bounded: SIP methods are a fixed
 * list (others count as "other"), response codes are numbers, outcomes are enumerations.
 */
import type { Registry } from 'prom-client';
import { Gauge, Histogram } from 'prom-client';
import { scrapedCounter, scrapedGauge } from '../common/metrics.ts';
import type { Signaling } from './signaling.ts';
import { readUdpDrops } from '../common/udp-kernel-drops.ts';

export class SignalingStats {
  registerOutcomes: Record<string, number> = {};
  keepalives: Record<string, number> = { alive: 0, 'back-online': 0, unknown: 0 };
  messagesIn: Record<string, number> = {};
  badBodies = 0;
  queriesSent: Record<string, number> = {};
  catalogsCompleted = 0;
  catalogsIncomplete = 0;
  presenceExpired = 0;
  inviteOutcomes: Record<string, number> = { ok: 0 };
  /** Setup times (ms) of successful plays since the last scrape; drained into a histogram. */
  inviteSetupMs: number[] = [];
  streamsEnded: Record<string, number> = {};
  /** Clients of GET /api/v1/events connected now, and those dropped for not keeping up. */
  eventClients = 0;
  /** Viewers of HTTP-FLV relayed through signaling (GET /api/v1/streams/{id}/live.flv) now. */
  flvRelayViewers = 0;
  eventClientsDropped = 0;
  /** Always-on streams this replica started, by trigger; plays of always-on channels that failed, by reason. */
  alwaysOnRestarts: Record<string, number> = {};
  alwaysOnFailures: Record<string, number> = {};
  /** Streamers this replica found gone: unreachable, or restarted (streams of the earlier process). */
  streamersGone: Record<string, number> = { unreachable: 0, restarted: 0 };
}

function splitPairs(values: Record<string, number>, firstLabel: string): { labels: Record<string, string>; value: number }[] {
  return Object.entries(values).map(([key, value]) => {
    const [a, b] = key.split(' ');
    return { labels: { [firstLabel]: a, code: b ?? '' }, value };
  });
}

export function registerSignalingMetrics(registry: Registry, signaling: Signaling): void {
  const s = signaling.stats;
  const sip = () => signaling.stack.stats;
  scrapedCounter(registry, 'gbcast_signaling_sip_requests_received_total', 'SIP requests received (not retransmissions), by method.', 'method', () => ({ ...sip().requestsIn }));
  scrapedCounter(registry, 'gbcast_signaling_sip_requests_sent_total', 'SIP requests sent to devices, by method.', 'method', () => ({ ...sip().requestsOut }));
  for (const [name, help, read] of [
    ['gbcast_signaling_sip_responses_sent_total', 'SIP responses sent, by request method and status code.', () => sip().responsesOut],
    ['gbcast_signaling_sip_responses_received_total', 'SIP responses received from devices, by request method and status code.', () => sip().responsesIn],
  ] as const) {
    new Gauge({
      name,
      help: `${help} (a counter; exposed through a gauge because its label pairs are created as seen)`,
      labelNames: ['method', 'code'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, value } of splitPairs(read(), 'method')) this.set(labels, value);
      },
    });
  }
  scrapedCounter(registry, 'gbcast_signaling_sip_dropped_total', 'SIP messages dropped, by reason.', 'reason', () => ({ ...sip().dropped }));
  scrapedCounter(registry, 'gbcast_signaling_sip_header_lines_dropped_total', 'Unparsable SIP header lines removed from otherwise good messages.', undefined, () => sip().headerLinesDropped);
  scrapedCounter(registry, 'gbcast_signaling_registrations_total', 'REGISTER outcomes (registered, unregistered, challenged, stale, wrong-password, locked-out, unknown-device, replay, bad-request, error).', 'outcome', () => ({ ...s.registerOutcomes }));
  scrapedCounter(registry, 'gbcast_signaling_auth_failures_total', 'Digest authentication failures (wrong password, lockout, unknown device, replay).', undefined, () =>
    ['wrong-password', 'locked-out', 'unknown-device', 'replay'].reduce((sum, k) => sum + (s.registerOutcomes[k] ?? 0), 0),
  );
  scrapedCounter(registry, 'gbcast_signaling_keepalives_total', 'Keepalives, by result.', 'result', () => ({ ...s.keepalives }));
  scrapedCounter(registry, 'gbcast_signaling_device_messages_total', 'MANSCDP messages from devices, by command type.', 'cmd', () => ({ ...s.messagesIn }));
  scrapedCounter(registry, 'gbcast_signaling_bad_bodies_total', 'MANSCDP bodies that could not be parsed.', undefined, () => s.badBodies);
  scrapedCounter(registry, 'gbcast_signaling_queries_sent_total', 'Queries sent to devices, by command type.', 'cmd', () => ({ ...s.queriesSent }));
  scrapedCounter(registry, 'gbcast_signaling_catalogs_total', 'Catalog answers collected, complete (SumNum reached) or incomplete (timed out).', 'result', () => ({
    complete: s.catalogsCompleted,
    incomplete: s.catalogsIncomplete,
  }));
  scrapedCounter(registry, 'gbcast_signaling_presence_expired_total', 'Devices taken offline by this replica\'s sweeper.', undefined, () => s.presenceExpired);
  new Gauge({
    name: 'gbcast_signaling_devices',
    help: 'Known devices, and online devices, from Redis.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      try {
        const [known, online] = await Promise.all([signaling.store.count(), signaling.store.countOnline()]);
        this.set({ state: 'known' }, known);
        this.set({ state: 'online' }, online);
      } catch {
        // Redis down: keep the last values; /readyz says why.
      }
    },
  });
  scrapedCounter(registry, 'gbcast_signaling_invites_total', 'Plays that needed an INVITE, by outcome (ok, or why they failed).', 'outcome', () => ({ ...s.inviteOutcomes }));
  scrapedCounter(registry, 'gbcast_signaling_streams_ended_total', 'Streams ended, by reason.', 'reason', () => ({ ...s.streamsEnded }));
  new Histogram({
    name: 'gbcast_signaling_invite_setup_seconds',
    help: 'Time from a play request to a running stream (streamer pick, receiver, INVITE, ACK).',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [registry],
    collect() {
      for (const ms of s.inviteSetupMs.splice(0)) this.observe(ms / 1000);
    },
  });
  new Gauge({
    name: 'gbcast_signaling_streams',
    help: 'Streams running (all replicas), from Redis.',
    registers: [registry],
    async collect() {
      try {
        this.set(await signaling.streamCount());
      } catch {
        // Redis down: keep the last value.
      }
    },
  });
  new Gauge({
    name: 'gbcast_signaling_always_on_channels',
    help: 'Always-on channels (all replicas), from the store: configured, wanted (their device is online) and running (a live stream).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      try {
        const census = await signaling.alwaysOn.census();
        for (const [state, value] of Object.entries(census)) this.set({ state }, value);
      } catch {
        // store down: keep the last values.
      }
    },
  });
  scrapedCounter(
    registry,
    'gbcast_signaling_always_on_restarts_total',
    'Always-on streams this replica started, by why: device-online, check (found without a stream), retry (after a failed play), or the end reason of the stream it replaced (device-bye, no-media, streamer-gone, streamer-draining, …).',
    'reason',
    () => ({ ...s.alwaysOnRestarts }),
  );
  scrapedCounter(registry, 'gbcast_signaling_always_on_play_failures_total', 'Plays of always-on channels that failed, by reason (as the API\'s reasons).', 'reason', () => ({ ...s.alwaysOnFailures }));
  scrapedCounter(
    registry,
    'gbcast_signaling_streamers_gone_total',
    'Streamers this replica\'s health probes found gone (unreachable twice in a row) or restarted (their streams lost), whose streams it ended.',
    'why',
    () => ({ ...s.streamersGone }),
  );
  scrapedGauge(registry, 'gbcast_signaling_event_stream_clients', 'Clients of the API\'s event stream (GET /api/v1/events) connected now.', () => s.eventClients);
  scrapedGauge(registry, 'gbcast_signaling_flv_relay_viewers', 'Viewers of HTTP-FLV relayed through signaling (the console outside the cluster) now.', () => s.flvRelayViewers);
  scrapedCounter(registry, 'gbcast_signaling_event_stream_clients_dropped_total', 'Event stream clients disconnected because they did not keep up.', undefined, () => s.eventClientsDropped);
  scrapedCounter(registry, 'gbcast_signaling_sip_udp_kernel_drops_total', 'SIP datagrams the kernel dropped because the socket buffer was full.', undefined, () => readUdpDrops(signaling.sipPort));
  scrapedGauge(registry, 'gbcast_signaling_sip_tcp_connections_total', 'SIP TCP connections accepted or opened since start.', () => sip().tcpConnections);
}
