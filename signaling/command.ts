/** `gbcast signaling`: parse config, start, stop on SIGTERM. */
import { describeConfig, formatHelp, parseConfig } from '../common/config.ts';
import { createLogger } from '../common/logger.ts';
import { onShutdownSignal } from '../common/shutdown.ts';
import { signalingOptions } from './config.ts';
import { Signaling } from './signaling.ts';

export const signalingSummary = 'SIP signaling for GB28181 devices: registration, presence, catalog, and the public HTTP API.';

export async function runSignaling(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${formatHelp('signaling', signalingSummary, signalingOptions)}\n`);
    return;
  }
  const config = parseConfig(signalingOptions, argv);
  const logger = createLogger('signaling', config.logLevel);
  logger.info({ config: describeConfig(signalingOptions, config) }, 'starting');
  const signaling = new Signaling(config, logger);
  await signaling.start();
  onShutdownSignal(logger, () => signaling.stop());
}
