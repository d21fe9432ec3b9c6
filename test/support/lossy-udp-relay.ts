/**
 * A UDP relay that damages traffic the way the internet does, reproducibly: it drops, duplicates
 * and reorders datagrams according to a seeded PRNG. Cameras send to `port`; the relay forwards to
 * the target.
 */
import dgram from 'node:dgram';
import { mulberry32 } from '../../common/testing/prng.ts';

export interface LossyRelayOptions {
  seed: number;
  targetHost: string;
  targetPort: number;
  /** Probability that a datagram is dropped. */
  loss: number;
  /** Probability that a datagram is held back and sent after the next 1–`maxDisplacement` ones. */
  reorder: number;
  maxDisplacement: number;
  /** Probability that a datagram is sent twice. */
  duplicate: number;
  /** Datagrams at the start that pass untouched (so the stream can begin). */
  cleanStart?: number;
}

export interface LossyRelay {
  readonly port: number;
  readonly stats: { received: number; forwarded: number; dropped: number; reordered: number; duplicated: number };
  close(): Promise<void>;
}

export async function startLossyRelay(o: LossyRelayOptions): Promise<LossyRelay> {
  const rnd = mulberry32(o.seed);
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const stats = { received: 0, forwarded: 0, dropped: 0, reordered: 0, duplicated: 0 };
  /** Held datagrams with the number of later datagrams to let pass first. */
  let held: { msg: Buffer; after: number }[] = [];
  const send = (msg: Buffer) => {
    stats.forwarded++;
    socket.send(msg, o.targetPort, o.targetHost);
  };
  socket.on('message', (msg) => {
    stats.received++;
    if (stats.received > (o.cleanStart ?? 0)) {
      const r = rnd();
      if (r < o.loss) {
        stats.dropped++;
        return;
      }
      if (r < o.loss + o.reorder) {
        stats.reordered++;
        held.push({ msg, after: 1 + Math.floor(rnd() * o.maxDisplacement) });
        return;
      }
      if (r < o.loss + o.reorder + o.duplicate) {
        stats.duplicated++;
        send(msg);
      }
    }
    send(msg);
    if (held.length > 0) {
      const still: typeof held = [];
      for (const h of held) {
        if (--h.after <= 0) send(h.msg);
        else still.push(h);
      }
      held = still;
    }
  });
  return {
    port: socket.address().port,
    stats,
    close: () =>
      new Promise<void>((r) => {
        for (const h of held) send(h.msg);
        held = [];
        socket.close(() => r());
      }),
  };
}
