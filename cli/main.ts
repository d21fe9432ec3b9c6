/** `gbcast <command>`: one executable for every part. */
import { ConfigError } from '../common/config.ts';
import { gbcastVersion } from '../common/version.ts';

interface Command {
  summary: string;
  run(argv: readonly string[]): Promise<void>;
}

const commands: Record<string, Command> = {
  streamer: {
    summary: 'media plane: PS over RTP in, RTMP and HTTP-FLV out',
    run: async (argv) => (await import('../streamer/command.ts')).runStreamer(argv),
  },
  signaling: {
    summary: 'SIP signaling: device registration, presence, catalog, public HTTP API',
    run: async (argv) => (await import('../signaling/command.ts')).runSignaling(argv),
  },
  all: {
    summary: 'signaling + console + one streamer in one process (in-process store without --redis-url); --demo adds cameras',
    run: async (argv) => (await import('../all/command.ts')).runAll(argv),
  },
  operator: {
    summary: 'Kubernetes operator: GbStreamServer pools (pods, ports, autoscaling with drain) and GbCamera devices',
    run: async (argv) => (await import('../operator/command.ts')).runOperator(argv),
  },
  camera: {
    summary: 'device simulator: registers, answers queries, streams a file as PS/RTP',
    run: async (argv) => (await import('../camera/command.ts')).runCamera(argv),
  },
};

function usage(): string {
  const lines = [`gbcast ${gbcastVersion}: a GB/T 28181 video platform`, '', 'Usage: gbcast <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  lines.push('', 'Run `gbcast <command> --help` for its options.');
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (name === '--version') {
    process.stdout.write(`${gbcastVersion}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    await command.run(rest);
    return -1;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gbcast ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
