/**
 * Typed MANSCDP messages from an element tree (`xml.ts`).
 *
 * The message is chosen by its root (Notify, Response, Query, Control) and CmdType; tag names and
 * CmdType values are matched case-insensitively and field text is trimmed. Fields that are missing,
 * blank or unreadable are undefined: a message is kept whenever its root and CmdType are readable,
 * and the caller decides what a missing SN or DeviceID means. Nothing here throws.
 */
import type { XmlElement } from './xml.ts';
import { attributeValue, childElement, childElements, localName } from './xml.ts';
import type { OnOff } from './values.ts';
import { parseDecimal, parseDeviceTime, parseInteger, parseOnOff, parseParental, textValue } from './values.ts';

export type ManscdpRoot = 'Notify' | 'Response' | 'Query' | 'Control';

/** What every message has. */
export interface MessageHeader {
  root: ManscdpRoot;
  /** CmdType as the device wrote it (trimmed). */
  cmdType: string;
  sn: number | undefined;
  deviceId: string | undefined;
}

/** `<Notify><CmdType>Keepalive</CmdType>` */
export interface KeepaliveMessage extends MessageHeader {
  kind: 'keepalive';
  /** `OK` normally; `ERROR` when the device reports a fault. */
  status: string | undefined;
}

/** One catalog item. */
export interface Channel {
  /** As sent (20 digits expected, not enforced). */
  deviceId: string;
  name: string | undefined;
  manufacturer: string | undefined;
  model: string | undefined;
  owner: string | undefined;
  civilCode: string | undefined;
  block: string | undefined;
  address: string | undefined;
  /** 1 when the item has children (a directory or a DVR/NVR); devices send 65535 and garbage: 0. */
  parental: 0 | 1;
  parentId: string | undefined;
  businessGroupId: string | undefined;
  safetyWay: number | undefined;
  registerWay: number | undefined;
  certNum: string | undefined;
  certifiable: number | undefined;
  errCode: number | undefined;
  /** ISO string (see `parseDeviceTime`). */
  endTime: string | undefined;
  secrecy: number | undefined;
  ipAddress: string | undefined;
  port: number | undefined;
  /** ON/ONLINE/OK/1 → ON, OFF/OFFLINE/0 → OFF. */
  status: OnOff | undefined;
  longitude: number | undefined;
  latitude: number | undefined;
  /** `Info/PTZType`: 1 dome, 2 half-dome, 3 fixed box, 4 remote-controlled box. */
  ptzType: number | undefined;
  /** Catalog notifications only: ON, OFF, VLOST, DEFECT, ADD, DEL, UPDATE. */
  event: string | undefined;
}

/** `<Response><CmdType>Catalog</CmdType>` (one page) or a catalog change `<Notify>`. */
export interface CatalogMessage extends MessageHeader {
  kind: 'catalog';
  /** Total items over all pages. */
  sumNum: number | undefined;
  /** The `DeviceList Num` attribute: what the device says this page holds (not trusted). */
  listNum: number | undefined;
  items: Channel[];
  /** Items dropped because they had no DeviceID. */
  skipped: number;
}

/** `<Response><CmdType>DeviceInfo</CmdType>` */
export interface DeviceInfoMessage extends MessageHeader {
  kind: 'deviceInfo';
  result: string | undefined;
  deviceName: string | undefined;
  manufacturer: string | undefined;
  model: string | undefined;
  firmware: string | undefined;
  /** Number of channels the device reports. */
  channel: number | undefined;
}

export interface AlarmStatusItem {
  deviceId: string;
  /** ONDUTY, OFFDUTY or ALARM. */
  dutyStatus: string | undefined;
}

/** `<Response><CmdType>DeviceStatus</CmdType>` */
export interface DeviceStatusMessage extends MessageHeader {
  kind: 'deviceStatus';
  result: string | undefined;
  /** From `Online` (ONLINE/OFFLINE). */
  online: OnOff | undefined;
  /** `Status`: OK or ERROR. */
  status: string | undefined;
  encode: OnOff | undefined;
  record: OnOff | undefined;
  deviceTime: string | undefined;
  alarms: AlarmStatusItem[];
}

/** `<Notify><CmdType>MediaStatus</CmdType>`; NotifyType 121: a playback or download file ended. */
export interface MediaStatusMessage extends MessageHeader {
  kind: 'mediaStatus';
  notifyType: string | undefined;
}

/** `<Notify><CmdType>Alarm</CmdType>` (DeviceID is the alarm source). */
export interface AlarmMessage extends MessageHeader {
  kind: 'alarm';
  alarmPriority: number | undefined;
  alarmMethod: string | undefined;
  alarmTime: string | undefined;
  alarmDescription: string | undefined;
  longitude: number | undefined;
  latitude: number | undefined;
  /** `Info/AlarmType`. */
  alarmType: number | undefined;
}

/** Any `<Query>` (what the device simulator receives: Catalog, DeviceInfo, DeviceStatus, …). */
export interface QueryMessage extends MessageHeader {
  kind: 'query';
}

/** `<Control><CmdType>DeviceControl</CmdType>` */
export interface DeviceControlMessage extends MessageHeader {
  kind: 'deviceControl';
  /** The 16 hex digits of `PTZCmd` (see `ptz.ts`), if present. */
  ptzCmd: string | undefined;
  /** The control elements present besides CmdType, SN, DeviceID and Info (PTZCmd, TeleBoot, …). */
  commands: string[];
}

/** A root and CmdType this module does not read further. */
export interface UnknownMessage extends MessageHeader {
  kind: 'unknown';
  /** `Result`, when present (answers to controls and configuration). */
  result: string | undefined;
}

export type ManscdpMessage =
  | KeepaliveMessage
  | CatalogMessage
  | DeviceInfoMessage
  | DeviceStatusMessage
  | MediaStatusMessage
  | AlarmMessage
  | QueryMessage
  | DeviceControlMessage
  | UnknownMessage;

export type MessageError = 'not-manscdp' | 'no-cmdtype';

export type MessageResult = { ok: true; message: ManscdpMessage } | { ok: false; error: MessageError; detail: string };

// ---------------------------------------------------------------------------------------------

const ROOTS: Record<string, ManscdpRoot> = { notify: 'Notify', response: 'Response', query: 'Query', control: 'Control' };

/** The children of an element by lower-cased local name, first occurrence wins. */
function fieldsOf(el: XmlElement): Map<string, XmlElement> {
  const map = new Map<string, XmlElement>();
  for (const c of el.children) {
    const key = localName(c.name);
    if (!map.has(key)) map.set(key, c);
  }
  return map;
}

/** Trimmed text of a field, undefined when missing or blank. */
function text(fields: Map<string, XmlElement>, name: string): string | undefined {
  return textValue(fields.get(name)?.text);
}

/** Reads the message in a MANSCDP element tree. Never throws. */
export function readMessage(root: XmlElement): MessageResult {
  const rootKind = Object.hasOwn(ROOTS, localName(root.name)) ? ROOTS[localName(root.name)] : undefined;
  if (rootKind === undefined) return { ok: false, error: 'not-manscdp', detail: `root element <${root.name.slice(0, 64)}>` };
  const f = fieldsOf(root);
  const cmdType = text(f, 'cmdtype');
  if (cmdType === undefined) return { ok: false, error: 'no-cmdtype', detail: `<${rootKind}> without CmdType` };
  const header: MessageHeader = {
    root: rootKind,
    cmdType,
    sn: parseInteger(f.get('sn')?.text, 0),
    deviceId: text(f, 'deviceid'),
  };
  const cmd = cmdType.toLowerCase();

  switch (rootKind) {
    case 'Notify':
      if (cmd === 'keepalive') return ok({ kind: 'keepalive', ...header, status: text(f, 'status') });
      if (cmd === 'catalog') return ok(readCatalog(header, root, f));
      if (cmd === 'mediastatus') return ok({ kind: 'mediaStatus', ...header, notifyType: text(f, 'notifytype') });
      if (cmd === 'alarm') return ok(readAlarm(header, f));
      break;
    case 'Response':
      if (cmd === 'catalog') return ok(readCatalog(header, root, f));
      if (cmd === 'deviceinfo') return ok(readDeviceInfo(header, f));
      if (cmd === 'devicestatus') return ok(readDeviceStatus(header, f));
      break;
    case 'Query':
      return ok({ kind: 'query', ...header });
    case 'Control':
      if (cmd === 'devicecontrol') return ok(readDeviceControl(header, root));
      break;
  }
  return ok({ kind: 'unknown', ...header, result: text(f, 'result') });
}

function ok(message: ManscdpMessage): MessageResult {
  return { ok: true, message };
}

function readCatalog(header: MessageHeader, root: XmlElement, f: Map<string, XmlElement>): CatalogMessage {
  const list = f.get('devicelist');
  const itemElements = childElements(list ?? root, 'item');
  const items: Channel[] = [];
  let skipped = 0;
  for (const el of itemElements) {
    const channel = readChannel(el);
    if (channel) items.push(channel);
    else skipped++;
  }
  return {
    kind: 'catalog',
    ...header,
    sumNum: parseInteger(f.get('sumnum')?.text, 0),
    listNum: list ? parseInteger(attributeValue(list, 'Num'), 0) : undefined,
    items,
    skipped,
  };
}

/** One catalog item, or undefined without a DeviceID. */
export function readChannel(el: XmlElement): Channel | undefined {
  const f = fieldsOf(el);
  const deviceId = text(f, 'deviceid');
  if (deviceId === undefined) return undefined;
  const info = f.get('info');
  return {
    deviceId,
    name: text(f, 'name'),
    manufacturer: text(f, 'manufacturer'),
    model: text(f, 'model'),
    owner: text(f, 'owner'),
    civilCode: text(f, 'civilcode'),
    block: text(f, 'block'),
    address: text(f, 'address'),
    parental: parseParental(f.get('parental')?.text),
    parentId: text(f, 'parentid'),
    businessGroupId: text(f, 'businessgroupid'),
    safetyWay: parseInteger(f.get('safetyway')?.text),
    registerWay: parseInteger(f.get('registerway')?.text),
    certNum: text(f, 'certnum'),
    certifiable: parseInteger(f.get('certifiable')?.text),
    errCode: parseInteger(f.get('errcode')?.text),
    endTime: parseDeviceTime(f.get('endtime')?.text),
    secrecy: parseInteger(f.get('secrecy')?.text),
    ipAddress: text(f, 'ipaddress'),
    port: parseInteger(f.get('port')?.text, 0, 65535),
    status: parseOnOff(f.get('status')?.text),
    longitude: parseDecimal(f.get('longitude')?.text, -180, 180),
    latitude: parseDecimal(f.get('latitude')?.text, -90, 90),
    ptzType: info ? parseInteger(childElement(info, 'PTZType')?.text) : undefined,
    event: text(f, 'event'),
  };
}

function readDeviceInfo(header: MessageHeader, f: Map<string, XmlElement>): DeviceInfoMessage {
  return {
    kind: 'deviceInfo',
    ...header,
    result: text(f, 'result'),
    deviceName: text(f, 'devicename'),
    manufacturer: text(f, 'manufacturer'),
    model: text(f, 'model'),
    firmware: text(f, 'firmware'),
    channel: parseInteger(f.get('channel')?.text, 0),
  };
}

function readDeviceStatus(header: MessageHeader, f: Map<string, XmlElement>): DeviceStatusMessage {
  const alarms: AlarmStatusItem[] = [];
  const alarmList = f.get('alarmstatus');
  if (alarmList) {
    for (const item of childElements(alarmList, 'item')) {
      const itemFields = fieldsOf(item);
      const deviceId = text(itemFields, 'deviceid');
      if (deviceId !== undefined) alarms.push({ deviceId, dutyStatus: text(itemFields, 'dutystatus') });
    }
  }
  return {
    kind: 'deviceStatus',
    ...header,
    result: text(f, 'result'),
    online: parseOnOff(f.get('online')?.text),
    status: text(f, 'status'),
    encode: parseOnOff(f.get('encode')?.text),
    record: parseOnOff(f.get('record')?.text),
    deviceTime: parseDeviceTime(f.get('devicetime')?.text),
    alarms,
  };
}

function readAlarm(header: MessageHeader, f: Map<string, XmlElement>): AlarmMessage {
  const info = f.get('info');
  return {
    kind: 'alarm',
    ...header,
    alarmPriority: parseInteger(f.get('alarmpriority')?.text),
    alarmMethod: text(f, 'alarmmethod'),
    alarmTime: parseDeviceTime(f.get('alarmtime')?.text),
    alarmDescription: text(f, 'alarmdescription'),
    longitude: parseDecimal(f.get('longitude')?.text, -180, 180),
    latitude: parseDecimal(f.get('latitude')?.text, -90, 90),
    alarmType: info ? parseInteger(childElement(info, 'AlarmType')?.text) : undefined,
  };
}

const CONTROL_HEADER_FIELDS = new Set(['cmdtype', 'sn', 'deviceid', 'info']);

function readDeviceControl(header: MessageHeader, root: XmlElement): DeviceControlMessage {
  const commands: string[] = [];
  let ptzCmd: string | undefined;
  for (const c of root.children) {
    const key = localName(c.name);
    if (CONTROL_HEADER_FIELDS.has(key)) continue;
    commands.push(c.name);
    if (key === 'ptzcmd' && ptzCmd === undefined) ptzCmd = textValue(c.text);
  }
  return { kind: 'deviceControl', ...header, ptzCmd, commands };
}
