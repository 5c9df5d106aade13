import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { Decoder, Stream } from '@garmin/fitsdk';
import FitParser from 'fit-file-parser';
import { fitFormat } from '../../src/formats/fit/fit-format.js';
import type { FormatOptions } from '../../src/formats/format.js';
import type { TerraRecord } from '../../src/records/record.js';
import { fixtureRecords, recordsOf } from '../support/terra-records.js';

const options: FormatOptions = { fhir: { identifierSystemBase: 'urn:terra-fanout', maxSampleObservations: 1000, bundleType: 'collection' } };
const openapiActivity = fileURLToPath(new URL('../../../test/fixtures/terra/openapi-examples/activity.json', import.meta.url));

/** Decodes with Garmin's SDK after checking the header, data size and both CRCs. */
function decode(file: Buffer) {
  const decoder = new Decoder(Stream.fromBuffer(file));
  assert.ok(decoder.isFIT(), 'a FIT file');
  assert.ok(decoder.checkIntegrity(), 'header, size and CRCs check out');
  const { messages, errors } = decoder.read({ convertDateTimesToDates: true });
  assert.deepEqual(errors, []);
  return messages;
}

/** Parses with fit-file-parser, an independent implementation (CRC checked: force off). */
async function parse(file: Buffer) {
  return new FitParser({ force: false, mode: 'list', speedUnit: 'm/s', lengthUnit: 'm' }).parseAsync(Buffer.from(file));
}

function encode(record: TerraRecord): Buffer {
  assert.deepEqual(fitFormat.accepts(record), { ok: true });
  const encoded = fitFormat.encode(record, options);
  assert.equal(encoded.contentType, 'application/vnd.ant.fit');
  assert.equal(encoded.extension, 'fit');
  return encoded.body;
}

/** A two-minute ride with every sample kind Terra sends, one per second. */
function sampledRide(): Buffer {
  const start = Date.UTC(2026, 6, 1, 6, 0, 0);
  const at = (second: number) => new Date(start + second * 1000).toISOString();
  const seconds = Array.from({ length: 120 }, (_, second) => second);
  return Buffer.from(
    JSON.stringify({
      type: 'activity',
      user: { user_id: 'fit-user', provider: 'WAHOO', reference_id: null },
      version: '2022-03-16',
      data: [
        {
          metadata: { summary_id: 'ride-1', start_time: at(0), end_time: at(120), type: 16, upload_type: 1, name: 'Intervals' },
          heart_rate_data: { summary: { avg_hr_bpm: 140, max_hr_bpm: 170, min_hr_bpm: 100 }, detailed: { hr_samples: seconds.map((s) => ({ timestamp: at(s), bpm: 100 + (s % 70) })) } },
          position_data: { start_pos_lat_lng_deg: [51.5, -0.12], position_samples: seconds.map((s) => ({ timestamp: at(s), coords_lat_lng_deg: [51.5 + s * 1e-5, -0.12 - s * 1e-5] })) },
          distance_data: {
            summary: { distance_meters: 1200.5, elevation: { gain_actual_meters: 12, loss_actual_meters: 3 } },
            detailed: { distance_samples: seconds.map((s) => ({ timestamp: at(s), distance_meters: s * 10 })), elevation_samples: seconds.map((s) => ({ timestamp: at(s), elev_meters: 20 + s / 10 })) },
          },
          movement_data: {
            avg_speed_meters_per_second: 10,
            max_speed_meters_per_second: 12.5,
            avg_cadence_rpm: 88,
            speed_samples: seconds.map((s) => ({ timestamp: at(s), speed_meters_per_second: 10 + (s % 3) })),
            cadence_samples: seconds.map((s) => ({ timestamp: at(s), cadence_rpm: 85 + (s % 5) })),
          },
          power_data: { avg_watts: 230, max_watts: 410, power_samples: seconds.map((s) => ({ timestamp: at(s), watts: 200 + s })) },
          calories_data: { total_burned_calories: 95 },
          active_durations_data: { activity_seconds: 115 },
          device_data: { name: 'ELEMNT BOLT', manufacturer: 'Wahoo' },
        },
      ],
    }),
  );
}

describe('the fit format', () => {
  it('writes a FIT activity file both Garmin’s SDK and fit-file-parser read, with every sample and the session totals of the Terra activity', async () => {
    const [ride] = await recordsOf(sampledRide());
    assert.ok(ride !== undefined);
    const file = encode(ride);
    const messages = decode(file);
    assert.equal(messages.fileIdMesgs?.[0]?.type, 'activity');
    assert.equal(messages.deviceInfoMesgs?.[0]?.productName, 'ELEMNT BOLT');
    assert.deepEqual([messages.sportMesgs?.[0]?.sport, messages.sportMesgs?.[0]?.subSport, messages.sportMesgs?.[0]?.name], ['cycling', 'road', 'Intervals']);
    const session = messages.sessionMesgs?.[0];
    assert.ok(session !== undefined);
    assert.equal(session.totalDistance, 1200.5);
    assert.equal(session.totalElapsedTime, 120);
    assert.equal(session.totalTimerTime, 115);
    assert.equal(session.totalCalories, 95);
    assert.deepEqual([session.avgHeartRate, session.maxHeartRate, session.minHeartRate, session.avgPower, session.maxPower, session.totalAscent], [140, 170, 100, 230, 410, 12]);
    assert.equal(session.numLaps, 1);
    const records = messages.recordMesgs ?? [];
    assert.equal(records.length, 120, 'one record per second of samples');
    const r10 = records[10];
    assert.ok(r10 !== undefined);
    assert.deepEqual([r10.heartRate, r10.distance, r10.power, r10.cadence, r10.speed], [110, 100, 210, 85, 11]);
    assert.ok(Math.abs((r10.altitude ?? 0) - 21) < 0.21, 'altitude within FIT resolution (0.2 m)');
    assert.ok(Math.abs(((r10.positionLat ?? 0) * 180) / 2 ** 31 - 51.5001) < 1e-6, 'latitude in semicircles');

    const parsed = await parse(file);
    assert.equal(parsed.sessions?.length, 1);
    assert.equal(parsed.sessions?.[0]?.total_distance, 1200.5);
    assert.equal(parsed.records?.length, 120);
    assert.equal(parsed.laps?.length, 1);
  });

  it('the activity fixtures and Terra’s published example: Terra laps, totals and sample counts survive', async () => {
    const records = [...(await fixtureRecords('activity.json')), ...(await recordsOf(await readFile(openapiActivity)))];
    assert.equal(records.length, 3);
    for (const record of records) {
      const file = encode(record);
      const messages = decode(file);
      const item = record.item as { distance_data?: { summary?: { distance_meters?: number } }; heart_rate_data?: { detailed?: { hr_samples?: unknown[] } }; lap_data?: { laps?: unknown[] } };
      const session = messages.sessionMesgs?.[0];
      assert.equal(session?.totalDistance, item.distance_data?.summary?.distance_meters);
      assert.equal(messages.lapMesgs?.length, Math.max(1, item.lap_data?.laps?.length ?? 0));
      assert.ok((messages.recordMesgs?.length ?? 0) >= (item.heart_rate_data?.detailed?.hr_samples?.length ?? 0), 'every heart-rate sample has a record');
      const parsed = await parse(file);
      assert.equal(parsed.sessions?.[0]?.total_distance, session?.totalDistance);
      assert.equal(parsed.records?.length ?? 0, messages.recordMesgs?.length ?? 0);
    }
    const [run] = records;
    assert.ok(run !== undefined);
    const messages = decode(encode(run));
    assert.equal(messages.recordMesgs?.length, 8, 'eight heart-rate samples (the position sample shares the first second)');
    assert.deepEqual(messages.recordMesgs?.map((record) => record.heartRate), [128, 131, 134, 137, 140, 143, 146, 128]);
    assert.equal(messages.lapMesgs?.[0]?.totalDistance, 1000);
  });

  it('an activity without samples is still a valid file with a session and one lap', async () => {
    const event = { type: 'activity', user: { user_id: 'u-1', provider: 'POLAR' }, version: '2022-03-16', data: [{ metadata: { summary_id: 's-1', start_time: '2026-07-01T10:00:00+02:00', end_time: '2026-07-01T10:30:00+02:00', type: 80, upload_type: 1 } }] };
    const [record] = await recordsOf(Buffer.from(JSON.stringify(event)));
    assert.ok(record !== undefined);
    const file = encode(record);
    const messages = decode(file);
    assert.equal(messages.recordMesgs, undefined);
    assert.equal(messages.sessionMesgs?.length, 1);
    assert.equal(messages.sessionMesgs?.[0]?.totalElapsedTime, 1800);
    assert.deepEqual([messages.sessionMesgs?.[0]?.sport, messages.sessionMesgs?.[0]?.subSport], ['training', 'strengthTraining']);
    assert.equal(messages.lapMesgs?.length, 1);
    assert.equal((await parse(file)).sessions?.length, 1);
  });

  it('is deterministic, and refuses what is not one activity', async () => {
    const [run] = await fixtureRecords('activity.json');
    const [night] = await fixtureRecords('sleep.json');
    const [wholeEvent] = await fixtureRecords('activity.json', 'event');
    assert.ok(run !== undefined && night !== undefined && wholeEvent !== undefined);
    assert.deepEqual(encode(run), encode(run));
    assert.deepEqual(fitFormat.accepts(night), { ok: false, reason: 'the fit format writes activity files; a sleep record is not an activity' });
    const refused = fitFormat.accepts(wholeEvent);
    assert.ok(!refused.ok && /set unit: record/.test(refused.reason));
  });
});
