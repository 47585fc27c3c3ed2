// The Grafana dashboard in docs/grafana/update-orchestrator.json: every query parses as PromQL
// (Prometheus' own grammar, @prometheus-io/lezer-promql), and every metric it names is exposed by
// /metrics of a running server, so a renamed or dropped metric cannot leave a panel silently empty.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../testing/app.js';
import { parsePrometheusText } from '../testing/prometheus-text.js';

const DASHBOARD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/grafana/update-orchestrator.json');

interface Panel {
  title?: string;
  type: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every (panel title, PromQL) of the dashboard, rows' nested panels included. */
function queries(panels: Panel[]): { title: string; expr: string }[] {
  return panels.flatMap((p) => [...(p.targets ?? []).filter((t) => t.expr).map((t) => ({ title: p.title ?? p.type, expr: t.expr! })), ...queries(p.panels ?? [])]);
}

/** Grafana's variables as Prometheus would receive them. */
const substitute = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll(/\$\{?instance\}?/g, '.*');

/** The metric names an expression selects, or the parse errors it has. */
function metricNames(expr: string): { names: string[]; errors: string[] } {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`syntax error at ${node.from}: '${expr.slice(Math.max(0, node.from - 10), node.to + 10)}'`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(expr.slice(node.from, node.to));
    },
  });
  return { names, errors };
}

describe('Grafana dashboard', () => {
  let t: TestApp;
  let exposed: Set<string>;
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: { query?: unknown; definition?: string }[] } };

  beforeAll(async () => {
    t = await startTestApp();
    const families = parsePrometheusText((await t.request('GET', '/metrics', { token: null })).text);
    // A family's samples: its name, and for histograms and summaries the suffixed series.
    exposed = new Set([...families.keys()].flatMap((name) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]));
  });
  afterAll(async () => t.close());

  it('has queries for every area it promises', () => {
    const titles = queries(dashboard.panels).map((q) => q.title.toLowerCase());
    for (const area of ['devices', 'online share', 'polls per second', 'executions by state', 'failures', 'deliveries per second', 'bytes sent', 'engine lag', 'event feed lag', 'cpu', 'memory', 'event loop']) {
      expect(titles.some((title) => title.includes(area)), area).toBe(true);
    }
  });

  it('every query is valid PromQL naming only metrics /metrics exposes', () => {
    const all = queries(dashboard.panels);
    expect(all.length).toBeGreaterThan(30);
    const variables = dashboard.templating.list.map((v) => v.definition).filter((d): d is string => !!d);
    const problems: string[] = [];
    let named = 0;
    for (const { title, expr } of all) {
      const { names, errors } = metricNames(substitute(expr));
      for (const error of errors) problems.push(`${title}: ${error}`);
      if (names.length === 0) problems.push(`${title}: selects no metric: ${expr}`);
      for (const name of names) if (!exposed.has(name)) problems.push(`${title}: '${name}' is not exposed by /metrics`);
      named += names.length;
    }
    for (const definition of variables) {
      const metric = /label_values\((\w+),/.exec(definition)?.[1];
      if (!metric || !exposed.has(metric)) problems.push(`variable ${definition}: names no exposed metric`);
    }
    expect(problems).toEqual([]);
    expect(named).toBeGreaterThanOrEqual(all.length);
  });

  it('the check itself catches a wrong name and a broken query', () => {
    expect(metricNames('rate(orchestrator_no_such_total[5m])').names).toEqual(['orchestrator_no_such_total']);
    expect(exposed.has('orchestrator_no_such_total')).toBe(false);
    expect(metricNames('sum(rate(orchestrator_events_total[5m])').errors.length).toBeGreaterThan(0);
  });
});
