import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { connectorRegistry } from '../../connectors/registry.js';
import { Secret } from '../../src/config/secret.js';
import type { AnyConnectorDefinition, ConnectorContext, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError, errorCatalogue } from '../../src/errors/catalogue.js';
import { applyFormat } from '../../src/formats/apply-format.js';
import { connectorFormats, resolveDestinationFormat } from '../../src/formats/destination-format.js';
import type { FormatName } from '../../src/formats/format.js';
import type { DeliveryUnit, TerraRecord } from '../../src/records/record.js';
import { makeActivityBatch, makeDailyRecord, makeUserEventRecord } from '../support/records.js';

/**
 * One suite for every registered connector, run with its in-memory port (STYLE.md rule 8).
 * Per-connector suites beside this file run the same behaviours against the real thing.
 */

const context: ConnectorContext = { tenant: 'contract', destination: 'under-test', logger: pino({ level: 'silent' }) };

/** The config as YAML would have given it: Secrets revealed back to their strings. */
function toInput(value: unknown): unknown {
  if (value instanceof Secret) return value.reveal();
  if (Array.isArray(value)) return value.map(toInput);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toInput(inner)]));
  return value;
}

/** Every secret value in a parsed config. */
function secretsIn(value: unknown): string[] {
  if (value instanceof Secret) return [value.reveal()];
  if (Array.isArray(value)) return value.flatMap(secretsIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(secretsIn);
  return [];
}

function batchFor(unit: DeliveryUnit): TerraRecord[] {
  return [
    ...makeActivityBatch(3, ['user-a', 'user-b']),
    makeDailyRecord({ userId: 'user-a' }),
    makeUserEventRecord({ userId: 'user-c' }),
  ].map((record) => ({ ...record, unit, itemIndex: unit === 'event' ? null : record.itemIndex }));
}

function failures(outcomes: readonly RecordOutcome[]): FanoutError[] {
  return outcomes.flatMap((outcome) => (outcome.ok ? [] : [outcome.error]));
}

function assertCatalogued(error: unknown): asserts error is FanoutError {
  assert.ok(error instanceof FanoutError, `expected a FanoutError, got ${String(error)}`);
  assert.ok(Object.hasOwn(errorCatalogue, error.code), `code ${error.code} is in the catalogue`);
}

const workdirs: string[] = [];
after(async () => {
  for (const dir of workdirs) await rm(dir, { recursive: true, force: true });
});

/** The batch as a lane hands it over: cut for the connector's unit, encoded in `format` (its default unless given). */
function encodedBatch(definition: AnyConnectorDefinition, config: unknown, format?: FormatName): TerraRecord[] {
  const resolved = resolveDestinationFormat({ type: definition.type, config, format }, definition);
  const result = applyFormat(batchFor(definition.unit(config)), resolved.format, resolved.options);
  if (!result.ok) throw result.error;
  return result.kept;
}

async function setUp(definition: AnyConnectorDefinition, format?: FormatName) {
  const workdir = await mkdtemp(join(tmpdir(), `terra-fanout-contract-${definition.type}-`));
  workdirs.push(workdir);
  const config = definition.contract.exampleConfig(workdir);
  const memory = definition.contract.memoryPort(config);
  const destination = definition.createDestination(config, memory.client, context);
  const batch = encodedBatch(definition, config, format);
  return { config, memory, destination, batch };
}

for (const definition of connectorRegistry) {
  describe(`connector contract: ${definition.type}`, () => {
    it('describes itself and its example config parses with its own schema', async () => {
      assert.match(definition.type, /^[a-z][a-z0-9_]*$/);
      assert.ok(definition.description.length > 20);
      const { config } = await setUp(definition);
      const reparsed = definition.configSchema.safeParse(toInput(config));
      assert.ok(reparsed.success, reparsed.success ? '' : reparsed.error.message);
      assert.deepEqual(toInput(reparsed.data), toInput(config));
      assert.equal(definition.configSchema.safeParse({}).success, false, 'an empty config is rejected');
    });

    it('send gives one outcome per record, in order, and every record lands at locate()', async () => {
      const { config, memory, destination, batch } = await setUp(definition);
      const outcomes = await destination.send(batch, new AbortController().signal);
      assert.equal(outcomes.length, batch.length);
      assert.deepEqual(outcomes, batch.map(() => ({ ok: true })));
      const stored = memory.stored();
      assert.equal(stored.size, batch.length, 'one stored copy per record');
      for (const record of batch) assert.deepEqual(stored.get(definition.locate(config, record, 'acme')), record.body, `record ${record.identity} at its location`);
    });

    it('every format it lists lands at locate() byte for byte, with the format\'s extension in file and object names', async () => {
      for (const format of connectorFormats(definition)) {
        const { config, memory, destination, batch } = await setUp(definition, format);
        if (definition.formatProblem?.(config, format) != null) continue; // e.g. fit on an SQS queue without payload: pointer
        assert.ok(batch.length > 0, `${format}: the contract batch has records this format expresses`);
        const outcomes = await destination.send(batch, new AbortController().signal);
        assert.deepEqual(outcomes, batch.map(() => ({ ok: true })), `${format}: every record delivered`);
        for (const record of batch) {
          const location = definition.locate(config, record, 'acme');
          assert.deepEqual(memory.stored().get(location), record.body, `${format}: record ${record.identity} at ${location}`);
          if (/\.(json|fit)$/.test(location)) assert.ok(location.endsWith(`.${record.encoding?.extension ?? 'json'}`), `${format}: ${location} ends with the format's extension`);
        }
      }
    });

    it('is idempotent: sending the same batch again stores nothing new', async () => {
      const { memory, destination, batch } = await setUp(definition);
      await destination.send(batch, new AbortController().signal);
      const before = memory.stored().size;
      const again = await destination.send(batch, new AbortController().signal);
      assert.ok(again.every((outcome) => outcome.ok));
      assert.equal(memory.stored().size, before);
    });

    it('an unavailable service gives retryable, catalogued outcomes for every record', async () => {
      const { memory, destination, batch } = await setUp(definition);
      memory.breakWith('unavailable');
      const outcomes = await destination.send(batch, new AbortController().signal);
      assert.equal(outcomes.length, batch.length);
      const errors = failures(outcomes);
      assert.equal(errors.length, batch.length);
      for (const error of errors) {
        assertCatalogued(error);
        assert.equal(error.retryable, true, `${error.code} is retryable`);
      }
    });

    it('a refusing service gives permanent, catalogued outcomes', async () => {
      const { memory, destination, batch } = await setUp(definition);
      memory.breakWith('rejected');
      const outcomes = await destination.send(batch, new AbortController().signal);
      const errors = failures(outcomes);
      assert.equal(errors.length, batch.length);
      for (const error of errors) {
        assertCatalogued(error);
        assert.equal(error.retryable, false, `${error.code} is permanent`);
      }
    });

    it('recovers once the service is back', async () => {
      const { memory, destination, batch } = await setUp(definition);
      memory.breakWith('unavailable');
      await destination.send(batch, new AbortController().signal);
      memory.breakWith(null);
      const outcomes = await destination.send(batch, new AbortController().signal);
      assert.ok(outcomes.every((outcome) => outcome.ok));
      assert.equal(memory.stored().size, batch.length);
    });

    it('check() passes when healthy and throws a catalogued FanoutError when broken', async () => {
      const { memory, destination } = await setUp(definition);
      await destination.check();
      for (const mode of ['unavailable', 'rejected'] as const) {
        memory.breakWith(mode);
        await assert.rejects(destination.check(), (error: unknown) => {
          assertCatalogued(error);
          return true;
        });
      }
    });

    it('close() twice is harmless', async () => {
      const { destination } = await setUp(definition);
      await destination.close();
      await destination.close();
    });

    it('no error message or detail carries a secret', async () => {
      const { config, memory, destination, batch } = await setUp(definition);
      const secrets = secretsIn(config);
      const seen: FanoutError[] = [];
      for (const mode of ['unavailable', 'rejected'] as const) {
        memory.breakWith(mode);
        seen.push(...failures(await destination.send(batch, new AbortController().signal)));
        await destination.check().catch((error: unknown) => {
          assertCatalogued(error);
          seen.push(error);
        });
      }
      assert.ok(seen.length > 0);
      for (const error of seen) {
        const text = `${error.message} ${JSON.stringify(error.detail)}`;
        for (const secret of secrets) assert.ok(!text.includes(secret), `${error.code} message leaks a secret`);
      }
    });
  });
}
