import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { SQSServiceException } from '@aws-sdk/client-sqs';
import { awsClientSettings, awsConnectionFields, awsWhere } from '../../../connectors/shared/aws-connection.js';
import { sharedCallSignal } from '../../../connectors/shared/call-deadline.js';
import { classifyAwsError, readAwsError } from '../../../connectors/shared/aws-errors.js';

const connectionSchema = z.strictObject(awsConnectionFields);

function serviceError(name: string, status: number): SQSServiceException {
  return new SQSServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'r-1' }, message: 'vendor words' });
}

describe('aws connection settings', () => {
  it('static credentials go to the SDK settings revealed; left out, the default chain applies', () => {
    const withKeys = connectionSchema.parse({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cr3t', sessionToken: 't0ken' } });
    assert.deepEqual(awsClientSettings(withKeys), {
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cr3t', sessionToken: 't0ken' },
      maxAttempts: 2,
      requestHandler: { requestTimeout: 30_000, connectionTimeout: 5_000, throwOnRequestTimeout: true },
    });
    assert.ok(!JSON.stringify(withKeys).includes('s3cr3t'), 'the parsed config prints no secret');
    const chain = awsClientSettings(connectionSchema.parse({}));
    assert.equal('credentials' in chain, false);
    assert.equal('region' in chain, false);
  });

  it('rejects a region that is not one and credentials in the endpoint URL', () => {
    assert.equal(connectionSchema.safeParse({ region: 'EU West' }).success, false);
    assert.equal(connectionSchema.safeParse({ endpoint: 'https://key:secret@minio.example.com' }).success, false);
    assert.equal(connectionSchema.safeParse({ endpoint: 'ftp://minio.example.com' }).success, false);
    assert.equal(connectionSchema.safeParse({ maxAttempts: 0 }).success, false);
  });

  it('SDK calls share one signal per lane signal, aborted with it, without a listener limit', async () => {
    const lane = new AbortController();
    const call = sharedCallSignal(lane.signal);
    assert.equal(sharedCallSignal(lane.signal), call);
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    const listeners = Array.from({ length: 40 }, () => () => undefined);
    for (const listener of listeners) call.addEventListener('abort', listener);
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.deepEqual(warnings, []);
    lane.abort(new Error('shutdown'));
    assert.equal(call.aborted, true);
    assert.equal((call.reason as Error).message, 'shutdown');
    const already = new AbortController();
    already.abort();
    assert.equal(sharedCallSignal(already.signal).aborted, true);
  });

  it('names where a client talks to without credentials or query', () => {
    assert.equal(awsWhere('eu-west-1', undefined), 'region eu-west-1');
    assert.equal(awsWhere(undefined, 'http://127.0.0.1:9000/?x=1'), 'endpoint http://127.0.0.1:9000/ (the default region)');
  });
});

describe('aws error translation', () => {
  it('reads code, status and request id from an SDK service exception', () => {
    const facts = readAwsError(serviceError('QueueDoesNotExist', 400));
    assert.equal(facts?.code, 'QueueDoesNotExist');
    assert.equal(facts?.status, 400);
    assert.equal(facts?.requestId, 'r-1');
    assert.equal(readAwsError(new Error('connect ECONNREFUSED')), undefined);
  });

  it('generic rules: auth codes, throttling, timeouts, server errors, unparseable answers by status', () => {
    const target = 'SQS queue "q"';
    const cases: Array<[unknown, string]> = [
      [serviceError('InvalidClientTokenId', 403), 'destination_auth_failed'],
      [serviceError('ThrottlingException', 400), 'destination_throttled'],
      [serviceError('RequestThrottled', 403), 'destination_throttled'],
      [serviceError('Anything', 429), 'destination_throttled'],
      [serviceError('InternalError', 500), 'destination_unavailable'],
      [serviceError('Anything', 504), 'destination_timeout'],
      [serviceError('Anything', 404), 'destination_not_found'],
      [serviceError('Anything', 413), 'destination_record_too_large'],
      [serviceError('InvalidParameterValue', 400), 'destination_rejected'],
      // The SDK could not parse the answer (moto answers the JSON protocol in XML when auth fails).
      [Object.assign(new SyntaxError('Unexpected token'), { $metadata: { httpStatusCode: 403 } }), 'destination_auth_failed'],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', $metadata: {} }), 'destination_unavailable'],
      [Object.assign(new Error('timed out'), { name: 'TimeoutError', code: 'ETIMEDOUT', $metadata: {} }), 'destination_timeout'],
      [Object.assign(new Error('Request aborted'), { name: 'AbortError' }), 'destination_unavailable'],
    ];
    for (const [error, code] of cases) {
      const translated = classifyAwsError(error, { target });
      assert.equal(translated.code, code, String(error));
      assert.ok(translated.message.startsWith(target), translated.message);
      assert.ok(!translated.message.includes('vendor words'));
    }
  });

  it('service-specific rules come first', () => {
    const error = classifyAwsError(serviceError('QueueDoesNotExist', 400), {
      target: 'q',
      specific: (facts) => (facts.code === 'QueueDoesNotExist' ? classifyAwsError(serviceError('X', 404), { target: 'q' }) : undefined),
    });
    assert.equal(error.code, 'destination_not_found');
  });
});
