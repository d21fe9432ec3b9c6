/**
 * MANSCDP bodies we send, as strings.
 *
 * Platform → device (queries and controls) are pure ASCII: text is escaped, and any non-ASCII
 * character is written as a character reference, so the `GB2312` declaration is true whatever the
 * input. Device → platform bodies (for the device simulator) keep non-ASCII text as is: encode the
 * string with `encodeGb2312` (the default declaration) or as UTF-8 with `encoding: 'UTF-8'`.
 * Builders validate their input and throw RangeError on values we would never send.
 */
import type { AlarmStatusItem, Channel } from './messages.ts';
import type { OnOff } from './values.ts';

const EOL = '\r\n';

// ---------------------------------------------------------------------------------------------
// Text

/**
 * Escapes text for XML content and attribute values. Control characters XML cannot carry are
 * dropped (and so are unpaired surrogates); with `asciiOnly`, other non-ASCII characters become
 * `&#N;` references.
 */
export function escapeXml(text: string, asciiOnly = false): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x26) out += '&amp;';
    else if (c === 0x3c) out += '&lt;';
    else if (c === 0x3e) out += '&gt;';
    else if (c === 0x22) out += '&quot;';
    else if (c === 0x27) out += '&apos;';
    else if (c < 0x20) {
      if (c === 0x09 || c === 0x0a || c === 0x0d) out += text[i];
    } else if (c < 0x7f) out += text[i];
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += asciiOnly ? `&#${text.codePointAt(i)};` : text.slice(i, i + 2);
        i++;
      }
    } else if (c === 0xfffe || c === 0xffff) {
      // not XML characters
    } else out += asciiOnly ? `&#${c};` : text[i];
  }
  return out;
}

function declaration(encoding: string): string {
  if (!/^[A-Za-z][A-Za-z0-9._-]{0,39}$/.test(encoding)) throw new RangeError(`invalid encoding name ${JSON.stringify(encoding)}`);
  return `<?xml version="1.0" encoding="${encoding}"?>`;
}

function checkSn(sn: number): void {
  if (!Number.isSafeInteger(sn) || sn < 0) throw new RangeError(`SN must be a non-negative integer, got ${sn}`);
}

function checkId(what: string, id: string): void {
  if (typeof id !== 'string' || id.trim() === '') throw new RangeError(`${what} must be a non-empty string`);
}

/** Collects `<Name>value</Name>` lines; undefined values are left out. */
class Lines {
  readonly lines: string[] = [];
  readonly #asciiOnly: boolean;

  constructor(asciiOnly: boolean) {
    this.#asciiOnly = asciiOnly;
  }

  raw(line: string): this {
    this.lines.push(line);
    return this;
  }

  field(indent: string, name: string, value: string | number | undefined): this {
    if (value !== undefined) this.lines.push(`${indent}<${name}>${escapeXml(String(value), this.#asciiOnly)}</${name}>`);
    return this;
  }

  toString(): string {
    return this.lines.join(EOL) + EOL;
  }
}

/** The common head: declaration, root, CmdType, SN, DeviceID. */
function head(root: string, cmdType: string, sn: number, deviceId: string, encoding: string, asciiOnly: boolean): Lines {
  checkSn(sn);
  checkId('DeviceID', deviceId);
  return new Lines(asciiOnly)
    .raw(declaration(encoding))
    .raw(`<${root}>`)
    .field('  ', 'CmdType', cmdType)
    .field('  ', 'SN', sn)
    .field('  ', 'DeviceID', deviceId);
}

// ---------------------------------------------------------------------------------------------
// Platform → device

export interface QueryInput {
  sn: number;
  /** The device (or, for Catalog on a channel directory, the channel) queried. */
  deviceId: string;
}

function query(cmdType: string, q: QueryInput): string {
  return head('Query', cmdType, q.sn, q.deviceId, 'GB2312', true).raw('</Query>').toString();
}

export function buildCatalogQuery(q: QueryInput): string {
  return query('Catalog', q);
}

export function buildDeviceInfoQuery(q: QueryInput): string {
  return query('DeviceInfo', q);
}

export function buildDeviceStatusQuery(q: QueryInput): string {
  return query('DeviceStatus', q);
}

export interface PtzControlInput {
  sn: number;
  /** The channel to move (PTZ is addressed to the channel, unlike DeviceConfig). */
  channelId: string;
  /** 16 hex digits from `ptzCommand`. */
  ptzCmd: string;
  /** Info/ControlPriority (default 5). */
  priority?: number;
}

export function buildPtzControl(c: PtzControlInput): string {
  if (!/^[0-9A-Fa-f]{16}$/.test(c.ptzCmd)) throw new RangeError(`PTZCmd must be 16 hex digits, got ${JSON.stringify(c.ptzCmd)}`);
  const priority = c.priority ?? 5;
  if (!Number.isInteger(priority) || priority < 0 || priority > 99) throw new RangeError(`ControlPriority must be 0–99, got ${priority}`);
  return head('Control', 'DeviceControl', c.sn, c.channelId, 'GB2312', true)
    .field('  ', 'PTZCmd', c.ptzCmd.toUpperCase())
    .raw('  <Info>')
    .field('    ', 'ControlPriority', priority)
    .raw('  </Info>')
    .raw('</Control>')
    .toString();
}

// ---------------------------------------------------------------------------------------------
// Device → platform (device simulator)

export interface DeviceBodyOptions {
  /** The encoding named in the declaration (default GB2312); encode the string accordingly. */
  encoding?: string;
}

export interface KeepaliveInput extends DeviceBodyOptions {
  sn: number;
  deviceId: string;
  /** Default OK. */
  status?: string;
}

export function buildKeepalive(k: KeepaliveInput): string {
  return head('Notify', 'Keepalive', k.sn, k.deviceId, k.encoding ?? 'GB2312', false)
    .field('  ', 'Status', k.status ?? 'OK')
    .raw('</Notify>')
    .toString();
}

/** A catalog item to send: a DeviceID and any other Channel fields (undefined ones are left out). */
export type CatalogItemInput = Partial<Channel> & { deviceId: string };

export interface CatalogResponseInput extends DeviceBodyOptions {
  sn: number;
  deviceId: string;
  /** Total items over all pages. */
  sumNum: number;
  /** This page's items. */
  items: readonly CatalogItemInput[];
}

function item(lines: Lines, ch: CatalogItemInput): void {
  checkId('channel DeviceID', ch.deviceId);
  const i = '      ';
  lines
    .raw('    <Item>')
    .field(i, 'DeviceID', ch.deviceId)
    .field(i, 'Name', ch.name)
    .field(i, 'Manufacturer', ch.manufacturer)
    .field(i, 'Model', ch.model)
    .field(i, 'Owner', ch.owner)
    .field(i, 'CivilCode', ch.civilCode)
    .field(i, 'Block', ch.block)
    .field(i, 'Address', ch.address)
    .field(i, 'Parental', ch.parental)
    .field(i, 'ParentID', ch.parentId)
    .field(i, 'BusinessGroupID', ch.businessGroupId)
    .field(i, 'SafetyWay', ch.safetyWay)
    .field(i, 'RegisterWay', ch.registerWay)
    .field(i, 'CertNum', ch.certNum)
    .field(i, 'Certifiable', ch.certifiable)
    .field(i, 'ErrCode', ch.errCode)
    .field(i, 'EndTime', ch.endTime)
    .field(i, 'Secrecy', ch.secrecy)
    .field(i, 'IPAddress', ch.ipAddress)
    .field(i, 'Port', ch.port)
    .field(i, 'Status', ch.status)
    .field(i, 'Longitude', ch.longitude)
    .field(i, 'Latitude', ch.latitude)
    .field(i, 'Event', ch.event);
  if (ch.ptzType !== undefined) lines.raw(`${i}<Info>`).field(`${i}  `, 'PTZType', ch.ptzType).raw(`${i}</Info>`);
  lines.raw('    </Item>');
}

/** One page of a catalog answer: `SumNum` and `<DeviceList Num="n">` with this page's items. */
export function buildCatalogResponse(r: CatalogResponseInput): string {
  if (!Number.isSafeInteger(r.sumNum) || r.sumNum < 0) throw new RangeError(`SumNum must be a non-negative integer, got ${r.sumNum}`);
  const lines = head('Response', 'Catalog', r.sn, r.deviceId, r.encoding ?? 'GB2312', false)
    .field('  ', 'SumNum', r.sumNum)
    .raw(`  <DeviceList Num="${r.items.length}">`);
  for (const ch of r.items) item(lines, ch);
  return lines.raw('  </DeviceList>').raw('</Response>').toString();
}

export interface CatalogPagesInput extends DeviceBodyOptions {
  sn: number;
  deviceId: string;
  channels: readonly CatalogItemInput[];
  /** Items per message (devices use 1–50 over UDP to stay under the MTU). */
  pageSize: number;
}

/** The whole catalog answer as pages of `pageSize` items (one empty page when there are none). */
export function buildCatalogPages(r: CatalogPagesInput): string[] {
  if (!Number.isInteger(r.pageSize) || r.pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${r.pageSize}`);
  const sumNum = r.channels.length;
  const page = (items: readonly CatalogItemInput[]): string =>
    buildCatalogResponse({ sn: r.sn, deviceId: r.deviceId, sumNum, items, encoding: r.encoding });
  if (sumNum === 0) return [page([])];
  const pages: string[] = [];
  for (let from = 0; from < sumNum; from += r.pageSize) pages.push(page(r.channels.slice(from, from + r.pageSize)));
  return pages;
}

export interface DeviceInfoResponseInput extends DeviceBodyOptions {
  sn: number;
  deviceId: string;
  deviceName?: string;
  manufacturer?: string;
  model?: string;
  firmware?: string;
  channel?: number;
  /** Default OK. */
  result?: string;
}

export function buildDeviceInfoResponse(r: DeviceInfoResponseInput): string {
  return head('Response', 'DeviceInfo', r.sn, r.deviceId, r.encoding ?? 'GB2312', false)
    .field('  ', 'DeviceName', r.deviceName)
    .field('  ', 'Result', r.result ?? 'OK')
    .field('  ', 'Manufacturer', r.manufacturer)
    .field('  ', 'Model', r.model)
    .field('  ', 'Firmware', r.firmware)
    .field('  ', 'Channel', r.channel)
    .raw('</Response>')
    .toString();
}

export interface DeviceStatusResponseInput extends DeviceBodyOptions {
  sn: number;
  deviceId: string;
  /** Written as ONLINE/OFFLINE (default ON). */
  online?: OnOff;
  /** Default OK. */
  status?: string;
  encode?: OnOff;
  record?: OnOff;
  /** `yyyy-MM-ddTHH:mm:ss` (see `formatDeviceTime`). */
  deviceTime?: string;
  alarms?: readonly AlarmStatusItem[];
  /** Default OK. */
  result?: string;
}

export function buildDeviceStatusResponse(r: DeviceStatusResponseInput): string {
  const lines = head('Response', 'DeviceStatus', r.sn, r.deviceId, r.encoding ?? 'GB2312', false)
    .field('  ', 'Result', r.result ?? 'OK')
    .field('  ', 'Online', (r.online ?? 'ON') === 'ON' ? 'ONLINE' : 'OFFLINE')
    .field('  ', 'Status', r.status ?? 'OK')
    .field('  ', 'Encode', r.encode)
    .field('  ', 'Record', r.record)
    .field('  ', 'DeviceTime', r.deviceTime);
  if (r.alarms !== undefined) {
    lines.raw(`  <Alarmstatus Num="${r.alarms.length}">`);
    for (const a of r.alarms) {
      checkId('alarm DeviceID', a.deviceId);
      lines.raw('    <Item>').field('      ', 'DeviceID', a.deviceId).field('      ', 'DutyStatus', a.dutyStatus).raw('    </Item>');
    }
    lines.raw('  </Alarmstatus>');
  }
  return lines.raw('</Response>').toString();
}
