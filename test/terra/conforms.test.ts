/**
 * schemas/conforms.ts decides "valid" for decodeEvent without zod's copy; zod's safeParse decides
 * everything else. These tests hold it to safeParse's verdict: on every event type, on thousands
 * of copies damaged at every depth, and on schema shapes the Terra schemas do not use today.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { isKnownEventType } from '../../src/terra/event-types.js';
import { matches } from '../../src/terra/schemas/conforms.js';
import { dataItemSchemas } from '../../src/terra/schemas/data-events.js';
import { eventSchemaFor, pointerSchema } from '../../src/terra/schemas/event-schema.js';
import { fixtureDir, samplesFile, validFixture, validFixtureNames } from './support/terra-fixtures.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function schemaOf(value: Json): z.ZodType | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const type = value['type'];
  if (typeof type !== 'string' || !isKnownEventType(type)) return undefined;
  return type === 's3_payload' ? pointerSchema : eventSchemaFor(type, value);
}

/** Every event the repository holds: the valid fixtures, Terra's OpenAPI examples and the samples. */
function events(): Json[] {
  const all: Json[] = validFixtureNames().map((name) => JSON.parse(validFixture(name).toString('utf8')) as Json);
  for (const file of readdirSync(`${fixtureDir}openapi-examples`).filter((name) => name.endsWith('.json'))) {
    all.push(JSON.parse(readFileSync(`${fixtureDir}openapi-examples/${file}`, 'utf8')) as Json);
  }
  for (const line of readFileSync(samplesFile, 'utf8').split('\n')) if (line.trim() !== '') all.push(JSON.parse(line) as Json);
  return all.filter((event) => schemaOf(event) !== undefined);
}

/** Deterministic, from the high bits of a linear congruential generator. */
function generator(seed: number): (below: number) => number {
  let state = seed;
  return (below) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state >>> 8) % below;
  };
}

const replacements: readonly Json[] = [null, 0, -1, 1.5, 1e21, '', 'x', 'a/b', '..', '2022-10-28T10:00:00Z', '2022-02-30', 'GARMIN', true, false, {}, [], [{}], [1], { a: 1 }, [null]];

/** Every place in `value`: the containers and the key or index under which something sits. */
function places(value: Json, found: Array<{ parent: Json[] | { [key: string]: Json }; key: string | number }> = []): typeof found {
  if (Array.isArray(value)) {
    value.forEach((child, index) => {
      found.push({ parent: value, key: index });
      places(child, found);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      found.push({ parent: value, key });
      places(child, found);
    }
  }
  return found;
}

function damage(original: Json, random: (below: number) => number): Json {
  const copy = structuredClone(original);
  for (let edits = 1 + random(3); edits > 0; edits -= 1) {
    const all = places(copy);
    const place = all[random(all.length)];
    if (place === undefined) break;
    const { parent, key } = place;
    const edit = random(5);
    if (Array.isArray(parent) && typeof key === 'number') {
      if (edit === 0) parent.splice(key, 1);
      else if (edit === 1) parent.push(structuredClone(parent[key] ?? null));
      else parent[key] = structuredClone(replacements[random(replacements.length)] ?? null);
    } else if (!Array.isArray(parent) && typeof key === 'string') {
      if (edit === 0) delete parent[key];
      else if (edit === 1) parent[`extra_${random(5)}`] = structuredClone(replacements[random(replacements.length)] ?? null);
      else parent[key] = structuredClone(replacements[random(replacements.length)] ?? null);
    }
  }
  return copy;
}

describe('matches (zod without the copy)', () => {
  const originals = events();

  it('accepts every event the repository holds, as safeParse does', () => {
    assert.ok(originals.length >= 40, `${originals.length} events`);
    for (const event of originals) {
      const schema = schemaOf(event) as z.ZodType;
      assert.equal(schema.safeParse(event).success, true);
      assert.equal(matches(schema, event), true, JSON.stringify(event).slice(0, 120));
    }
  });

  it('gives safeParse’s verdict on 12,000 copies damaged at every depth (and each data item schema on its items)', () => {
    const random = generator(11);
    let refused = 0;
    let accepted = 0;
    for (let round = 0; round < 12_000; round += 1) {
      const original = originals[round % originals.length] as Json;
      const damaged = damage(original, random);
      const schema = schemaOf(original) as z.ZodType;
      const expected = schema.safeParse(damaged).success;
      assert.equal(matches(schema, damaged), expected, `round ${round}: ${JSON.stringify(damaged).slice(0, 400)}`);
      if (expected) accepted += 1;
      else refused += 1;
      const type = (original as { type: string }).type;
      const data = (damaged as { data?: unknown }).data;
      if (type in dataItemSchemas && Array.isArray(data)) {
        const itemSchema = dataItemSchemas[type as keyof typeof dataItemSchemas];
        for (const item of data) assert.equal(matches(itemSchema, item), itemSchema.safeParse(item).success, `round ${round} item`);
      }
    }
    assert.ok(accepted > 1_000 && refused > 1_000, `both verdicts were reached (${accepted} accepted, ${refused} refused)`);
  });

  it('hands shapes it does not walk to zod: checks, literals, unions, strict objects, defaults, coercion, recursion', () => {
    type Node = { name: string; children: Node[] };
    const tree: z.ZodType<Node> = z.lazy(() => z.object({ name: z.string(), children: z.array(tree) }));
    const schemas: z.ZodType[] = [
      z.object({ a: z.string().min(2), b: z.number().int().optional() }),
      z.strictObject({ a: z.string() }),
      z.object({ a: z.string().default('x') }),
      z.object({ a: z.literal('on'), b: z.union([z.string(), z.number()]), c: z.enum(['x', 'y']).nullable() }),
      z.looseObject({ a: z.array(z.object({ n: z.number() })).min(1) }),
      z.object({ a: z.coerce.number() }),
      z.object({ a: z.string() }).refine((value) => value.a !== 'no'),
      z.record(z.string(), z.number()),
      z.object({ a: z.unknown(), b: z.any(), c: z.boolean().nullable().optional() }),
      z.object({ a: z.string().transform((text) => text.length) }),
      tree,
    ];
    const values: unknown[] = [
      {},
      { a: 'ab' },
      { a: 'a' },
      { a: 'ab', b: 1 },
      { a: 'ab', b: 1.5 },
      { a: 'ab', extra: 1 },
      { a: 'on', b: 1, c: null },
      { a: 'on', b: true, c: 'x' },
      { a: 'off', b: '1', c: 'z' },
      { a: [{ n: 1 }] },
      { a: [] },
      { a: [{ n: 'x' }] },
      { a: '12' },
      { a: 'no' },
      { a: 1, b: 2 },
      { a: null, b: null, c: null },
      { a: undefined },
      { c: 'yes' },
      { name: 'root', children: [{ name: 'leaf', children: [] }] },
      { name: 'root', children: [{ name: 1, children: [] }] },
      null,
      [],
      'text',
      Object.create(null) as unknown,
    ];
    for (const [index, schema] of schemas.entries()) {
      for (const value of values) assert.equal(matches(schema, value), schema.safeParse(value).success, `schema ${index}, ${JSON.stringify(value)}`);
    }
  });

  it('gives the same verdicts where code generation is off (the loop instead of generated checks)', () => {
    const script = `
      import { matches } from ${JSON.stringify(new URL('../../src/terra/schemas/conforms.js', import.meta.url).href)};
      import { eventSchemaFor } from ${JSON.stringify(new URL('../../src/terra/schemas/event-schema.js', import.meta.url).href)};
      const event = JSON.parse(process.argv[1]);
      const schema = eventSchemaFor(event.type, event);
      const broken = { ...event, user: { ...event.user, user_id: 7 } };
      const missing = { ...event }; delete missing.version;
      process.stdout.write(JSON.stringify([event, broken, missing].map((value) => [matches(schema, value), schema.safeParse(value).success])));`;
    const activity = JSON.stringify(originals.find((event) => (event as { type?: unknown }).type === 'activity'));
    const output = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script, activity], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(output), [
      [true, true],
      [false, false],
      [false, false],
    ]);
  });
});
