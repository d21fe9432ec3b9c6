/** `gbcast streamer`: parse config, start, drain and stop on SIGTERM. */
import { ConfigError, formatHelp, parseConfig, describeConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { onShutdownSignal } from '../common/shutdown.ts';
import { streamerOptions } from './config.ts';
import { Streamer } from './streamer.ts';

export const streamerSummary =
  'Receives GB28181 PS-over-RTP media on one port (UDP and TCP), republishes it as RTMP and serves HTTP-FLV.';

export async function runStreamer(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${formatHelp('streamer', streamerSummary, streamerOptions)}\n`);
    return;
  }
  const config = parseConfig(streamerOptions, argv);
  if (config.publicAddressFromStore && !config.redisUrl) throw new ConfigError(['--public-address-from-store needs --redis-url (the operator writes the address there)']);
  const logger = createLogger('streamer', config.logLevel);
  logger.info({ config: describeConfig(streamerOptions, config) }, 'starting');
  const streamer = new Streamer(config, logger);
  await streamer.start();
  onShutdownSignal(logger, () => streamer.stop(config.shutdownGraceMs));
}
