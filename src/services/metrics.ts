import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one instance; scrape every instance and sum. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sspr_process_' });
  const flowsStarted = new Counter({ name: 'sspr_flows_started_total', help: 'Reset and unlock flows started', labelNames: ['intent'], registers: [registry] });
  const flowsCompleted = new Counter({ name: 'sspr_flows_completed_total', help: 'Flows completed, by the methods used', labelNames: ['intent', 'method'], registers: [registry] });
  const flowsFailed = new Counter({ name: 'sspr_flows_failed_total', help: 'Failed proofs and refused steps, by method', labelNames: ['method', 'reason'], registers: [registry] });
  const messages = new Counter({ name: 'sspr_messages_total', help: 'Messages handed to a transport', labelNames: ['channel', 'result'], registers: [registry] });
  const httpDuration = new Histogram({
    name: 'sspr_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, flowsStarted, flowsCompleted, flowsFailed, messages, httpDuration };
}
export type Metrics = ReturnType<typeof createMetrics>;
