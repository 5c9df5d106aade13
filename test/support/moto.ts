/**
 * moto (https://github.com/getmoto/moto), a real S3 and SQS API server in one process, on
 * 127.0.0.1 and a free port. Preinstalled on these machines (`moto_server`); see
 * shared/reference/local-services.md. Use explicit credentials and `forcePathStyle: true`.
 */
import { createServer } from 'node:http';
import { answersHttp, freePort, startServerProcess } from './server-process.js';

/** Credentials and region every test client uses with moto; moto accepts any. */
export const motoCredentials = { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' } as const;
export const motoRegion = 'us-east-1';

export interface Moto {
  /** e.g. http://127.0.0.1:40123 */
  endpoint: string;
  /** Forgets every bucket, object and queue. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: 'moto_server',
    command: process.env['MOTO_SERVER'] ?? 'moto_server',
    args: ['-H', '127.0.0.1', '-p', String(port)],
    env: { AWS_EC2_METADATA_DISABLED: 'true' },
    ready: () => answersHttp(`${endpoint}/moto-api/`),
  });
  return {
    endpoint,
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
    stop: () => server.stop(),
  };
}

/**
 * IAM on moto. By default moto accepts any credentials; `enforceMotoIam` makes it check
 * signatures, access keys and IAM policies from then on (what INITIAL_NO_AUTH_ACTION_COUNT=0 does
 * at start-up, switched at run time through `POST /moto-api/reset-auth` so users can be created
 * first). moto evaluates a policy's actions, not its resources or conditions. Auth is
 * process-wide: use a moto of its own for these tests.
 */
export interface MotoIamUser {
  userName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** One IAM query call (moto routes by the credential scope of the Authorization header, which it does not verify while auth is off). */
async function iamCall(moto: Moto, params: Record<string, string>): Promise<string> {
  const response = await fetch(`${moto.endpoint}/`, {
    method: 'POST',
    body: new URLSearchParams({ Version: '2010-05-08', ...params }),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIAMOTOSETUP0000000/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
    },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`moto IAM ${params['Action']} answered ${response.status}: ${text}`);
  return text;
}

function xmlValue(xml: string, element: string): string {
  const match = new RegExp(`<${element}>([^<]+)</${element}>`).exec(xml);
  if (match?.[1] === undefined) throw new Error(`moto IAM answer has no ${element}`);
  return match[1];
}

/** Switches IAM enforcement on (true) or off (false). */
export async function enforceMotoIam(moto: Moto, enforce: boolean): Promise<void> {
  const response = await fetch(`${moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: enforce ? '0' : 'inf' });
  if (!response.ok) throw new Error(`moto reset-auth answered ${response.status}`);
}

/** Creates a user with an access key and, when `actions` is given, an inline policy allowing them. Call while IAM is not enforced. */
export async function createMotoIamUser(moto: Moto, userName: string, actions: readonly string[] | null): Promise<MotoIamUser> {
  await iamCall(moto, { Action: 'CreateUser', UserName: userName });
  const key = await iamCall(moto, { Action: 'CreateAccessKey', UserName: userName });
  if (actions !== null) {
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });
    await iamCall(moto, { Action: 'PutUserPolicy', UserName: userName, PolicyName: `${userName}-policy`, PolicyDocument: policy });
  }
  return { userName, accessKeyId: xmlValue(key, 'AccessKeyId'), secretAccessKey: xmlValue(key, 'SecretAccessKey') };
}

/** Deletes a user's access key (a revoked key), switching enforcement off for the call and back on. */
export async function revokeMotoAccessKey(moto: Moto, user: MotoIamUser): Promise<void> {
  await enforceMotoIam(moto, false);
  try {
    await iamCall(moto, { Action: 'DeleteAccessKey', UserName: user.userName, AccessKeyId: user.accessKeyId });
  } finally {
    await enforceMotoIam(moto, true);
  }
}

/** A proxy in front of moto, see startSqsEntryFaultProxy. */
export interface SqsEntryFaultProxy {
  /** e.g. http://127.0.0.1:40124; use it as the endpoint and in the queue URL. */
  endpoint: string;
  /** How many entries were made invalid so far. */
  readonly faults: number;
  stop(): Promise<void>;
}

/**
 * A real per-entry failure of SendMessageBatch from moto. moto 5.2.1 checks bodies, sizes and
 * FIFO parameters for the whole request (one bad entry fails the call), and answers a single
 * entry with `Failed` in one case only: a DelaySeconds above 900 on a standard queue
 * (InvalidParameterValue, SenderFault). This proxy forwards every request to moto unchanged,
 * except that SendMessageBatch entries whose body contains `marker` get DelaySeconds 1800 for
 * their first `times` sends, so moto itself fails that entry and stores the others.
 */
export async function startSqsEntryFaultProxy(moto: Moto, marker: string, times = Number.POSITIVE_INFINITY): Promise<SqsEntryFaultProxy> {
  let faults = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        let body = Buffer.concat(chunks);
        if (request.headers['x-amz-target'] === 'AmazonSQS.SendMessageBatch') {
          const parsed = JSON.parse(body.toString('utf8')) as { Entries?: Array<{ MessageBody?: string; DelaySeconds?: number }> };
          for (const entry of parsed.Entries ?? []) {
            if (faults < times && entry.MessageBody?.includes(marker) === true) {
              entry.DelaySeconds = 1800;
              faults += 1;
            }
          }
          body = Buffer.from(JSON.stringify(parsed));
        }
        const headers = Object.fromEntries(
          Object.entries(request.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !['host', 'content-length', 'connection'].includes(entry[0])),
        );
        const answer = await fetch(`${moto.endpoint}${request.url ?? '/'}`, { method: request.method ?? 'POST', headers, body: request.method === 'GET' ? undefined : body });
        const answerBody = Buffer.from(await answer.arrayBuffer());
        response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/x-amz-json-1.0', 'content-length': answerBody.length });
        response.end(answerBody);
      })().catch((error: unknown) => {
        response.writeHead(502);
        response.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('proxy has no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    get faults() {
      return faults;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
