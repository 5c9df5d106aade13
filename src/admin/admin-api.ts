import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { WorkerConfig } from '../config/worker-schema.js';
import { deadLetterSelectionSchema } from '../dead-letters/dead-letter-filter.js';
import { redriveRequestSchema, TenantNotFoundError, type DeadLetterOperations } from '../dead-letters/dead-letter-operations.js';
import { RedriveConflictError } from '../dead-letters/redrive-jobs.js';
import type { OperationsMetrics } from '../observability/metrics.js';
import type { ExtraRoutes } from '../observability/http-server.js';
import type { TapHub } from '../tap/tap-hub.js';
import { LaneBusyError, LaneNotFoundError, ProcessesUnansweredError, type OffsetTarget, type ReloadResult, type WorkerControl } from '../worker/worker-control.js';
import { hasAdminToken, operatorOf } from './admin-auth.js';
import { AdminHttpError, type AdminErrorCode, parseInput, queryObject, readJsonBody, sendError, sendJson } from './admin-http.js';
import { serveTapStream } from './tap-stream.js';

/**
 * The admin API, served on the worker's HTTP port under /admin when `admin.enabled` (404
 * otherwise); with `run --processes N` the primary serves it, its `control` asking the worker
 * processes (src/worker/process-group-control.ts). Every request needs `Authorization: Bearer <admin.token>`. Who asked (the
 * `X-Operator` header, else the remote address) is logged with what they asked for: changes at
 * INFO, reads at DEBUG. Errors are JSON `{"error":{"code","message"}}`.
 *
 *   GET  /admin/lanes                                        every lane's status
 *   POST /admin/lanes/{tenant}/{destination}/pause|resume    operator pause (survives reloads)
 *   POST /admin/lanes/{tenant}/{destination}/offsets         {"to":"earliest"|"latest"|ISO time,"force"?:bool}
 *   POST /admin/reload                                       re-read the tenant files
 *   GET  /admin/tap?tenant=&destination=&type=&user_id=&outcome=&bodies=1   server-sent events
 *   GET  /admin/dlq?tenant=&destination=&code=&since=&until=&identity=&user_id=&limit=
 *   POST /admin/dlq/redrive                                  {"tenant","destination",...filters,"dry_run"?,"rate"?,"max_attempts"?}
 *   GET  /admin/dlq/redrive[/{id}]   POST /admin/dlq/redrive/{id}/cancel
 */
export interface AdminApiOptions {
  config: WorkerConfig['admin'];
  control: WorkerControl;
  /** The reload trigger (serializes reloads, counts and logs them). */
  reload: (reason: string) => Promise<ReloadResult>;
  tap: TapHub;
  /** Without it, the /admin/dlq routes answer 501 not_available. */
  deadLetters?: DeadLetterOperations | undefined;
  metrics: Pick<OperationsMetrics, 'adminRequests'>;
  logger: Logger;
}

interface Call {
  request: IncomingMessage;
  response: ServerResponse;
  params: string[];
  query: URLSearchParams;
  /** Who asked: the X-Operator header, or the remote address. */
  by: string;
  log: Logger;
}

interface Route {
  method: 'GET' | 'POST';
  /** The template, also the `route` label of terra_fanout_admin_requests_total. */
  template: string;
  pattern: RegExp;
  /** Changes something (logged at INFO) or only reads (DEBUG). */
  changes: boolean;
  handle(call: Call): Promise<void>;
}

const SEGMENT = '([^/]+)';

const offsetsBodySchema = z.strictObject({
  to: z.union([z.literal('earliest'), z.literal('latest'), z.string().refine((text) => /^\d{4}-\d{2}-\d{2}T/.test(text) && !Number.isNaN(Date.parse(text)), 'expected "earliest", "latest" or an ISO-8601 time')]),
  force: z.boolean().optional(),
});

const tapQuerySchema = z.strictObject({
  tenant: z.string().min(1).optional(),
  destination: z.string().min(1).optional(),
  type: z.string().min(1).optional(),
  user_id: z.string().min(1).optional(),
  outcome: z.enum(['delivered', 'parked', 'filtered']).optional(),
  bodies: z.enum(['0', '1', 'true', 'false']).optional(),
});

function offsetTarget(to: string): OffsetTarget {
  if (to === 'earliest') return { to: 'earliest' };
  if (to === 'latest') return { to: 'latest' };
  return { to: 'time', timestampMs: Date.parse(to) };
}

function remoteOf(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? 'unknown';
}

function laneRoute(action: 'pause' | 'resume' | 'offsets'): RegExp {
  return new RegExp(`^/admin/lanes/${SEGMENT}/${SEGMENT}/${action}$`);
}

export function createAdminApi(options: AdminApiOptions): ExtraRoutes {
  const { control, tap, metrics } = options;
  const deadLetters = (): DeadLetterOperations => {
    if (options.deadLetters === undefined) throw new AdminHttpError(501, 'not_available', 'Dead-letter operations are not available in this worker.');
    return options.deadLetters;
  };

  const routes: Route[] = [
    {
      method: 'GET',
      template: '/admin/lanes',
      pattern: /^\/admin\/lanes$/,
      changes: false,
      async handle({ response }) {
        sendJson(response, 200, await control.lanes());
      },
    },
    ...(['pause', 'resume'] as const).map(
      (action): Route => ({
        method: 'POST',
        template: `/admin/lanes/{tenant}/{destination}/${action}`,
        pattern: laneRoute(action),
        changes: true,
        async handle({ response, params: [tenant = '', destination = ''], by, log }) {
          const answer = action === 'pause' ? await control.pause(tenant, destination, by) : await control.resume(tenant, destination, by);
          log.info({ tenant, destination }, action === 'pause' ? 'Admin: lane paused by an operator.' : 'Admin: lane resumed by an operator.');
          sendJson(response, 200, answer);
        },
      }),
    ),
    {
      method: 'POST',
      template: '/admin/lanes/{tenant}/{destination}/offsets',
      pattern: laneRoute('offsets'),
      changes: true,
      async handle({ request, response, params: [tenant = '', destination = ''], by, log }) {
        const body = parseInput(offsetsBodySchema, await readJsonBody(request));
        const force = body.force ?? false;
        log.info({ tenant, destination, to: body.to, force }, 'Admin: moving a lane\'s offsets.');
        sendJson(response, 200, await control.setOffsets(tenant, destination, offsetTarget(body.to), { by, force }));
      },
    },
    {
      method: 'POST',
      template: '/admin/reload',
      pattern: /^\/admin\/reload$/,
      changes: true,
      async handle({ response, by }) {
        const result = await options.reload(`POST /admin/reload by ${by}`);
        if (result.ok) {
          sendJson(response, 200, { result });
          return;
        }
        // With --processes, a worker process that did not answer is a different failure from bad files.
        const unanswered = (result.missingProcesses ?? []).length > 0;
        const code: AdminErrorCode = unanswered ? 'processes_unanswered' : 'config_invalid';
        const message = unanswered ? 'Some worker processes did not answer the reload in time; see result.problems.' : 'The tenant files have problems; the last good config stays.';
        sendJson(response, unanswered ? 504 : 422, { error: { code, message }, result });
      },
    },
    {
      method: 'GET',
      template: '/admin/tap',
      pattern: /^\/admin\/tap$/,
      changes: false,
      async handle({ request, response, query, log }) {
        const input = parseInput(tapQuerySchema, queryObject(query));
        const filter = {
          tenant: input.tenant ?? null,
          destination: input.destination ?? null,
          type: input.type ?? null,
          userId: input.user_id ?? null,
          outcome: input.outcome ?? null,
          bodies: input.bodies === '1' || input.bodies === 'true',
        };
        serveTapStream(request, response, tap, filter, (delivered, dropped) => log.info({ delivered, dropped }, 'Admin: tap stream closed.'));
        log.info({ filter }, 'Admin: tap stream opened.');
      },
    },
    {
      method: 'GET',
      template: '/admin/dlq',
      pattern: /^\/admin\/dlq$/,
      changes: false,
      async handle({ request, response, query, log }) {
        const selection = parseInput(deadLetterSelectionSchema, queryObject(query));
        const abort = new AbortController();
        const onClose = (): void => {
          if (!response.writableEnded) abort.abort();
        };
        request.on('close', onClose);
        log.info({ selection }, 'Admin: inspecting dead letters.');
        try {
          sendJson(response, 200, await deadLetters().inspect(selection, abort.signal));
        } finally {
          request.off('close', onClose);
        }
      },
    },
    {
      method: 'POST',
      template: '/admin/dlq/redrive',
      pattern: /^\/admin\/dlq\/redrive$/,
      changes: true,
      async handle({ request, response, by, log }) {
        const body = parseInput(redriveRequestSchema, await readJsonBody(request));
        const job = deadLetters().redrive(body, by);
        log.info({ job: job.id, request: body }, 'Admin: redrive started.');
        sendJson(response, 202, { job }, { location: `/admin/dlq/redrive/${job.id}` });
      },
    },
    {
      method: 'GET',
      template: '/admin/dlq/redrive',
      pattern: /^\/admin\/dlq\/redrive$/,
      changes: false,
      async handle({ response }) {
        sendJson(response, 200, { jobs: deadLetters().jobs.list() });
      },
    },
    {
      method: 'GET',
      template: '/admin/dlq/redrive/{id}',
      pattern: new RegExp(`^/admin/dlq/redrive/${SEGMENT}$`),
      changes: false,
      async handle({ response, params: [id = ''] }) {
        const job = deadLetters().jobs.get(id);
        if (job === undefined) throw new AdminHttpError(404, 'job_not_found', `No redrive job ${id}.`);
        sendJson(response, 200, { job });
      },
    },
    {
      method: 'POST',
      template: '/admin/dlq/redrive/{id}/cancel',
      pattern: new RegExp(`^/admin/dlq/redrive/${SEGMENT}/cancel$`),
      changes: true,
      async handle({ response, params: [id = ''], by }) {
        const job = deadLetters().jobs.cancel(id, by);
        if (job === undefined) throw new AdminHttpError(404, 'job_not_found', `No redrive job ${id}.`);
        sendJson(response, 202, { job });
      },
    },
  ];

  /** Maps what handlers throw to answers; anything unexpected is a 500 logged at ERROR. */
  const toHttpError = (error: unknown, log: Logger): AdminHttpError => {
    if (error instanceof AdminHttpError) return error;
    if (error instanceof LaneNotFoundError) return new AdminHttpError(404, 'lane_not_found', error.message);
    if (error instanceof LaneBusyError) return new AdminHttpError(409, 'lane_busy', error.message);
    if (error instanceof ProcessesUnansweredError) return new AdminHttpError(504, 'processes_unanswered', error.message);
    if (error instanceof TenantNotFoundError) return new AdminHttpError(404, 'tenant_not_found', error.message);
    if (error instanceof RedriveConflictError) return new AdminHttpError(409, 'redrive_running', error.message);
    // The brokers refused an admin call (an old broker or a missing ACL for group offsets, for instance).
    if (error instanceof Error && error.name.startsWith('KafkaJS')) {
      log.warn({ err: error }, 'Admin request failed at the Kafka cluster.');
      return new AdminHttpError(502, 'kafka_error', `The Kafka cluster refused the request: ${error.message}`);
    }
    log.error({ err: error }, 'Admin request failed.');
    return new AdminHttpError(500, 'internal_error', 'The request failed; see the worker log.');
  };

  const serve = async (request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<string> => {
    const operator = operatorOf(request);
    const remote = remoteOf(request);
    const by = operator ?? remote;
    const log = options.logger.child({ operator: operator ?? undefined, remote, method: request.method, path });
    const matching = routes.filter((route) => route.pattern.test(path));
    const route = matching.find((candidate) => candidate.method === request.method);
    const template = (route ?? matching[0])?.template ?? 'unknown';
    try {
      if (!options.config.enabled) throw new AdminHttpError(404, 'not_found', 'Not found.');
      const token = options.config.token;
      if (token === undefined || !hasAdminToken(request, token)) {
        log.warn('Admin request without a valid token refused.');
        throw new AdminHttpError(401, 'unauthorized', 'A valid admin token is required: Authorization: Bearer <token>.', { 'www-authenticate': 'Bearer' });
      }
      if (matching.length === 0) throw new AdminHttpError(404, 'not_found', `No admin route ${path}.`);
      if (route === undefined) {
        const allow = matching.map((candidate) => candidate.method).join(', ');
        throw new AdminHttpError(405, 'method_not_allowed', `${path} answers ${allow}.`, { allow });
      }
      let params: string[];
      try {
        params = (route.pattern.exec(path) ?? []).slice(1).map((segment) => decodeURIComponent(segment));
      } catch {
        throw new AdminHttpError(400, 'invalid_request', 'The path is not valid percent-encoding.');
      }
      if (route.changes) log.info('Admin request.');
      else log.debug('Admin request.');
      await route.handle({ request, response, params, query, by, log });
    } catch (thrown) {
      const error = toHttpError(thrown, log);
      if (!response.headersSent) sendError(response, error);
      else if (!response.writableEnded) response.end();
      if (error.status !== 401 && error.status !== 404) log.info({ status: error.status, code: error.code }, 'Admin request refused.');
    }
    return template;
  };

  return {
    handle(request, response) {
      const url = new URL(request.url ?? '/', 'http://admin.invalid');
      if (url.pathname !== '/admin' && !url.pathname.startsWith('/admin/')) return false;
      void serve(request, response, url.pathname, url.searchParams).then((template) => {
        metrics.adminRequests.inc({ route: template, status: String(response.statusCode) });
      });
      return true;
    },
    close() {
      tap.closeAll();
    },
  };
}
