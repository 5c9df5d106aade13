/**
 * PromQL read with Prometheus's own grammar (@prometheus-io/lezer-promql, the parser of the
 * Prometheus web UI): which metrics an expression names, where its syntax is broken, and its
 * durations (so a test can shorten them). promtool stays the judge of validity; this
 * answers the questions promtool cannot.
 */
import { parser } from '@prometheus-io/lezer-promql';

/** Parse errors as `at <offset>: <text around it>`; empty when the expression parses. */
export function syntaxErrors(expr: string): string[] {
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 20), node.to + 20))}`);
    },
  });
  return errors;
}

/**
 * The metric names of every vector selector in the expression. A selector that names its metric
 * only through a `__name__` matcher is reported as `{__name__...}`, so a test can refuse it.
 */
export function metricNames(expr: string): Set<string> {
  const names = new Set<string>();
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return;
      const identifier = node.node.getChild('Identifier');
      names.add(identifier === null ? '{__name__...}' : expr.slice(identifier.from, identifier.to));
    },
  });
  return names;
}

/**
 * Text ranges of every duration written where PromQL expects one: range selectors (`[5m]`),
 * subquery ranges and steps (`[1h:1m]`) and offsets (`offset 10m`). Numbers elsewhere
 * (thresholds, quantiles) are not durations and are left alone.
 */
export function durationLiterals(expr: string): Array<{ from: number; to: number }> {
  const ranges: Array<{ from: number; to: number }> = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name === 'NumberDurationLiteralInDurationContext') ranges.push({ from: node.from, to: node.to });
    },
  });
  return ranges;
}

/** The expression with every duration (ranges, subqueries, offsets) replaced by `duration`. */
export function withDurations(expr: string, duration: string): string {
  let out = expr;
  for (const range of durationLiterals(expr).sort((a, b) => b.from - a.from)) out = out.slice(0, range.from) + duration + out.slice(range.to);
  return out;
}
