/** Prints the functions with the most self time in a V8 .cpuprofile: `node bench/lib/profile-summary.ts file [top]`. */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}
const profile = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { nodes: Node[]; samples: number[] };
const top = Number(process.argv[3] ?? 40);
const self = new Map<string, number>();
let total = 0;
for (const n of profile.nodes) {
  const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(main|node_modules)\//, '')}:${n.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + n.hitCount);
  total += n.hitCount;
}
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
console.log(`samples ${total}, idle ${((idle / total) * 100).toFixed(1)} %`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((v / (total - idle)) * 100).toFixed(1).padStart(5)} %  ${k}`);
}
