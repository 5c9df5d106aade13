import { randomUUID } from 'node:crypto';
import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import type { FanoutError } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { classifyHttpStatus, classifyNetworkError, compileRetryStatuses, safeUrlLabel, type RetryStatusPolicy } from '../shared/http-errors.js';
import { deadlineError } from '../shared/call-deadline.js';
import { sendInKeyOrder } from '../shared/ordered-send.js';
import { fanoutUserAgent } from '../shared/user-agent.js';
import type { WebhookAnswer, WebhookPort } from './client.js';
import type { WebhookConfig } from './config.js';
import { encodeHealthcheck, encodeWebhookRequest, type WebhookDelivery } from './encode.js';

/** Terra parity: every non-2xx answer is retried. */
const retryEveryStatus: RetryStatusPolicy = () => true;

function isSuccess(answer: WebhookAnswer): boolean {
  return answer.status >= 200 && answer.status < 300;
}

class WebhookDestination implements Destination {
  private readonly target: string;
  private readonly retryStatus: RetryStatusPolicy;
  private readonly userAgent = fanoutUserAgent();
  private closed = false;

  constructor(
    private readonly config: WebhookConfig,
    private readonly client: WebhookPort,
  ) {
    this.target = `Webhook ${safeUrlLabel(config.url)}`;
    this.retryStatus = config.retryStatuses === undefined ? retryEveryStatus : compileRetryStatuses(config.retryStatuses);
  }

  /** POSTs a Terra healthcheck event; any 2xx passes. Statuses keep their own meaning (401 is auth_failed). */
  async check(): Promise<void> {
    const request = encodeHealthcheck(this.config, new Date(), `healthcheck-${randomUUID()}`, this.userAgent);
    const answer = await this.post(request, new AbortController().signal);
    if ('error' in answer) throw answer.error;
    if (!isSuccess(answer)) throw classifyHttpStatus(answer.status, answer.retryAfter, { target: this.target });
  }

  /** One request per record; same user in batch order, different users in parallel up to `concurrency`. */
  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    return sendInKeyOrder(batch, { keyOf: (record, index) => record.userId ?? `#no-user-${index}`, concurrency: this.config.concurrency, signal }, (record) =>
      this.deliver(record, signal),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  private async deliver(record: TerraRecord, signal: AbortSignal): Promise<RecordOutcome> {
    const answer = await this.post(encodeWebhookRequest(this.config, record, this.userAgent), signal);
    if ('error' in answer) return { ok: false, error: answer.error };
    if (isSuccess(answer)) return { ok: true };
    return { ok: false, error: classifyHttpStatus(answer.status, answer.retryAfter, { target: this.target, retryStatus: this.retryStatus }) };
  }

  /** One attempt (the client bounds it by timeoutMs and the shutdown signal); failures come back classified. */
  private async post(request: WebhookDelivery, shutdown: AbortSignal): Promise<WebhookAnswer | { error: FanoutError }> {
    try {
      return await this.client.post(request, shutdown);
    } catch (error) {
      return { error: deadlineError(error, this.target) ?? classifyNetworkError(error, { target: this.target, shutdown: shutdown.aborted }) };
    }
  }
}

/** A webhook destination over `client`. Performs no I/O until check() or send(). */
export function createWebhookDestination(config: WebhookConfig, client: WebhookPort, _context: ConnectorContext): Destination {
  return new WebhookDestination(config, client);
}
