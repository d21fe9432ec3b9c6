/**
 * What a simulated device says about itself in MANSCDP: its channels (catalog items with GB2312
 * Chinese names), DeviceInfo, DeviceStatus, an empty RecordInfo, and the keepalive. Bodies come out
 * as GB2312 bytes, ready for a MESSAGE.
 */
import {
  buildCatalogPages,
  buildCatalogResponse,
  buildDeviceInfoResponse,
  buildDeviceStatusResponse,
  buildKeepalive,
  escapeXml,
  type CatalogItemInput,
} from '../../common/manscdp/build.ts';
import { encodeGb2312 } from '../../common/manscdp/decode.ts';
import { formatDeviceTime } from '../../common/manscdp/values.ts';
import { channelIdsOf } from './ids.ts';

/** Where the simulated channels look: every name and address uses GB2312 characters only. */
const PLACES = ['大门', '停车场', '大厅', '走廊', '仓库', '东门', '西门', '南门', '北门', '电梯', '楼梯间', '机房'];

export const SIM_MANUFACTURER = 'gbcast';
export const SIM_MODEL = 'gbcast-camera';
export const SIM_FIRMWARE = 'V1.0.0';

export interface CatalogOptions {
  /** Write the `&` of the Address fields unescaped (broken XML, as some devices send). */
  unescapedAmp?: boolean;
  /** Drop the DeviceID of the page's first item (a malformed item). */
  brokenFirstItem?: boolean;
}

function applyQuirks(xml: string, o: CatalogOptions): string {
  let out = o.unescapedAmp ? unescapeAddressAmp(xml) : xml;
  if (o.brokenFirstItem) out = out.replace(/(<Item>\s*)<DeviceID>[^<]*<\/DeviceID>/, '$1');
  return out;
}

/** Catalog item `index` (0-based) of a device, for the channel ID `channelId`. */
export function simulatedChannel(deviceId: string, channelId: string, index: number): CatalogItemInput {
  const place = PLACES[index % PLACES.length];
  const n = index + 1;
  return {
    deviceId: channelId,
    name: `通道${n} ${place}`,
    manufacturer: SIM_MANUFACTURER,
    model: SIM_MODEL,
    owner: 'Owner',
    civilCode: deviceId.slice(0, 6),
    address: `科技园 A&B 座 ${place}`,
    parental: 0,
    parentId: deviceId,
    safetyWay: 0,
    registerWay: 1,
    secrecy: 0,
    status: 'ON',
    ptzType: n % 2 === 1 ? 1 : 3,
  };
}

/** The catalog items of a device with `count` channels. */
export function simulatedChannels(deviceId: string, count: number): CatalogItemInput[] {
  return channelIdsOf(deviceId, count).map((id, i) => simulatedChannel(deviceId, id, i));
}

/** How many MESSAGEs a catalog of `total` items takes (one, empty, when there are none). */
export function catalogPageCount(total: number, pageSize: number): number {
  return Math.max(1, Math.ceil(total / pageSize));
}

/** One page of a catalog answer to query `sn`, as GB2312 bytes. */
export function catalogPageBody(sn: number, deviceId: string, items: readonly CatalogItemInput[], sumNum: number, o: CatalogOptions = {}): Buffer {
  return encodeGb2312(applyQuirks(buildCatalogResponse({ sn, deviceId, sumNum, items }), o));
}

/** The whole catalog answer to query `sn`, one GB2312 body per page. */
export function catalogBodies(sn: number, deviceId: string, channels: readonly CatalogItemInput[], pageSize: number, o: CatalogOptions = {}): Buffer[] {
  return buildCatalogPages({ sn, deviceId, channels, pageSize }).map((xml, page) =>
    encodeGb2312(applyQuirks(xml, { ...o, brokenFirstItem: o.brokenFirstItem && page === 0 })),
  );
}

/** `&amp;` back to a raw `&` inside `<Address>` elements only. */
function unescapeAddressAmp(xml: string): string {
  return xml.replace(/<Address>([^<]*)<\/Address>/g, (_all, text: string) => `<Address>${text.replaceAll('&amp;', '&')}</Address>`);
}

export interface DeviceInfoFields {
  deviceName: string;
  channels: number;
}

export function deviceInfoBody(sn: number, deviceId: string, f: DeviceInfoFields): Buffer {
  return encodeGb2312(
    buildDeviceInfoResponse({
      sn,
      deviceId,
      deviceName: f.deviceName,
      manufacturer: SIM_MANUFACTURER,
      model: SIM_MODEL,
      firmware: SIM_FIRMWARE,
      channel: f.channels,
    }),
  );
}

export function deviceStatusBody(sn: number, deviceId: string, now: Date = new Date()): Buffer {
  return encodeGb2312(
    buildDeviceStatusResponse({ sn, deviceId, online: 'ON', status: 'OK', encode: 'ON', record: 'OFF', deviceTime: formatDeviceTime(now), alarms: [] }),
  );
}

/** A RecordInfo answer with no recordings (the simulator records nothing). */
export function emptyRecordInfoBody(sn: number, deviceId: string, name: string): Buffer {
  const xml = [
    '<?xml version="1.0" encoding="GB2312"?>',
    '<Response>',
    '  <CmdType>RecordInfo</CmdType>',
    `  <SN>${sn}</SN>`,
    `  <DeviceID>${escapeXml(deviceId)}</DeviceID>`,
    `  <Name>${escapeXml(name)}</Name>`,
    '  <SumNum>0</SumNum>',
    '  <RecordList Num="0">',
    '  </RecordList>',
    '</Response>',
    '',
  ].join('\r\n');
  return encodeGb2312(xml);
}

export function keepaliveBody(sn: number, deviceId: string): Buffer {
  return encodeGb2312(buildKeepalive({ sn, deviceId }));
}
