import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { classifyNetworkError, safeUrlLabel } from '../shared/http-errors.js';
import { sendInKeyOrder } from '../shared/ordered-send.js';
import type { FhirAnswer, FhirPort, FhirRequest } from './client.js';
import type { FhirConfig } from './config.js';
import { capabilityProblem, firstFailedEntry, probeBundle } from './encode.js';
import { classifyFhirAnswer } from './errors.js';

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

class FhirDestination implements Destination {
  private readonly target: string;
  private closed = false;

  constructor(
    private readonly config: FhirConfig,
    private readonly client: FhirPort,
  ) {
    this.target = `FHIR server ${safeUrlLabel(config.baseUrl)}`;
  }

  /** Reads /metadata (an R4 CapabilityStatement), then, with checkWrite, writes the probe Bundle. */
  async check(): Promise<void> {
    const metadata = await this.call({ method: 'GET', path: 'metadata' }, new AbortController().signal);
    if ('error' in metadata) throw metadata.error;
    if (!isSuccess(metadata.status)) throw classifyFhirAnswer(metadata.status, metadata.retryAfter, metadata.body, `${this.target} /metadata`);
    const problem = capabilityProblem(metadata.body);
    if (problem !== null) throw new FanoutError('destination_misconfigured', `${this.target}: ${problem}`);
    if (!this.config.checkWrite) return;
    const outcome = await this.post(probeBundle(this.config.bundleType), new AbortController().signal);
    if (!outcome.ok) throw outcome.error;
  }

  /** One Bundle per record; a user's records one after another (their Patient is created once), users in parallel. */
  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    return sendInKeyOrder(batch, { keyOf: (record, index) => record.userId ?? `#no-user-${index}`, concurrency: this.config.concurrency, signal }, (record) => this.deliver(record, signal));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  private async deliver(record: TerraRecord, signal: AbortSignal): Promise<RecordOutcome> {
    if (record.encoding?.format !== 'fhir') {
      return { ok: false, error: new FanoutError('destination_misconfigured', `The fhir destination got a ${record.type} record that is not a FHIR Bundle (format ${record.encoding?.format ?? 'terra'}); it only writes format: fhir.`) };
    }
    return this.post(record.body, signal);
  }

  /** POSTs a Bundle to the base URL; a 2xx answer whose response entries include a failure counts as that failure. */
  private async post(body: Buffer, signal: AbortSignal): Promise<RecordOutcome> {
    const answer = await this.call({ method: 'POST', path: '', body }, signal);
    if ('error' in answer) return { ok: false, error: answer.error };
    if (!isSuccess(answer.status)) return { ok: false, error: classifyFhirAnswer(answer.status, answer.retryAfter, answer.body, this.target) };
    const failed = firstFailedEntry(answer.body);
    if (failed === null) return { ok: true };
    return { ok: false, error: classifyFhirAnswer(failed.status, null, failed.outcome, `${this.target} (Bundle entry ${failed.index})`) };
  }

  /** One request under the configured timeout and the shutdown signal; failures without an answer come back classified. */
  private async call(request: Omit<FhirRequest, 'signal'>, shutdown: AbortSignal): Promise<FhirAnswer | { error: FanoutError }> {
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    try {
      return await this.client.request({ ...request, signal: AbortSignal.any([shutdown, timeout]) });
    } catch (error) {
      const shuttingDown = shutdown.aborted;
      return { error: classifyNetworkError(error, { target: this.target, shutdown: shuttingDown, timedOut: timeout.aborted && !shuttingDown }) };
    }
  }
}

/** A FHIR server destination over `client`. Performs no I/O until check() or send(). */
export function createFhirDestination(config: FhirConfig, client: FhirPort, _context: ConnectorContext): Destination {
  return new FhirDestination(config, client);
}
