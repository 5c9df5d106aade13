import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OperationOutcomeError, badRequest, getStatus, unauthorized, validateResource } from '@medplum/core';
import { FhirRouter, MemoryRepository, type FhirRequest } from '@medplum/fhir-router';
import type { Bundle, CapabilityStatement, OperationOutcome, OperationOutcomeIssue, Resource, ResourceType } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from './fhir-validator.js';

/**
 * A real FHIR R4 implementation on 127.0.0.1 for the fhir destination's tests: Medplum's FHIR
 * router (@medplum/fhir-router: transactions, batches, conditional create and update, search)
 * over its in-memory repository, behind a small HTTP server. The server adds what Medplum's HTTP
 * layer adds: a CapabilityStatement at /metadata, bearer-token checks, and validation of every
 * resource written (Medplum's validateResource, as its server does on write), answered 400 with
 * the OperationOutcome.
 */

export interface MedplumServer {
  /** The FHIR base URL, `http://127.0.0.1:<port>/fhir/R4`. */
  baseUrl: string;
  repo: MemoryRepository;
  /** Every request the server answered: method, path and status. */
  requests: { method: string; path: string; status: number; authorization: string | undefined }[];
  /** Resources of a type in the repository. */
  count(resourceType: ResourceType): Promise<number>;
  close(): Promise<void>;
}

export interface MedplumServerOptions {
  /** When set, every request needs `Authorization: Bearer <token>` (a function: the token may change). */
  token?: string | (() => string | undefined);
  /** Medplum's transaction mode (atomic, at most 8 entries with conditional requests); default true. */
  transactions?: boolean;
}

const BASE_PATH = '/fhir/R4';

function capabilityStatement(): CapabilityStatement {
  return { resourceType: 'CapabilityStatement', status: 'active', date: '2026-01-01', kind: 'instance', fhirVersion: '4.0.1', format: ['json'], rest: [{ mode: 'server' }] };
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** The error issues validateResource finds in the resources a request writes. */
function validationIssues(body: unknown): OperationOutcomeIssue[] {
  if (typeof body !== 'object' || body === null || !('resourceType' in body)) return [];
  const resources: Resource[] = body.resourceType === 'Bundle' ? ((body as Bundle).entry ?? []).flatMap((entry) => (entry.resource === undefined ? [] : [entry.resource])) : [body as Resource];
  const issues: OperationOutcomeIssue[] = [];
  for (const resource of resources) {
    try {
      issues.push(...validateResource(resource).filter((issue) => issue.severity === 'error'));
    } catch (error) {
      if (error instanceof OperationOutcomeError) issues.push(...(error.outcome.issue ?? []));
      else throw error;
    }
  }
  return issues;
}

function send(response: ServerResponse, status: number, body: Resource): void {
  response.writeHead(status, { 'content-type': 'application/fhir+json' });
  response.end(JSON.stringify(body));
}

export async function startMedplumFhirServer(options: MedplumServerOptions = {}): Promise<MedplumServer> {
  loadFhirDefinitions();
  const repo = new MemoryRepository();
  const router = new FhirRouter();
  const requests: MedplumServer['requests'] = [];
  const expectedToken = (): string | undefined => (typeof options.token === 'function' ? options.token() : options.token);

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<number> => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith(BASE_PATH)) {
      send(response, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
      return 404;
    }
    const token = expectedToken();
    if (token !== undefined && request.headers.authorization !== `Bearer ${token}`) {
      send(response, 401, unauthorized);
      return 401;
    }
    const path = url.pathname.slice(BASE_PATH.length) || '/';
    if (request.method === 'GET' && path === '/metadata') {
      send(response, 200, capabilityStatement());
      return 200;
    }
    const body = await readBody(request);
    const issues = validationIssues(body);
    if (issues.length > 0) {
      const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: issues };
      send(response, 400, outcome);
      return 400;
    }
    const fhirRequest: FhirRequest = {
      method: (request.method ?? 'GET') as FhirRequest['method'],
      url: `${path}${url.search}`,
      pathname: '',
      body,
      params: {},
      query: {},
      headers: request.headers,
      config: { transactions: options.transactions ?? true },
    };
    const [outcome, resource] = await router.handleRequest(fhirRequest, repo);
    const status = getStatus(outcome);
    send(response, status, resource ?? outcome);
    return status;
  };

  const server = createServer((request, response) => {
    handle(request, response)
      .then((status) => requests.push({ method: request.method ?? '', path: request.url ?? '', status, authorization: request.headers.authorization }))
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (!response.headersSent) send(response, 400, badRequest(message));
        requests.push({ method: request.method ?? '', path: request.url ?? '', status: 400, authorization: request.headers.authorization });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${BASE_PATH}`,
    repo,
    requests,
    async count(resourceType) {
      return (await repo.searchResources({ resourceType, count: 10_000 })).length;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
