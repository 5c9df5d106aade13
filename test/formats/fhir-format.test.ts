import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { Bundle, BundleEntry, Observation, Patient } from '@medplum/fhirtypes';
import { applyFormat } from '../../src/formats/apply-format.js';
import { fhirFormat } from '../../src/formats/fhir/fhir-format.js';
import type { FhirFormatOptions, FormatOptions } from '../../src/formats/format.js';
import type { TerraRecord } from '../../src/records/record.js';
import { validationErrors } from '../support/fhir-validator.js';
import { fixtureRecords, recordsOf, validFixturesDir } from '../support/terra-records.js';

const openapiExamplesDir = fileURLToPath(new URL('../../../test/fixtures/terra/openapi-examples/', import.meta.url));
const MAPPED = new Set(['activity', 'body', 'daily', 'sleep']);

function options(fhir: Partial<FhirFormatOptions> = {}): FormatOptions {
  return { fhir: { identifierSystemBase: 'urn:terra-fanout', maxSampleObservations: 1000, bundleType: 'collection', ...fhir } };
}

function bundleOf(record: TerraRecord, fhir: Partial<FhirFormatOptions> = {}): Bundle {
  return JSON.parse(fhirFormat.encode(record, options(fhir)).body.toString('utf8')) as Bundle;
}

function observations(bundle: Bundle): Observation[] {
  return (bundle.entry ?? []).flatMap((entry: BundleEntry) => (entry.resource?.resourceType === 'Observation' ? [entry.resource] : []));
}

function byCode(bundle: Bundle, code: string): Observation[] {
  return observations(bundle).filter((observation) => observation.code.coding?.some((coding) => coding.code === code));
}

/** Every record of every valid fixture and of Terra's published examples, as a record-unit lane gets them. */
async function allRecords(): Promise<{ source: string; record: TerraRecord }[]> {
  const all: { source: string; record: TerraRecord }[] = [];
  for (const name of (await readdir(validFixturesDir)).sort()) {
    if (name === 's3_payload.json') continue; // a pointer: its records are the fetched event's
    for (const record of await fixtureRecords(name)) all.push({ source: `fixture ${name}`, record });
  }
  for (const name of (await readdir(openapiExamplesDir)).sort()) {
    for (const record of await recordsOf(await readFile(join(openapiExamplesDir, name)))) all.push({ source: `Terra example ${name}`, record });
  }
  return all;
}

describe('the fhir format', () => {
  it('maps every fixture and every Terra published example it accepts to a Bundle the R4 validator finds no error in, collection and transaction alike', async () => {
    let mapped = 0;
    for (const { source, record } of await allRecords()) {
      const acceptance = fhirFormat.accepts(record);
      assert.equal(acceptance.ok, MAPPED.has(record.type), `${source}: ${record.type} accepted only when mapped`);
      if (!acceptance.ok) {
        assert.match(acceptance.reason, new RegExp(`no mapping for ${record.type.replace('.', '\\.')} records`));
        continue;
      }
      for (const bundleType of ['collection', 'transaction', 'batch'] as const) {
        const bundle = bundleOf(record, { bundleType });
        assert.deepEqual(validationErrors(bundle), [], `${source} (${bundleType})`);
        assert.equal(bundle.type, bundleType);
      }
      assert.ok(observations(bundleOf(record)).length > 0, `${source}: at least one Observation`);
      mapped += 1;
    }
    assert.ok(mapped >= 11, `mapped ${mapped} records`);
  });

  it('is deterministic: the same record gives the same bytes; ids and identifiers come from the record identity, the Patient from the user', async () => {
    const [first, second] = await fixtureRecords('daily.json');
    assert.ok(first !== undefined && second !== undefined);
    assert.deepEqual(fhirFormat.encode(first, options()).body, fhirFormat.encode(first, options()).body);
    const a = bundleOf(first);
    const b = bundleOf(second);
    const patient = (bundle: Bundle) => bundle.entry?.[0]?.resource as Patient;
    assert.equal(patient(a).id, patient(b).id, 'one Patient per Terra user');
    assert.deepEqual(patient(a).identifier?.[0], { system: 'urn:terra-fanout:user-id', value: first.userId });
    assert.deepEqual(patient(a).identifier?.[1], { system: 'urn:terra-fanout:reference-id', value: 'your-user-123' });
    assert.deepEqual(a.identifier, { system: 'urn:terra-fanout:record', value: first.identity });
    const ids = (bundle: Bundle) => observations(bundle).map((observation) => observation.id);
    assert.equal(new Set([...ids(a), ...ids(b)]).size, ids(a).length + ids(b).length, 'Observation ids differ between records');
    for (const observation of observations(a)) assert.match(observation.identifier?.[0]?.value ?? '', new RegExp(`^${first.identity}/`));
    const https = bundleOf(first, { identifierSystemBase: 'https://example.org/fhir/terra' });
    assert.equal(patient(https).identifier?.[0]?.system, 'https://example.org/fhir/terra/user-id');
  });

  it('activity: an Exercise activity panel with LOINC components, evenly spaced heart rate as SampledData, members linked', async () => {
    const [run] = await fixtureRecords('activity.json');
    assert.ok(run !== undefined);
    const bundle = bundleOf(run);
    const [panel] = byCode(bundle, '73985-4');
    assert.ok(panel !== undefined);
    assert.deepEqual(panel.category?.[0]?.coding?.[0]?.code, 'activity');
    assert.deepEqual(panel.valueCodeableConcept, { coding: [{ system: 'urn:terra-fanout:terra-activity-type', code: '8', display: 'Running' }], text: 'Morning Run' });
    assert.deepEqual(panel.effectivePeriod, { start: '2026-07-01T06:12:03.000000+01:00', end: '2026-07-01T07:05:42.000000+01:00' });
    const component = (code: string) => panel.component?.find((entry) => entry.code.coding?.[0]?.code === code)?.valueQuantity;
    assert.deepEqual(component('55411-3'), { value: 53.65, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' });
    assert.deepEqual(component('55430-3'), { value: 8412.6, unit: 'm', system: 'http://unitsofmeasure.org', code: 'm' });
    assert.deepEqual(component('55423-8'), { value: 8890, unit: 'steps', system: 'http://unitsofmeasure.org', code: '{steps}' });
    assert.equal(component('55424-6')?.value, 693);
    assert.equal(component('41981-2')?.value, 611);
    assert.equal(component('55425-3')?.code, '/min');
    const [series] = byCode(bundle, '8867-4');
    assert.ok(series?.valueSampledData !== undefined);
    assert.equal(series.valueSampledData.period, 60_000);
    assert.equal(series.valueSampledData.data, '128 131 134 137 140 143 146 128');
    assert.equal(series.valueSampledData.origin.code, '/min');
    assert.ok(panel.hasMember?.some((member) => member.reference === `urn:uuid:${series.id ?? ''}`));
  });

  it('unevenly spaced samples become one Observation each (heartrate profile), capped by maxSampleObservations with a note', async () => {
    const event = JSON.parse(await readFile(join(validFixturesDir, 'activity.json'), 'utf8')) as { data: { heart_rate_data: { detailed: { hr_samples: { timestamp: string; bpm: number }[] } } }[] };
    const samples = Array.from({ length: 12 }, (_, index) => ({ timestamp: new Date(Date.UTC(2026, 6, 1, 5, 12, 3) + index * index * 1000).toISOString(), bpm: 120 + index }));
    const first = event.data[0];
    assert.ok(first !== undefined);
    first.heart_rate_data.detailed.hr_samples = samples;
    const [record] = await recordsOf(Buffer.from(JSON.stringify(event)));
    assert.ok(record !== undefined);
    const bundle = bundleOf(record, { maxSampleObservations: 5 });
    const points = byCode(bundle, '8867-4');
    assert.equal(points.length, 5);
    for (const point of points) {
      assert.deepEqual(point.meta?.profile, ['http://hl7.org/fhir/StructureDefinition/heartrate']);
      assert.equal(point.valueQuantity?.code, '/min');
    }
    assert.equal(points[4]?.note?.[0]?.text, '7 later samples of this series were left out (fhir.maxSampleObservations is 5).');
    assert.deepEqual(validationErrors(bundle), []);
  });

  it('body: weight, height and BMI in their vital-signs profiles, blood pressure as the 85354-9 panel in mm[Hg]', async () => {
    const [body] = await fixtureRecords('body.json');
    assert.ok(body !== undefined);
    const bundle = bundleOf(body);
    const check = (code: string, profile: string, value: number, unit: string) => {
      const [observation] = byCode(bundle, code);
      assert.deepEqual(observation?.meta?.profile, [`http://hl7.org/fhir/StructureDefinition/${profile}`], code);
      assert.equal(observation?.valueQuantity?.value, value, code);
      assert.equal(observation?.valueQuantity?.code, unit, code);
      assert.equal(observation?.effectiveDateTime, '2026-07-01T07:12:45.000000+02:00', code);
    };
    check('29463-7', 'bodyweight', 72.4, 'kg');
    check('8302-2', 'bodyheight', 178, 'cm');
    check('39156-5', 'bmi', 22.9, 'kg/m2');
    assert.equal(byCode(bundle, '41982-0')[0]?.valueQuantity?.code, '%');
    const [pressure] = byCode(bundle, '85354-9');
    assert.deepEqual(
      pressure?.component?.map((component) => [component.code.coding?.[0]?.code, component.valueQuantity?.value, component.valueQuantity?.code]),
      [
        ['8480-6', 121, 'mm[Hg]'],
        ['8462-4', 79, 'mm[Hg]'],
      ],
    );
    assert.equal(byCode(bundle, '40443-4')[0]?.valueQuantity?.value, 58);
  });

  it('sleep: 93832-4 with the stages as components in minutes, and the night vitals as members', async () => {
    const [night] = await fixtureRecords('sleep.json');
    assert.ok(night !== undefined);
    const bundle = bundleOf(night);
    const [sleep] = byCode(bundle, '93832-4');
    assert.equal(sleep?.valueQuantity?.value, 427);
    const stage = (code: string) => sleep?.component?.find((component) => component.code.coding?.[0]?.code === code)?.valueQuantity?.value;
    assert.equal(stage('93831-6'), 90);
    assert.equal(stage('93830-8'), 235);
    assert.equal(stage('93829-0'), 102);
    assert.equal(stage('sleep-efficiency'), 91);
    assert.equal(byCode(bundle, '9279-1')[0]?.valueQuantity?.value, 14.1);
    assert.equal(byCode(bundle, '2708-6')[0]?.valueQuantity?.value, 96);
    assert.equal(byCode(bundle, 'hrv-rmssd')[0]?.valueQuantity?.code, 'ms');
    assert.equal(sleep?.hasMember?.length, observations(bundle).length - 1);
  });

  it('transaction Bundles create the Patient and Device only when missing and update Observations by identifier', async () => {
    const [daily] = await fixtureRecords('daily.json');
    assert.ok(daily !== undefined);
    const bundle = bundleOf(daily, { bundleType: 'transaction' });
    const [patient, device, ...rest] = bundle.entry ?? [];
    assert.deepEqual(patient?.request, { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn%3Aterra-fanout%3Auser-id|${daily.userId ?? ''}` });
    assert.equal(device?.request?.method, 'POST');
    assert.match(device?.request?.ifNoneExist ?? '', /^identifier=urn%3Aterra-fanout%3Adevice\|/);
    for (const entry of rest) {
      assert.equal(entry.request?.method, 'PUT');
      assert.match(entry.request?.url ?? '', new RegExp(`^Observation\\?identifier=urn%3Aterra-fanout%3Aobservation\\|${daily.identity}%2F`));
      assert.equal(entry.resource?.id, undefined, 'the server assigns ids');
      assert.match(entry.fullUrl ?? '', /^urn:uuid:/);
    }
  });

  it('refuses what it cannot express, with a reason: unmapped types and whole events of several items', async () => {
    const [auth] = await fixtureRecords('auth.json');
    assert.ok(auth !== undefined);
    assert.deepEqual(fhirFormat.accepts(auth), { ok: false, reason: 'the fhir format has no mapping for auth records (it maps activity, body, daily, sleep)' });
    const [wholeEvent] = await fixtureRecords('daily.json', 'event');
    assert.ok(wholeEvent !== undefined);
    const refused = fhirFormat.accepts(wholeEvent);
    assert.ok(!refused.ok && /set unit: record/.test(refused.reason));
    const result = applyFormat([auth], fhirFormat, options());
    assert.ok(result.ok && result.kept.length === 0 && result.wholeMessage && result.dropped[0]?.record === auth);
  });
});
