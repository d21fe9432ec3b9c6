/**
 * Live heap of another Node process, through its inspector (started with --inspect=host:port):
 * a full garbage collection, then the used heap size. What RSS and heap-used gauges cannot tell:
 * how much memory is really retained, rather than garbage waiting for a major GC.
 */
interface Reply {
  id: number;
  result?: { usedSize?: number };
}

export async function liveHeapBytes(inspectPort: number): Promise<number> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
  });
  const pending = new Map<number, (r: Reply) => void>();
  ws.addEventListener('message', (e) => {
    const reply = JSON.parse(String(e.data)) as Reply;
    pending.get(reply.id)?.(reply);
  });
  let next = 1;
  const call = (method: string) =>
    new Promise<Reply>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const usage = await call('Runtime.getHeapUsage');
    return usage.result?.usedSize ?? 0;
  } finally {
    ws.close();
  }
}
