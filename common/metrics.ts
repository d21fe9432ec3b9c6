import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per running part (not prom-client's global one), so `gbcast all` can host several
 * parts and tests can start many streamers in one process without metric name clashes.
 */
export function createMetricsRegistry(defaultLabels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(defaultLabels);
  collectDefaultMetrics({ register: registry, prefix: 'gbcast_process_' });
  return registry;
}

/**
 * A counter whose value is read at scrape time from plain numbers the hot path increments.
 * Per-packet code then pays a field increment, not a label lookup. `read` returns the current total
 * for each label value (totals only ever grow).
 */
export function scrapedCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelName: L | undefined,
  read: () => Record<string, number> | number,
): Counter<L> {
  return new Counter<L>({
    name,
    help,
    labelNames: labelName ? [labelName] : [],
    registers: [registry],
    collect() {
      const totals = read();
      this.reset();
      if (typeof totals === 'number') {
        this.inc(totals);
      } else if (labelName) {
        for (const [value, total] of Object.entries(totals)) {
          this.inc({ [labelName]: value } as Partial<Record<L, string>>, total);
        }
      }
    },
  });
}

/** A gauge read at scrape time. */
export function scrapedGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
