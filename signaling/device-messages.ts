/**
 * MESSAGE requests from devices: keepalives (presence), answers to our queries (Catalog,
 * DeviceInfo, DeviceStatus), and notifications. Bodies are read by manscdp/ (any charset, broken
 * XML); what cannot be read is answered 400 and counted.
 *
 * A keepalive from a device that is not registered (unknown, expired, or unregistered) is answered
 * 403 so that it registers again, as GB28181 devices do on a refused keepalive.
 */
import type { Logger } from '../common/logger.ts';
import type { DeviceStore } from '../common/store/device-store.ts';
import type { DeviceQueries } from './device-queries.ts';
import { readBody } from '../common/manscdp/body.ts';
import type { SignalingStats } from './metrics.ts';
import { uriUser } from '../common/sip/parse.ts';
import type { IncomingRequest, SipStack } from '../common/sip/stack.ts';

export interface DeviceMessagesOptions {
  /** How long a keepalive keeps a device online: interval × missed keepalives. */
  keepaliveWindowMs: number;
  /** A keepalive brought the device back online (through this replica). */
  onBackOnline?(deviceId: string): void;
}

const COUNTED_COMMANDS = new Set(['keepalive', 'catalog', 'deviceInfo', 'deviceStatus', 'mediaStatus', 'alarm', 'query', 'deviceControl']);

export class DeviceMessages {
  readonly #options: DeviceMessagesOptions;
  readonly #stack: SipStack;
  readonly #store: DeviceStore;
  readonly #queries: DeviceQueries;
  readonly #log: Logger;
  readonly #stats: SignalingStats;

  constructor(options: DeviceMessagesOptions, stack: SipStack, store: DeviceStore, queries: DeviceQueries, log: Logger, stats: SignalingStats) {
    this.#options = options;
    this.#stack = stack;
    this.#store = store;
    this.#queries = queries;
    this.#log = log;
    this.#stats = stats;
  }

  handle(request: IncomingRequest): void {
    const m = request.message;
    const from = uriUser(m.headers.from?.uri);
    const body = readBody(request.body);
    if (!body.ok || !from) {
      this.#stats.badBodies++;
      this.#stack.reply(m, 400, 'Bad Request');
      return;
    }
    const message = body.message;
    const kind = COUNTED_COMMANDS.has(message.kind) ? message.kind : 'other';
    this.#stats.messagesIn[kind] = (this.#stats.messagesIn[kind] ?? 0) + 1;
    if (message.kind === 'keepalive') {
      this.#store.keepalive(from, Date.now(), this.#options.keepaliveWindowMs).then(
        (result) => {
          this.#stats.keepalives[result] = (this.#stats.keepalives[result] ?? 0) + 1;
          if (result === 'unknown') {
            this.#stack.reply(m, 403, 'Forbidden');
            return;
          }
          this.#stack.reply(m, 200, 'OK');
          if (result === 'back-online') {
            this.#log.info({ deviceId: from }, 'device back online (keepalive)');
            this.#queries.afterRegistration(from, request.remote);
            this.#options.onBackOnline?.(from);
          }
        },
        (err: unknown) => {
          this.#log.warn({ err, deviceId: from }, 'keepalive not recorded');
          this.#stack.reply(m, 500, 'Server Internal Error');
        },
      );
      return;
    }
    this.#stack.reply(m, 200, 'OK');
    switch (message.kind) {
      case 'catalog':
      case 'deviceInfo':
      case 'deviceStatus':
        this.#queries.onAnswer(from, message);
        return;
      case 'alarm':
      case 'mediaStatus':
        this.#log.info({ deviceId: from, cmdType: message.cmdType, source: message.deviceId }, 'device notification');
        return;
      default:
        this.#log.debug({ deviceId: from, root: message.root, cmdType: message.cmdType }, 'MESSAGE not handled');
    }
  }
}
