/**
 * Queries to devices and the collection of their answers.
 *
 * When a device comes online it is asked for DeviceInfo, Catalog and DeviceStatus (MESSAGE to the
 * address its packets came from). A catalog arrives as pages (`SumNum` items in all, `DeviceList
 * Num` per page, any order, maybe repeated); pages are collected per device until SumNum distinct
 * channels arrived, then the channel list in Redis is replaced. If the device stops short, what
 * arrived is merged into the stored list when the timeout passes (a partial answer never deletes
 * channels). Collections are bounded in number and size.
 */
import { randomBytes } from 'node:crypto';
import type { SipMessage } from 'sip';
import type { Logger } from '../common/logger.ts';
import type { ChannelRecord, DeviceStore } from '../common/store/device-store.ts';
import { buildCatalogQuery, buildDeviceInfoQuery, buildDeviceStatusQuery, buildPtzControl } from '../common/manscdp/build.ts';
import { ptzCommand, type PtzMove } from '../common/manscdp/ptz.ts';
import type { CatalogMessage, Channel, DeviceInfoMessage, DeviceStatusMessage } from '../common/manscdp/messages.ts';
import type { SignalingStats } from './metrics.ts';
import { sipRequest } from '../common/sip/request.ts';
import type { SipRemote, SipStack } from '../common/sip/stack.ts';

export interface DeviceQueriesOptions {
  serverId: string;
  realm: string;
  /** How long a catalog may take to arrive in full. */
  catalogTimeoutMs: number;
  /** Catalogs collected at once, at most. */
  maxPendingCatalogs?: number;
  /** Channels one device may report, at most. */
  maxChannels?: number;
  /** Ask again every this many ms (0: only when a device comes online). */
  refreshMs?: number;
}

interface PendingCatalog {
  sn: number;
  sumNum: number | undefined;
  /** Items the device sent without a DeviceID: they count toward SumNum but cannot be stored. */
  skipped: number;
  items: Map<string, ChannelRecord>;
  timer: NodeJS.Timeout;
}

type QueryKind = 'Catalog' | 'DeviceInfo' | 'DeviceStatus';

const builders: Record<QueryKind, (q: { sn: number; deviceId: string }) => string> = {
  Catalog: buildCatalogQuery,
  DeviceInfo: buildDeviceInfoQuery,
  DeviceStatus: buildDeviceStatusQuery,
};

export function channelRecord(c: Channel): ChannelRecord {
  const record: Record<string, unknown> & ChannelRecord = { id: c.deviceId };
  const fields: (keyof Channel)[] = [
    'name', 'manufacturer', 'model', 'owner', 'civilCode', 'address', 'parental', 'parentId', 'registerWay',
    'secrecy', 'ipAddress', 'port', 'status', 'longitude', 'latitude', 'ptzType', 'businessGroupId',
  ];
  for (const f of fields) if (c[f] !== undefined) (record as Record<string, unknown>)[f] = c[f];
  return record;
}

export class DeviceQueries {
  readonly #options: DeviceQueriesOptions;
  readonly #stack: SipStack;
  readonly #store: DeviceStore;
  readonly #log: Logger;
  readonly #stats: SignalingStats;
  readonly #catalogs = new Map<string, PendingCatalog>();
  #sn = Math.floor(Math.random() * 100_000);
  readonly #tag = randomBytes(4).toString('hex');

  constructor(options: DeviceQueriesOptions, stack: SipStack, store: DeviceStore, log: Logger, stats: SignalingStats) {
    this.#options = options;
    this.#stack = stack;
    this.#store = store;
    this.#log = log;
    this.#stats = stats;
  }

  /** Asks a device that just came online (or is due a refresh) who it is, what it has, and how it is. */
  afterRegistration(deviceId: string, remote: SipRemote): void {
    this.query(deviceId, remote, 'DeviceInfo');
    this.queryCatalog(deviceId, remote);
    this.query(deviceId, remote, 'DeviceStatus');
    const refresh = this.#options.refreshMs ?? 0;
    if (refresh > 0) void this.#store.scheduleQueries(deviceId, Date.now() + refresh).catch(() => undefined);
  }

  /** Refreshes devices whose time came (every replica's sweeper calls this; each device goes to one). */
  async refreshDue(now: number): Promise<number> {
    if (!this.#options.refreshMs) return 0;
    const due = await this.#store.takeDueQueries(now);
    for (const id of due) {
      const device = await this.#store.get(id);
      // Offline devices are asked again when they come back.
      if (device?.online) this.afterRegistration(id, { protocol: device.transport, address: device.ip, port: device.port });
    }
    return due.length;
  }

  queryCatalog(deviceId: string, remote: SipRemote): void {
    if (this.#catalogs.has(deviceId)) return; // one collection per device at a time
    if (this.#catalogs.size >= (this.#options.maxPendingCatalogs ?? 10_000)) {
      this.#log.warn({ deviceId }, 'too many catalogs being collected; not asking this device now');
      return;
    }
    const sn = this.query(deviceId, remote, 'Catalog');
    const timer = setTimeout(() => void this.#finishCatalog(deviceId, false), this.#options.catalogTimeoutMs);
    timer.unref();
    this.#catalogs.set(deviceId, { sn, sumNum: undefined, skipped: 0, items: new Map(), timer });
  }

  /** Sends one query; returns its SN. */
  query(deviceId: string, remote: SipRemote, kind: QueryKind): number {
    const sn = this.#nextSn();
    const body = Buffer.from(builders[kind]({ sn, deviceId }), 'latin1');
    this.#stats.queriesSent[kind] = (this.#stats.queriesSent[kind] ?? 0) + 1;
    this.#stack.request(remote, this.#message(deviceId, remote, body), (response) => {
      if ((response.status ?? 0) >= 300) this.#log.info({ deviceId, kind, status: response.status }, 'device refused a query');
    });
    return sn;
  }

  /**
   * PTZ: a DeviceControl MESSAGE addressed to the channel, sent to the device. Resolves with the
   * device's final status code (0 when it never answered).
   */
  ptz(deviceId: string, channelId: string, remote: SipRemote, move: PtzMove): Promise<{ status: number; ptzCmd: string }> {
    const cmd = ptzCommand(move);
    const body = Buffer.from(buildPtzControl({ sn: this.#nextSn(), channelId, ptzCmd: cmd }), 'latin1');
    this.#stats.queriesSent.DeviceControl = (this.#stats.queriesSent.DeviceControl ?? 0) + 1;
    return new Promise((resolve) => {
      this.#stack.request(remote, this.#message(deviceId, remote, body), (response) => {
        const status = response.status ?? 0;
        if (status >= 200) resolve({ status, ptzCmd: cmd });
      });
    });
  }

  onAnswer(deviceId: string, message: CatalogMessage | DeviceInfoMessage | DeviceStatusMessage): void {
    switch (message.kind) {
      case 'catalog':
        this.#onCatalogPage(deviceId, message);
        return;
      case 'deviceInfo':
        void this.#store
          .saveInfo(deviceId, { name: message.deviceName, manufacturer: message.manufacturer, model: message.model, firmware: message.firmware })
          .catch((err: unknown) => this.#log.warn({ err, deviceId }, 'DeviceInfo not stored'));
        return;
      case 'deviceStatus':
        void this.#store
          .saveInfo(deviceId, { status: message.status, recording: message.record, deviceTime: message.deviceTime })
          .catch((err: unknown) => this.#log.warn({ err, deviceId }, 'DeviceStatus not stored'));
        return;
    }
  }

  stop(): void {
    for (const p of this.#catalogs.values()) clearTimeout(p.timer);
    this.#catalogs.clear();
  }

  #onCatalogPage(deviceId: string, page: CatalogMessage): void {
    const pending = this.#catalogs.get(deviceId);
    if (!pending) {
      // An answer we did not ask for now (late, or a change notification): merge what it brings.
      if (page.items.length > 0) void this.#merge(deviceId, page.items.map(channelRecord));
      return;
    }
    if (page.sumNum !== undefined) pending.sumNum = page.sumNum;
    pending.skipped += page.skipped;
    const max = this.#options.maxChannels ?? 100_000;
    for (const item of page.items) if (pending.items.size < max || pending.items.has(item.deviceId)) pending.items.set(item.deviceId, channelRecord(item));
    if (pending.sumNum !== undefined && pending.items.size + pending.skipped >= Math.min(pending.sumNum, max)) void this.#finishCatalog(deviceId, true);
  }

  async #finishCatalog(deviceId: string, complete: boolean): Promise<void> {
    const pending = this.#catalogs.get(deviceId);
    if (!pending) return;
    this.#catalogs.delete(deviceId);
    clearTimeout(pending.timer);
    const channels = [...pending.items.values()];
    try {
      if (complete) {
        this.#stats.catalogsCompleted++;
        await this.#store.saveChannels(deviceId, channels);
        this.#log.info({ deviceId, channels: channels.length }, 'catalog stored');
      } else {
        this.#stats.catalogsIncomplete++;
        if (channels.length > 0) await this.#merge(deviceId, channels);
        this.#log.warn({ deviceId, received: channels.length, expected: pending.sumNum }, 'catalog incomplete at timeout; merged what arrived');
      }
    } catch (err) {
      this.#log.warn({ err, deviceId }, 'catalog not stored');
    }
  }

  async #merge(deviceId: string, channels: ChannelRecord[]): Promise<void> {
    const byId = new Map((await this.#store.channels(deviceId)).map((c) => [c.id, c]));
    for (const c of channels) byId.set(c.id, c);
    await this.#store.saveChannels(deviceId, [...byId.values()]);
  }

  #nextSn(): number {
    this.#sn = (this.#sn + 1) % 1_000_000_000;
    return this.#sn;
  }

  #message(deviceId: string, remote: SipRemote, body: Buffer): SipMessage {
    const { serverId, realm } = this.#options;
    return sipRequest({
      method: 'MESSAGE',
      uri: `sip:${deviceId}@${remote.address}:${remote.port}`,
      from: { uri: `sip:${serverId}@${realm}`, params: { tag: this.#tag } },
      to: { uri: `sip:${deviceId}@${realm}`, params: {} },
      callId: `${randomBytes(8).toString('hex')}@${this.#stack.publicAddress}`,
      cseq: 1,
      body: { contentType: 'Application/MANSCDP+xml', bytes: body },
    });
  }

}
