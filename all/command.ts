/** `gbcast all`: parse config, start everything, print where the console is; stop on SIGTERM. */
import { ConfigError, describeConfig, formatHelp, parseConfig } from '../common/config.ts';
import { onShutdownSignal } from '../common/shutdown.ts';
import { AllInOne, allLoggers } from './all.ts';
import { allOptions } from './config.ts';

export const allSummary =
  'Signaling, the console and one streamer in one process, with an in-process store unless --redis-url is given; --demo adds simulated cameras.';

export async function runAll(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${formatHelp('all', allSummary, allOptions)}\n`);
    return;
  }
  const config = parseConfig(allOptions, argv);
  const loggers = allLoggers(config.logLevel);
  loggers.all.info({ config: describeConfig(allOptions, config) }, 'starting');
  const all = new AllInOne(config, loggers);
  try {
    await all.start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new ConfigError([`cannot start: ${(err as Error).message}`]);
    throw err;
  }
  loggers.all.info(all.describe(), 'gbcast is running');
  onShutdownSignal(loggers.all, () => all.stop());
}
