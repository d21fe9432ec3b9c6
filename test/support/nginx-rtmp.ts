/**
 * A real nginx with the RTMP module (Debian's libnginx-mod-rtmp), for tests.
 *
 *   const nginx = await startNginxRtmp({ record: true });
 *   try {
 *     publish to nginx.url('live', 'cam1') ...
 *     nginx.recordings()  // FLV files nginx wrote of what it received (with record: true)
 *   } finally {
 *     await nginx.stop();  // kills nginx and removes its temp dir
 *   }
 *
 * Each instance runs in its own temp dir (config, pid, logs, recordings) as a single foreground
 * process (daemon off, master_process off), so pause() (SIGSTOP) freezes the whole server and the
 * process dies with the test run. It listens on free loopback ports: RTMP, plus HTTP with
 * `/stat` (rtmp_stat all). The application `live` has `live on`, optionally `record all` into
 * `<dir>/rec` (one file per publish, `record_unique on`) and an `on_publish` callback.
 *
 * nginx-rtmp facts worth knowing: it drops a connection that sends a message larger than
 * `max_message` (default 1M, raised here to 16M unless `maxMessage` says otherwise); it accepts
 * chunk sizes up to 10485760; it answers `connect` with Window Ack Size, Set Peer Bandwidth, Set
 * Chunk Size and `_result`, and `publish` with onStatus NetStream.Publish.Start, or
 * NetStream.Publish.BadName when the name is already being published; an `on_publish` callback
 * answering other than 2xx/3xx makes it close the connection without a status.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const MODULE_CANDIDATES = [
  '/usr/lib/nginx/modules/ngx_rtmp_module.so',
  '/usr/share/nginx/modules/ngx_rtmp_module.so',
  '/usr/lib64/nginx/modules/ngx_rtmp_module.so',
];

export interface NginxRtmpOptions {
  /** `record all` into `<dir>/rec`, one file per publish. */
  record?: boolean;
  /** URL for nginx-rtmp's `on_publish` (an HTTP POST per publish, form-encoded). */
  onPublish?: string;
  /** nginx-rtmp `max_message` (default here: 16M). */
  maxMessage?: string;
  /** Extra directives inside `application live { }`. */
  applicationConfig?: string;
  /** Extra directives inside the rtmp `server { }`. */
  serverConfig?: string;
}

export interface NginxRtmp {
  readonly port: number;
  readonly httpPort: number;
  /** The instance's temp dir (nginx.conf, error.log, rec/). */
  readonly dir: string;
  readonly recordDir: string;
  /** `rtmp://127.0.0.1:<port>/<app>/<stream>` */
  url(app: string, stream: string): string;
  /** The process id of the running nginx, or undefined while it is down. */
  readonly pid: number | undefined;
  /** Kills nginx (SIGTERM, then SIGKILL after 3 s) but keeps the dir and ports: restart() brings it back. */
  kill(): Promise<void>;
  /** Kills nginx if it runs, then starts it again on the same ports and dir. */
  restart(): Promise<void>;
  /** SIGSTOP: the server freezes with its sockets open. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Files nginx recorded so far (absolute paths, oldest first by name). */
  recordings(): Promise<string[]>;
  errorLog(): Promise<string>;
  /** The raw XML of `/stat` (rtmp_stat all). */
  stat(): Promise<string>;
  /** Players (clients not publishing) subscribed to `live/<stream>`, from `/stat`. */
  players(stream: string): Promise<number>;
  /** Kills nginx and removes the temp dir. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function nginxRtmpModulePath(): string {
  const found = MODULE_CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error(`ngx_rtmp_module.so not found (looked in ${MODULE_CANDIDATES.join(', ')}); install libnginx-mod-rtmp`);
  return found;
}

import { freePort } from './ports.ts';

function config(dir: string, port: number, httpPort: number, o: NginxRtmpOptions): string {
  const app = [
    'live on;',
    o.record ? `record all; record_path ${dir}/rec; record_unique on;` : '',
    o.onPublish ? `on_publish ${o.onPublish};` : '',
    o.applicationConfig ?? '',
  ].filter((s) => s !== '');
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
load_module ${nginxRtmpModulePath()};
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:${port};
    max_message ${o.maxMessage ?? '16M'};
    ${o.serverConfig ?? ''}
    application live {
      ${app.join('\n      ')}
    }
  }
}
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${httpPort};
    location /stat { rtmp_stat all; }
  }
}
`;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function startNginxRtmp(options: NginxRtmpOptions = {}): Promise<NginxRtmp> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gbcast-nginx-rtmp-'));
  const recordDir = path.join(dir, 'rec');
  await mkdir(recordDir);
  await mkdir(path.join(dir, 'tmp'));
  let port = 0;
  let httpPort = 0;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    await writeFile(path.join(dir, 'nginx.conf'), config(dir, port, httpPort, options));
    const p = spawn('nginx', ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    running.add(p);
    let hasExited = false;
    exited = new Promise<void>((resolve) =>
      p.once('exit', () => {
        hasExited = true;
        running.delete(p);
        resolve();
      }),
    );
    child = p;
    const deadline = Date.now() + 5000;
    while (true) {
      if (hasExited) {
        child = null;
        const log = await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '');
        throw new Error(`nginx exited during startup: ${stderr}\n${log.split('\n').slice(-5).join('\n')}`);
      }
      if (await canConnect(port)) return;
      if (Date.now() > deadline) throw new Error('nginx-rtmp did not start listening within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const kill = async (): Promise<void> => {
    const p = child;
    if (!p) return;
    child = null;
    p.kill('SIGCONT');
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };

  // The ports are picked free, then bound by nginx: retry on the rare race.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    httpPort = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      await kill();
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  const stat = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/stat`);
    return res.text();
  };

  const stop = async (): Promise<void> => {
    await kill();
    await rm(dir, { recursive: true, force: true });
  };

  return {
    port,
    httpPort,
    dir,
    recordDir,
    url: (app, stream) => `rtmp://127.0.0.1:${port}/${app}/${stream}`,
    get pid() {
      return child?.pid;
    },
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
    recordings: async () => (await readdir(recordDir)).sort().map((f) => path.join(recordDir, f)),
    errorLog: () => readFile(path.join(dir, 'error.log'), 'utf8').catch(() => ''),
    stat,
    players: async (stream) => {
      const xml = await stat();
      for (const block of xml.match(/<stream>[\s\S]*?<\/stream>/g) ?? []) {
        if (!block.includes(`<name>${stream}</name>`)) continue;
        return (block.match(/<client>[\s\S]*?<\/client>/g) ?? []).filter((c) => !c.includes('<publishing/>')).length;
      }
      return 0;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
