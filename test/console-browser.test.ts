/**
 * The acceptance path of a newcomer, in a real browser: `gbcast all --demo` (the built executable,
 * as the README runs it), headless Chromium opens the console, sees the demo cameras online, plays
 * a channel over HTTP-FLV (the video's clock advances and a picture is drawn), and sees a camera
 * that stops go offline without a reload. Screenshots go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { loopbackAllFlags, startGbcast, type GbcastProcess } from './support/gbcast-process.ts';

const artifacts = join(import.meta.dirname, '..', 'test-artifacts');
const password = 'console-test-pw';
const serverId = '34020000002000000001';
const demoCameras = 3;

let all: GbcastProcess;
let browser: TestBrowser;
let page: Page;
let consoleUrl: string;
let sipPort: number;

before(async () => {
  await mkdir(artifacts, { recursive: true });
  all = startGbcast([
    'all',
    '--demo',
    `--demo-cameras=${demoCameras}`,
    '--demo-channels=2',
    `--password=${password}`,
    ...loopbackAllFlags,
  ]);
  const running = await all.waitForLog('gbcast all to start', (l) => l.msg === 'gbcast is running', 60_000);
  consoleUrl = String(running.console);
  sipPort = Number(/:(\d+)$/.exec(String(running.sip))?.[1]);
  assert.ok(sipPort > 0, `sip address in ${JSON.stringify(running)}`);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (err) => process.stderr.write(`console page error: ${err.message}\n`));
});

after(async () => {
  await browser?.close();
  const code = await all?.stop();
  assert.equal(code, 0, 'gbcast all exits cleanly on SIGTERM');
});

// Browser-side code, as source text (this file is type-checked without the DOM library).
const currentTime = `document.querySelector('[data-testid="player-video"]').currentTime`;
// The test pattern is colourful: a drawn frame has many distinct colours, a blank one a few.
const drawnPicture = `(() => {
  const v = document.querySelector('[data-testid="player-video"]');
  const canvas = document.createElement('canvas');
  canvas.width = 160;
  canvas.height = 90;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(v, 0, 0, canvas.width, canvas.height);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) colours.add(((data[i] >> 4) << 8) | ((data[i + 1] >> 4) << 4) | (data[i + 2] >> 4));
  return { width: v.videoWidth, height: v.videoHeight, colours: colours.size, frames: v.getVideoPlaybackQuality().totalVideoFrames };
})()`;

function onlineRows(p: Page) {
  return p.locator('[data-testid="device-row"][data-online="true"]');
}

test('the console lists the demo cameras online', async () => {
  await page.goto(consoleUrl);
  await onlineRows(page).nth(demoCameras - 1).waitFor({ timeout: 30_000 });
  assert.equal(await onlineRows(page).count(), demoCameras);
  await page.screenshot({ path: join(artifacts, 'console-devices.png') });
});

test('clicking a channel plays it: the clock advances and a picture is drawn', async () => {
  await onlineRows(page).first().click();
  const channel = page.locator('[data-testid="channel-row"]').first();
  await channel.waitFor({ timeout: 20_000 });
  await channel.click();
  const video = page.locator('[data-testid="player-video"]');
  await video.waitFor({ timeout: 10_000 });
  await page.waitForFunction(`document.querySelector('[data-testid="player-video"]')?.currentTime > 1`, undefined, { timeout: 30_000 });
  const t1 = await page.evaluate<number>(currentTime);
  await page.waitForTimeout(1500);
  const t2 = await page.evaluate<number>(currentTime);
  assert.ok(t2 > t1, `currentTime advances (${t1} → ${t2})`);
  const picture = await page.evaluate<{ width: number; height: number; colours: number; frames: number }>(drawnPicture);
  assert.equal(picture.width, 640);
  assert.equal(picture.height, 360);
  assert.ok(picture.frames > 10, `frames decoded: ${picture.frames}`);
  assert.ok(picture.colours > 50, `a picture is drawn (${picture.colours} distinct colours)`);
  await page.screenshot({ path: join(artifacts, 'console-playing.png') });
});

test('a camera that stops goes offline in the open page without a reload', async () => {
  const deviceId = '34020000001320000900';
  const camera = startGbcast([
    'camera',
    `--server=sip:${serverId}@127.0.0.1:${sipPort}`,
    `--password=${password}`,
    `--device-id=${deviceId}`,
    '--audio=pcma',
    '--local-address=127.0.0.1',
  ]);
  try {
    const row = page.locator(`[data-testid="device-row"][data-device-id="${deviceId}"]`);
    await page.locator('[data-testid="nav-devices"]').click();
    await row.and(page.locator('[data-online="true"]')).waitFor({ timeout: 30_000 });
    const navigations: string[] = [];
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations.push(f.url());
    });
    assert.equal(await camera.stop(), 0);
    await row.and(page.locator('[data-online="false"]')).waitFor({ timeout: 15_000 });
    assert.deepEqual(navigations, [], 'the page was not reloaded');
    await page.screenshot({ path: join(artifacts, 'console-offline.png') });
  } finally {
    await camera.stop();
  }
});
