import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Decoder, Stream } from '@garmin/fitsdk';
import { loadWorkerWithTenants } from '../../src/config/load-config.js';
import { createLogger } from '../../src/observability/logger.js';
import { startWorker } from '../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { startMedplumFhirServer } from '../support/medplum-fhir-server.js';
import { validFixturesDir } from '../support/terra-records.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

/**
 * End to end: Kafka (local broker) → lanes with a format → a FIT file destination and a FHIR
 * server (Medplum's router); a record a format cannot express is filtered and counted, not parked.
 */

const kafka = useKafkaBroker();

describe('formats through the worker', () => {
  const cleanups = useCleanups();

  it('activities become FIT files and FHIR resources; a sleep record is filtered by the fit lane and counted, and nothing is dead-lettered', async () => {
    const fhir = await startMedplumFhirServer({ token: 'worker-token' });
    cleanups.push(() => fhir.close());
    const topic = uniqueName('formats');
    const sleep = JSON.parse(await readFile(join(validFixturesDir, 'sleep.json'), 'utf8')) as Record<string, unknown>;
    const events = [activityEvent('u-1', 0), activityEvent('u-2', 1), sleep];
    await kafka.produce(topic, events.map((event, index) => ({ key: String(index), value: JSON.stringify(event), timestamp: String(Date.UTC(2026, 6, 2, 12, 0, index)) })));

    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: `${topic}.dlq`,
          destinations: [
            { name: 'fit-files', type: 'file', format: 'fit', events: ['activity', 'sleep'], batch: { lingerMs: 20 }, config: { directory: '${OUT}/fit', fsync: false } },
            { name: 'ehr', type: 'fhir', batch: { lingerMs: 20 }, config: { baseUrl: fhir.baseUrl, bundleType: 'batch', auth: { type: 'bearer', token: '${FHIR_TOKEN}' } } },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, OUT: dir, FHIR_TOKEN: 'worker-token' });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const worker = await startWorker(loaded.value, { logger: createLogger('warn'), httpPort: 0 });
    cleanups.push(() => worker.stop());

    const fitFiles = async () => (await listFiles(join(dir, 'fit'))).filter((file) => file.endsWith('.fit'));
    assert.ok(await waitFor(async () => (await fitFiles()).length === 2, 30_000), 'two FIT files');
    assert.ok(await waitFor(async () => (await fhir.count('Patient')) === 3, 30_000), 'three Patients on the FHIR server');
    for (const file of await fitFiles()) {
      const decoder = new Decoder(Stream.fromBuffer(await readFile(file)));
      assert.ok(decoder.checkIntegrity());
      assert.equal(decoder.read().messages.sessionMesgs?.length, 1);
    }
    const metricsText = async () => (await fetch(`${worker.http.url}/metrics`)).text();
    assert.ok(await waitFor(async () => /terra_fanout_messages_filtered_total\{tenant="acme",destination="fit-files",connector="file",reason="format"\} 1/.test(await metricsText()), 30_000), 'the sleep message counted as filtered by format');
    const text = await metricsText();
    assert.doesNotMatch(text, /terra_fanout_records_dead_lettered_total\{/);
    assert.match(text, /terra_fanout_records_delivered_total\{tenant="acme",destination="ehr",connector="fhir"\} 4/);
  });
});
