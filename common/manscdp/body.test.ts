import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readBody } from './body.ts';
import type { CatalogItemInput } from './build.ts';
import { buildCatalogPages } from './build.ts';
import { encodeGb2312 } from './decode.ts';
import type { CatalogMessage, Channel } from './messages.ts';

const DEVICE = '34020000001180000001';
const PLACES = ['大门口', '东门', '西门', '停车场', '仓库', '办公楼', '食堂', '南广场', '北围墙', '机房'];

function channelId(i: number): string {
  return `3402000000131${String(i).padStart(7, '0')}`;
}

function channels(n: number): CatalogItemInput[] {
  return Array.from({ length: n }, (_, i) => ({
    deviceId: channelId(i),
    name: `${PLACES[i % PLACES.length]} ${i + 1}号摄像机`,
    manufacturer: '海康威视',
    parental: 0,
    parentId: DEVICE,
    address: `${PLACES[(i * 7) % PLACES.length]}路${i}号`,
    status: i % 3 === 0 ? 'OFF' : 'ON',
    ptzType: (i % 4) + 1,
  }));
}

/** Reads every page as a GB2312 body and collects the channels, as a catalog collector would. */
function collect(pages: Buffer[]): { items: Channel[]; skipped: number; sumNums: Set<number | undefined>; repaired: number } {
  const items: Channel[] = [];
  const sumNums = new Set<number | undefined>();
  let skipped = 0;
  let repaired = 0;
  for (const page of pages) {
    const r = readBody(page);
    assert.ok(r.ok, r.ok ? '' : `${r.error}: ${r.detail}`);
    assert.equal(r.message.kind, 'catalog');
    const m = r.message as CatalogMessage;
    items.push(...m.items);
    skipped += m.skipped;
    sumNums.add(m.sumNum);
    if (r.repairs > 0) repaired++;
  }
  return { items, skipped, sumNums, repaired };
}

/** Applies `edit` to the body of `page` at the item of `channelIndex`. */
function breakItem(pages: string[], page: number, channelIndex: number, edit: (item: string) => string): void {
  const id = channelId(channelIndex);
  const at = pages[page].indexOf(`<DeviceID>${id}</DeviceID>`);
  assert.ok(at > 0, `channel ${channelIndex} on page ${page}`);
  const start = pages[page].lastIndexOf('<Item>', at);
  const end = pages[page].indexOf('</Item>', at) + '</Item>'.length;
  pages[page] = pages[page].slice(0, start) + edit(pages[page].slice(start, end)) + pages[page].slice(end);
}

const input = channels(500);

test('500 channels in 10 GB2312 pages read back with their Chinese names', () => {
  const pages = buildCatalogPages({ sn: 77, deviceId: DEVICE, channels: input, pageSize: 50 });
  assert.equal(pages.length, 10);
  const { items, skipped, sumNums, repaired } = collect(pages.map(encodeGb2312));
  assert.equal(skipped, 0);
  assert.equal(repaired, 0);
  assert.deepEqual([...sumNums], [500]);
  assert.deepEqual(
    items.map((c) => [c.deviceId, c.name, c.address, c.status, c.ptzType]),
    input.map((c) => [c.deviceId, c.name, c.address, c.status, c.ptzType]),
  );
});

test('one item without a DeviceID is skipped and counted: 499 channels', () => {
  const pages = buildCatalogPages({ sn: 77, deviceId: DEVICE, channels: input, pageSize: 50 });
  breakItem(pages, 3, 170, (item) => item.replace(/<DeviceID>\d+<\/DeviceID>/, ''));
  const { items, skipped } = collect(pages.map(encodeGb2312));
  assert.equal(skipped, 1);
  assert.equal(items.length, 499);
  const want = input.filter((_, i) => i !== 170);
  assert.deepEqual(
    items.map((c) => [c.deviceId, c.name]),
    want.map((c) => [c.deviceId, c.name]),
  );
});

test('broken tags inside items lose no channel and no other name', () => {
  const pages = buildCatalogPages({ sn: 77, deviceId: DEVICE, channels: input, pageSize: 50 });
  breakItem(pages, 1, 60, (item) => item.replace('</Item>', '')); // missing </Item>
  breakItem(pages, 2, 120, (item) => item.replace('</Name>', '</NAME>')); // case mismatch
  breakItem(pages, 4, 222, (item) => item.replace(/<Address>[^<]*<\/Address>/, '<Address>A&B <x> road</Address>')); // unescaped
  breakItem(pages, 5, 299, (item) => item.replace('</Manufacturer>', '')); // missing end tag mid-item
  breakItem(pages, 6, 333, (item) => item.replace('</Name>', '<Name>')); // end tag without the slash
  breakItem(pages, 9, 499, (item) => item.replace('</Item>', '').replace('</Status>', '</Stat')); // last item cut short
  pages[9] = pages[9].slice(0, pages[9].lastIndexOf('</Stat') + 6); // ...and the body truncated there
  const { items, skipped } = collect(pages.map(encodeGb2312));
  assert.equal(skipped, 0);
  assert.equal(items.length, 500);
  assert.deepEqual(
    items.map((c) => c.deviceId),
    input.map((c) => c.deviceId),
  );
  assert.deepEqual(
    items.map((c) => c.name),
    input.map((c) => c.name),
  );
  assert.equal(items[333].manufacturer, undefined); // nested under the stray second <Name>
  assert.equal(items[222].address, 'A&B <x> road');
  assert.equal(items[299].manufacturer, '海康威视'); // closed by </Item>, later fields nested under it
});

test('readBody errors: too large, no root, not MANSCDP, no CmdType', () => {
  const big = readBody(Buffer.alloc(2000, 0x20), { maxLength: 1000 });
  assert.ok(!big.ok && big.error === 'body-too-large');
  const none = readBody(Buffer.from('no xml here'));
  assert.ok(!none.ok && none.error === 'no-root');
  const html = readBody(Buffer.from('<html/>'));
  assert.ok(!html.ok && html.error === 'not-manscdp');
  const noCmd = readBody(Buffer.from('<Notify><SN>1</SN></Notify>'));
  assert.ok(!noCmd.ok && noCmd.error === 'no-cmdtype');
  const deep = readBody(Buffer.from('<Notify><a><b><c>'), { maxDepth: 3 });
  assert.ok(!deep.ok && deep.error === 'too-deep');
});
