/**
 * PromQL read with Prometheus's own grammar (@prometheus-io/lezer-promql, the parser of the
 * Prometheus web UI): which metrics an expression names, where its syntax is broken, and its
 * range durations (so a test can shorten them). promtool stays the judge of validity; this
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

/** Text ranges of the durations of range selectors and subqueries (`[5m]`, `[1h:1m]`'s range). */
export function rangeDurations(expr: string): Array<{ from: number; to: number }> {
  const ranges: Array<{ from: number; to: number }> = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name !== 'MatrixSelector' && node.name !== 'SubqueryExpr') return;
      // Both end with `[<range>]` or `[<range>:<step>]`: the range follows the node's last `[`.
      const open = expr.lastIndexOf('[', node.to);
      const close = node.name === 'SubqueryExpr' ? expr.indexOf(':', open) : node.to - 1;
      if (open >= node.from && close > open) ranges.push({ from: open + 1, to: close });
    },
  });
  return ranges;
}

/** The expression with every range duration replaced by `duration`. */
export function withRangeDurations(expr: string, duration: string): string {
  let out = expr;
  for (const range of rangeDurations(expr).sort((a, b) => b.from - a.from)) out = out.slice(0, range.from) + duration + out.slice(range.to);
  return out;
}
