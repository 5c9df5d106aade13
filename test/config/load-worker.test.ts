import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadWorkerFile } from '../../src/config/load-config.js';
import { formatted, removeConfigFiles, writeConfigFiles, yamlLines } from './config-files.js';

after(removeConfigFiles);

describe('loadWorkerFile', () => {
  it('fills every default around kafka.brokers', async () => {
    const dir = await writeConfigFiles({ 'worker.yaml': yamlLines('kafka:', '  brokers: [127.0.0.1:9092]') });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), {});
    assert.ok(loaded.ok);
    assert.deepEqual(loaded.value, {
      kafka: {
        brokers: ['127.0.0.1:9092'],
        clientId: 'terra-fanout',
        groupPrefix: 'terra-fanout',
        ssl: false,
        connectionTimeoutMs: 3000,
        requestTimeoutMs: 30000,
        sessionTimeoutMs: 30000,
        heartbeatIntervalMs: 3000,
        maxWaitTimeMs: 100,
        fromBeginning: true,
        librdkafkaMockCompat: false,
      },
      http: { host: '0.0.0.0', port: 9464 },
      budgets: { processInFlightBytes: 256 * 1024 ** 2, laneInFlightBytes: 64 * 1024 ** 2, maxMessageBytes: 32 * 1024 ** 2 },
      tenants: { dir: join(dir, 'tenants'), watch: true, debounceMs: 1000, rescanIntervalMs: 30000 },
      s3Payload: {
        allowedHosts: ['storage.googleapis.com/terra-services-p-bkt-payloads', 'terra-services-p-bkt-payloads.storage.googleapis.com'],
        allowHttp: false,
        maxBytes: 64 * 1024 ** 2,
        timeoutMs: 30000,
        maxRetryMs: 300000,
        maxExpiresInSeconds: 3600,
      },
      lanes: { lagIntervalMs: 5000, stallWarningMs: 60000, progressIntervalMs: 60000 },
      shutdown: { drainTimeoutMs: 15000 },
      ingest: {
        enabled: false,
        host: '0.0.0.0',
        port: 8080,
        bodyLimit: 32 * 1024 ** 2,
        maxInFlightBytes: 256 * 1024 ** 2,
        headersTimeoutMs: 10000,
        readTimeoutMs: 30000,
        keepAliveTimeoutMs: 5000,
        produceTimeoutMs: 5000,
        retryAfterSeconds: 30,
        healthcheck: 'answer',
      },
      log: { level: 'info' },
      admin: { enabled: false, tap: { maxSubscribers: 8, queueEvents: 1000, maxBodyBytes: 64 * 1024 } },
    });
  });

  it('splits comma-separated brokers from one ${VAR}, and parses TLS, SASL and byte sizes', async () => {
    const dir = await writeConfigFiles({
      'worker.yaml': yamlLines(
        'kafka:',
        '  brokers: ["${KAFKA_BROKERS}", "[::1]:9094"]',
        '  ssl: { ca: /etc/ca.pem }',
        '  sasl: { mechanism: scram-sha-512, username: fanout, password: "${KAFKA_PASSWORD}" }',
        'budgets:',
        '  laneInFlightBytes: 500KB',
        '  maxMessageBytes: 1048576',
        'tenants:',
        '  dir: /etc/terra-fanout/tenants',
      ),
    });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), { KAFKA_BROKERS: 'a:9092, b:9093', KAFKA_PASSWORD: 'pw-123456' });
    assert.ok(loaded.ok);
    assert.deepEqual(loaded.value.kafka.brokers, ['a:9092', 'b:9093', '[::1]:9094']);
    assert.deepEqual(loaded.value.kafka.ssl, { ca: '/etc/ca.pem', rejectUnauthorized: true });
    assert.equal(loaded.value.kafka.sasl?.password.reveal(), 'pw-123456');
    assert.equal(loaded.value.budgets.laneInFlightBytes, 500_000);
    assert.equal(loaded.value.budgets.maxMessageBytes, 1_048_576);
    assert.equal(loaded.value.tenants.dir, '/etc/terra-fanout/tenants');
  });

  it('reports every problem together, each with file, line, column and path', async () => {
    const dir = await writeConfigFiles({
      'worker.yaml': yamlLines(
        'kafka:',
        '  brokers: [localhost]',
        '  clientld: x',
        'http:',
        '  port: "9464"',
        'budgets:',
        '  laneInFlightBytes: 64 MiBs',
        'log:',
        '  level: verbose',
        'shutdown:',
        '  drainTimeoutMs: ${DRAIN_MS}',
      ),
    });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), { DRAIN_MS: 'soon' });
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, dir), [
      'worker.yaml:2:13: kafka.brokers[0]: expected host:port (several may be separated by commas), e.g. kafka-1:9092',
      'worker.yaml:3:3: kafka.clientld: unknown key; did you mean "clientId"? expected one of: brokers, clientId, groupPrefix, ssl, sasl, connectionTimeoutMs, requestTimeoutMs, sessionTimeoutMs, heartbeatIntervalMs, maxWaitTimeMs, fromBeginning, librdkafkaMockCompat',
      'worker.yaml:5:9: http.port: expected a number, got a string',
      'worker.yaml:7:22: budgets.laneInFlightBytes: not a valid byte size; expected a whole number of bytes or a size such as 500KB, 64MiB or 1GiB',
      'worker.yaml:9:10: log.level: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"',
      'worker.yaml:11:19: shutdown.drainTimeoutMs: expected a number, got a string (the ${VAR} value is not a number)',
    ]);
  });

  it('reports a missing kafka section at the top of the file', async () => {
    const dir = await writeConfigFiles({ 'worker.yaml': yamlLines('http:', '  port: 9464') });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), {});
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, dir), ['worker.yaml:1:1: kafka: required key is missing; expected a mapping']);
  });

  it('reports the fields of a TLS mapping rather than the whole union', async () => {
    const dir = await writeConfigFiles({ 'worker.yaml': yamlLines('kafka:', '  brokers: [k:9092]', '  ssl:', '    rejectUnauthorized: "no"', '    cafile: x') });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), {});
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, dir), [
      'worker.yaml:4:25: kafka.ssl.rejectUnauthorized: expected true or false, got a string',
      'worker.yaml:5:5: kafka.ssl.cafile: unknown key; expected one of: ca, cert, key, rejectUnauthorized',
    ]);
  });

  it('turns a YAML syntax error into a problem with its line and column', async () => {
    const dir = await writeConfigFiles({ 'worker.yaml': yamlLines('kafka:', '  brokers: [a:1', 'http: {}') });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), {});
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, dir), ['worker.yaml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]']);
  });

  it('reports a file that does not exist', async () => {
    const loaded = await loadWorkerFile('/nonexistent/terra-fanout/worker.yaml', {});
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, ''), ['/nonexistent/terra-fanout/worker.yaml: file not found']);
  });
});
