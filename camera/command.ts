/** `gbcast camera`: parse config, load the media, start the devices; on SIGTERM hang up, unregister, exit. */
import { ConfigError, describeConfig, formatHelp, parseConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { onShutdownSignal } from '../common/shutdown.ts';
import { cameraOptions } from './config.ts';
import { CameraFleet, loadFleetMedia } from './sip/fleet.ts';
import { checkDeviceRange, parseServerTarget } from './sip/ids.ts';
import { describeQuirks, parseQuirkList } from './sip/quirks.ts';

export const cameraSummary =
  'A GB28181 device simulator: registers (digest), keeps alive, answers catalog and info queries, and streams a file as PS over RTP on INVITE (UDP, TCP active or passive).';

/** Channels of all devices of one process, at most (their IDs are kept for request dispatch). */
const MAX_CHANNELS = 1_000_000;

/** `--quirk a --quirk b` → `--quirk=a,b` (the config parser keeps one value per flag). */
export function joinRepeatedFlag(argv: readonly string[], name: string): string[] {
  const flag = `--${name}`;
  const values: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === flag) {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        values.push(next);
        i++;
      } else {
        rest.push(a);
      }
    } else if (a.startsWith(`${flag}=`)) {
      values.push(a.slice(flag.length + 1));
    } else {
      rest.push(a);
    }
  }
  if (values.length > 0) rest.push(`${flag}=${values.join(',')}`);
  return rest;
}

export async function runCamera(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${formatHelp('camera', cameraSummary, cameraOptions)}\n\nQuirks: ${describeQuirks()}\n`);
    return;
  }
  const config = parseConfig(cameraOptions, joinRepeatedFlag(argv, 'quirk'));
  const problems: string[] = [];
  if (!config.video && config.audio === 'none') problems.push('nothing to stream: give --video FILE and/or --audio pcma|pcmu|FILE.aac');
  const range = checkDeviceRange(config.deviceId, config.count);
  if (range) problems.push(`--device-id/--count: ${range}`);
  if (config.count * config.channels > MAX_CHANNELS) problems.push(`--count × --channels: at most ${MAX_CHANNELS} channels in one process, got ${config.count * config.channels}`);
  if (problems.length > 0) throw new ConfigError(problems);
  const server = parseServerTarget(config.server);
  if (typeof server === 'string') throw new ConfigError([`--server: ${server}`]);
  const mediaOptions = { video: config.video, audio: config.audio, fps: config.fps, loop: config.loop };
  try {
    await loadFleetMedia(mediaOptions);
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }

  const logger = createLogger('camera', config.logLevel);
  logger.info({ config: describeConfig(cameraOptions, config) }, 'starting');
  let fleet: CameraFleet;
  try {
    fleet = await CameraFleet.start({
      server,
      realm: config.realm,
      password: config.password,
      firstDeviceId: config.deviceId,
      count: config.count,
      channels: config.channels,
      sipTransport: config.transport,
      sipPort: config.sipPort,
      portPerDevice: config.portPerDevice,
      localAddress: config.localAddress,
      expiresS: config.expires,
      keepaliveIntervalMs: Math.round(config.keepaliveIntervalS * 1000),
      catalogPageSize: config.catalogPageSize,
      quirks: parseQuirkList(config.quirk).quirks,
      media: mediaOptions,
      startIntervalMs: config.startIntervalMs,
      logger,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new ConfigError([`cannot start: ${(err as Error).message}`]);
    }
    throw err;
  }
  logger.info({ devices: config.count, address: fleet.publicAddress, sipPort: fleet.sipPort, server: config.server }, 'devices started');
  let timer: NodeJS.Timeout | undefined;
  if (config.statsIntervalS > 0) {
    timer = setInterval(() => logger.info(fleet.summary(), 'summary'), config.statsIntervalS * 1000);
    timer.unref();
  }
  onShutdownSignal(logger, async () => {
    clearInterval(timer);
    await fleet.stop();
    logger.info(fleet.summary(), 'stopped');
  });
}
