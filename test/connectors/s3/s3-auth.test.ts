import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { s3ConfigSchema } from '../../../connectors/s3/config.js';
import { createS3Destination } from '../../../connectors/s3/destination.js';
import { s3Connector } from '../../../connectors/s3/index.js';
import type { ConnectorContext, Destination } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { uniqueName } from '../../support/kafka.js';
import { createMotoIamUser, enforceMotoIam, motoRegion, startMoto, type MotoIamUser } from '../../support/moto.js';
import { makeRecord } from '../../support/records.js';
import { useServer } from '../../support/server-process.js';

/**
 * Credentials and permissions against moto with IAM enforced (its own moto: enforcement is
 * process-wide). moto checks signatures, keys and policy actions; it ignores policy resources,
 * and its signature check fails object keys with ":", "+" or "=" (Terra's layout has ":"), so
 * these tests use a keyTemplate without them.
 */
const moto = useServer(async () => {
  const server = await startMoto();
  const admin = await createMotoIamUser(server, 'admin', ['s3:*']);
  const writer = await createMotoIamUser(server, 'writer', ['s3:PutObject']);
  const nobody = await createMotoIamUser(server, 'nobody', null);
  await enforceMotoIam(server, true);
  const adminClient = new S3Client({ region: motoRegion, endpoint: server.endpoint, forcePathStyle: true, credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey }, maxAttempts: 1 });
  const bucket = uniqueName('auth-bucket');
  await adminClient.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    ...server,
    users: { admin, writer, nobody },
    bucket,
    adminClient,
    stop: async () => {
      adminClient.destroy();
      await server.stop();
    },
  };
});

const context: ConnectorContext = { tenant: 'acme', destination: 'bucket', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const destinations: Destination[] = [];
after(async () => {
  for (const destination of destinations) await destination.close();
});

function destinationAs(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): Destination {
  const config = s3ConfigSchema.parse({
    bucket: moto.current.bucket,
    region: motoRegion,
    endpoint: moto.current.endpoint,
    forcePathStyle: true,
    prefix: 'auth',
    // moto's signature check fails keys with ":", "+" or "=" (it signs the decoded path); real S3 does not.
    keyTemplate: '{type}/{user_id}/{identity}.json',
    maxAttempts: 1,
    credentials,
  });
  const destination = createS3Destination(config, s3Connector.createClient(config, context), context);
  destinations.push(destination);
  return destination;
}

async function checkError(destination: Destination): Promise<FanoutError> {
  return destination.check().then(
    () => assert.fail('check() should fail'),
    (error: unknown) => {
      assert.ok(error instanceof FanoutError, String(error));
      return error;
    },
  );
}

function keysOf(user: MotoIamUser): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey };
}

describe('s3 credentials and permissions against moto with IAM enforced', () => {
  it('a writer with s3:PutObject and no s3:DeleteObject passes check() and delivers; the probe object stays', async () => {
    const destination = destinationAs(keysOf(moto.current.users.writer));
    await destination.check();
    // (Listed without Prefix: moto's signature check mishandles an encoded "/" in the query.)
    const listed = await moto.current.adminClient.send(new ListObjectsV2Command({ Bucket: moto.current.bucket }));
    const probes = (listed.Contents ?? []).filter((object) => object.Key?.startsWith('auth/.terra-fanout-probe/') === true);
    assert.equal(probes.length, 1, 'DeleteObject was denied, and check() did not fail for it');
    assert.deepEqual(await destination.send([makeRecord()], signal), [{ ok: true }]);
  });

  it('valid credentials without s3:PutObject: destination_auth_failed naming the missing permission', async () => {
    const error = await checkError(destinationAs(keysOf(moto.current.users.nobody)));
    assert.equal(error.code, 'destination_auth_failed');
    assert.equal(error.retryable, false);
    assert.equal(error.detail['awsCode'], 'AccessDenied');
    assert.match(error.message, /lack s3:PutObject/);
  });

  it('an unknown key, a wrong secret and a bogus session token are destination_auth_failed, and no secret reaches the message', async () => {
    const { writer } = moto.current.users;
    const cases = [
      { credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'unknown-key-secret' }, awsCode: 'InvalidAccessKeyId', hint: /credentials\.accessKeyId/ },
      { credentials: { accessKeyId: writer.accessKeyId, secretAccessKey: 'wrong-secret-value' }, awsCode: 'SignatureDoesNotMatch', hint: /credentials\.secretAccessKey/ },
      { credentials: { ...keysOf(writer), sessionToken: 'bogus-session-token' }, awsCode: 'InvalidToken', hint: /credentials\.sessionToken/ },
    ];
    for (const { credentials, awsCode, hint } of cases) {
      const destination = destinationAs(credentials);
      const checked = await checkError(destination);
      const [outcome] = await destination.send([makeRecord()], signal);
      assert.ok(outcome !== undefined && !outcome.ok);
      for (const error of [checked, outcome.error]) {
        assert.equal(error.code, 'destination_auth_failed', awsCode);
        assert.equal(error.detail['awsCode'], awsCode);
        assert.match(error.message, hint);
        const text = `${error.message} ${JSON.stringify(error.detail)}`;
        for (const secret of [credentials.secretAccessKey, writer.secretAccessKey, 'bogus-session-token']) assert.ok(!text.includes(secret), `${awsCode} leaks a secret`);
      }
    }
  });
});
