/**
 * A stand-in for what the emulator cannot do: a small HTTP proxy in front of the GCS emulator
 * that answers some requests the way GCS answers them (status and JSON error body, as in
 * cloud.google.com/storage/docs/json_api/v1/status-codes) and forwards the rest. The SDK's real
 * HTTP stack parses these answers, so the connector sees the same error objects it would see
 * from GCS. It is not GCS: the bodies are the documented shapes, the policy is set by the test.
 *
 * Per bucket: `missing` (404 notFound, as for a deleted bucket), `invalidCredentials` (401
 * authError, as for a revoked token), `denied` permissions (403 forbidden naming the permission;
 * storage.objects.delete is checked on overwrites and deletes, as GCS does), `status` (every
 * request answered with it), `uploadStatus` (only the PUT of a resumable upload's bytes; 404/410
 * as for an expired session), `hang`
 * (requests are read and never answered).
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type StoragePermission = 'storage.objects.create' | 'storage.objects.delete';

export interface BucketPolicy {
  missing?: boolean;
  invalidCredentials?: boolean;
  denied?: readonly StoragePermission[];
  status?: number;
  uploadStatus?: number;
  hang?: boolean;
}

export interface GcsFaultProxy {
  endpoint: string;
  /** The service account GCS names in 403 messages. */
  readonly identity: string;
  setPolicy(bucket: string, policy: BucketPolicy | null): void;
  /** `METHOD url` of every request for `bucket` so far (forwarded or answered here). */
  requests(bucket: string): string[];
  close(): Promise<void>;
}

const ERROR_BODIES: Readonly<Record<number, { reason: string; domain: string; message: string }>> = {
  401: { reason: 'authError', domain: 'global', message: 'Invalid Credentials' },
  404: { reason: 'notFound', domain: 'global', message: 'The specified bucket does not exist.' },
  429: {
    reason: 'rateLimitExceeded',
    domain: 'usageLimits',
    message: 'The object exceeded the rate limit for object mutation operations (create, update, and delete). Please reduce your request rate. See https://cloud.google.com/storage/docs/gcs429.',
  },
  500: { reason: 'backendError', domain: 'global', message: 'We encountered an internal error. Please try again.' },
  503: { reason: 'backendError', domain: 'global', message: 'We encountered an internal error. Please try again.' },
};

function gcsError(status: number, reason: string, message: string, domain = 'global'): string {
  return JSON.stringify({ error: { code: status, message, errors: [{ message, domain, reason }] } });
}

/** The bucket a JSON API, upload or signed-URL path is about. */
function bucketOf(url: URL): string | undefined {
  const jsonApi = /\/b\/([^/]+)/.exec(url.pathname);
  if (jsonApi?.[1] !== undefined) return decodeURIComponent(jsonApi[1]);
  return decodeURIComponent(url.pathname.split('/')[1] ?? '') || undefined;
}

/** The object an upload or a delete names. */
function objectOf(request: IncomingMessage, url: URL): string | undefined {
  const name = url.searchParams.get('name');
  if (name !== null) return name;
  const path = /\/b\/[^/]+\/o\/(.+)$/.exec(url.pathname);
  return request.method === 'DELETE' && path?.[1] !== undefined ? decodeURIComponent(path[1]) : undefined;
}

export async function startGcsFaultProxy(upstream: string, identity = 'terra-fanout@demo-terra-fanout.iam.gserviceaccount.com'): Promise<GcsFaultProxy> {
  const policies = new Map<string, BucketPolicy>();
  const seen = new Map<string, string[]>();
  const sockets = new Set<Socket>();
  const target = new URL(upstream);

  const forward = (request: IncomingMessage, response: ServerResponse, body?: Buffer): void => {
    const outgoing = httpRequest(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    outgoing.on('error', () => response.destroy());
    if (body === undefined) request.pipe(outgoing);
    else outgoing.end(body);
  };

  const exists = async (bucket: string, name: string): Promise<boolean> => {
    const answer = await fetch(`${upstream}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`);
    await answer.arrayBuffer();
    return answer.status === 200;
  };

  /** Answers after reading the request body, as GCS does; a client still sending would see a reset otherwise. */
  const answer = (request: IncomingMessage, response: ServerResponse, status: number, body: string): void => {
    request.resume();
    request.once('end', () => {
      response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      response.end(body);
    });
  };

  const denial = (permission: StoragePermission): string =>
    gcsError(
      403,
      'forbidden',
      `${identity} does not have ${permission} access to the Google Cloud Storage object. Permission '${permission}' denied on resource (or it may not exist).`,
    );

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://proxy');
    const bucket = bucketOf(url);
    if (bucket !== undefined) seen.set(bucket, [...(seen.get(bucket) ?? []), `${request.method} ${request.url}`]);
    const policy = bucket === undefined ? undefined : policies.get(bucket);
    if (policy === undefined || bucket === undefined) return forward(request, response);

    if (policy.hang === true) {
      request.resume();
      return;
    }
    const fixed = policy.status ?? (policy.missing === true ? 404 : policy.invalidCredentials === true ? 401 : undefined);
    if (fixed !== undefined) {
      const body = ERROR_BODIES[fixed] ?? { reason: 'invalid', domain: 'global', message: `Status ${fixed}.` };
      return answer(request, response, fixed, gcsError(fixed, body.reason, body.message, body.domain));
    }
    const upload = url.pathname.startsWith('/upload/');
    if (upload && request.method === 'PUT' && policy.uploadStatus !== undefined) {
      const gone = policy.uploadStatus === 404 || policy.uploadStatus === 410;
      const body = gone
        ? { reason: 'notFound', domain: 'global', message: 'The upload session does not exist or has expired.' }
        : (ERROR_BODIES[policy.uploadStatus] ?? { reason: 'invalid', domain: 'global', message: `Status ${policy.uploadStatus}.` });
      return answer(request, response, policy.uploadStatus, gcsError(policy.uploadStatus, body.reason, body.message, body.domain));
    }
    const denied = new Set(policy.denied ?? []);
    const object = objectOf(request, url);
    const creates = upload && request.method === 'POST';
    if (creates && denied.has('storage.objects.create')) return answer(request, response, 403, denial('storage.objects.create'));
    if (object !== undefined && denied.has('storage.objects.delete') && (request.method === 'DELETE' || (creates && (await exists(bucket, object))))) {
      return answer(request, response, 403, denial('storage.objects.delete'));
    }
    forward(request, response);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    identity,
    setPolicy(bucket, policy) {
      if (policy === null) policies.delete(bucket);
      else policies.set(bucket, policy);
    },
    requests: (bucket) => [...(seen.get(bucket) ?? [])],
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
