/**
 * Encoding cost per record for each format (terra, fhir, fit), so a user can size a FHIR or FIT
 * lane: records/s and CPU microseconds per record (process.cpuUsage) for the encoder alone, on a
 * ~1.2 KB activity without samples (the lane bench's event), an hour-long activity with 1 Hz
 * samples, and the daily, body and sleep fixtures. `npm run bench` runs it (BENCH_SCENARIOS=formats
 * alone, needing no broker). Figures only, never a pass or fail.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { applyFormat } from '../../src/formats/apply-format.js';
import { formats } from '../../src/formats/formats.js';
import type { FormatOptions } from '../../src/formats/format.js';
import type { InboundMessage } from '../../src/kafka/kafka-client.js';
import { createMessageReader } from '../../src/pipeline/read-message.js';
import type { TerraRecord } from '../../src/records/record.js';
import { cpuMicros, fmt, machineLoad } from '../measure.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/terra/valid/', import.meta.url));
const options: FormatOptions = { fhir: { identifierSystemBase: 'urn:terra-fanout', maxSampleObservations: 1000, bundleType: 'collection' } };
/** Keep each measurement near this long, so fast and slow encoders are measured alike. */
const TARGET_MS = Number(process.env['BENCH_FORMAT_MS'] ?? 1500);

function activityEvent(samplesPerSecondForSeconds: number): Buffer {
  const start = Date.UTC(2026, 0, 1, 6, 0, 0);
  const at = (second: number) => new Date(start + second * 1000).toISOString();
  const seconds = Array.from({ length: samplesPerSecondForSeconds }, (_, second) => second);
  const end = at(Math.max(1800, samplesPerSecondForSeconds));
  return Buffer.from(
    JSON.stringify({
      type: 'activity',
      user: { user_id: 'bench-user', provider: 'GARMIN', reference_id: 'ref-1', scopes: 'ACTIVITY_EXPORT', active: true, last_webhook_update: null },
      version: '2022-03-16',
      data: [
        {
          metadata: { summary_id: `bench-${samplesPerSecondForSeconds}`, start_time: at(0), end_time: end, type: 1, upload_type: 1, name: 'Morning ride' },
          distance_data: { summary: { distance_meters: 5012.4, steps: 6120, elevation: { gain_actual_meters: 42.1, loss_actual_meters: 40.2 } }, detailed: { distance_samples: seconds.map((s) => ({ timestamp: at(s), distance_meters: s * 8.1 })), elevation_samples: seconds.map((s) => ({ timestamp: at(s), elev_meters: 40 + (s % 50) / 10 })) } },
          heart_rate_data: { summary: { avg_hr_bpm: 148, max_hr_bpm: 176, min_hr_bpm: 92, resting_hr_bpm: 52 }, detailed: { hr_samples: seconds.map((s) => ({ timestamp: at(s), bpm: 100 + (s % 80) })) } },
          position_data: { position_samples: seconds.map((s) => ({ timestamp: at(s), coords_lat_lng_deg: [51.5 + s * 1e-5, -0.12 + s * 1e-5] })) },
          movement_data: { avg_speed_meters_per_second: 8.1, speed_samples: seconds.map((s) => ({ timestamp: at(s), speed_meters_per_second: 8 + (s % 4) })), cadence_samples: seconds.map((s) => ({ timestamp: at(s), cadence_rpm: 85 + (s % 6) })) },
          power_data: { avg_watts: 230, power_samples: seconds.map((s) => ({ timestamp: at(s), watts: 180 + (s % 120) })) },
          calories_data: { total_burned_calories: 512.3, net_activity_calories: 430.1 },
          active_durations_data: { activity_seconds: 1800 },
        },
      ],
    }),
  );
}

async function recordsOf(value: Buffer): Promise<TerraRecord[]> {
  const read = createMessageReader({ maxMessageBytes: 64 << 20, s3Payload: { allowedHosts: [], allowHttp: false, maxBytes: 1, timeoutMs: 1, maxExpiresInSeconds: 3600 }, unit: 'record', events: null, providers: null });
  const message: InboundMessage = { topic: 'bench', partition: 0, offset: '0', timestampMs: Date.UTC(2026, 0, 2), key: null, value, headers: {}, sizeBytes: value.length };
  const outcome = await read(message);
  if (!outcome.ok) throw new Error(`bench input rejected: ${outcome.error.code}`);
  return outcome.records;
}

export async function runFormatBench(): Promise<void> {
  const inputs: { label: string; records: TerraRecord[] }[] = [
    { label: 'activity, summary only', records: await recordsOf(activityEvent(0)) },
    { label: 'activity, 1 h of 1 Hz samples', records: await recordsOf(activityEvent(3600)) },
    ...(await Promise.all(['daily.json', 'body.json', 'sleep.json'].map(async (name) => ({ label: name.replace('.json', ''), records: await recordsOf(await readFile(`${fixtures}${name}`)) })))),
  ];
  console.log(`terra-fanout bench: encoding cost per record and format (encoder only, one core), Node ${process.version}, ${machineLoad()}`);
  for (const input of inputs) {
    const inBytes = input.records.reduce((sum, record) => sum + record.body.length, 0) / input.records.length;
    for (const format of Object.values(formats)) {
      const accepted = input.records.filter((record) => format.accepts(record).ok);
      if (accepted.length === 0) {
        console.log(`  ${input.label.padEnd(30)} ${format.name.padEnd(5)}  not expressed (filtered)`);
        continue;
      }
      let outBytes = 0;
      const once = () => {
        const result = applyFormat(accepted, format, options);
        if (!result.ok) throw result.error;
        outBytes = result.kept.reduce((sum, record) => sum + record.body.length, 0) / result.kept.length;
      };
      once(); // warm up
      let encoded = 0;
      const cpuBefore = cpuMicros();
      const started = process.hrtime.bigint();
      while (Number(process.hrtime.bigint() - started) / 1e6 < TARGET_MS) {
        once();
        encoded += accepted.length;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpuPerRecord = (cpuMicros() - cpuBefore) / encoded;
      console.log(
        `  ${input.label.padEnd(30)} ${format.name.padEnd(5)} ${fmt(encoded / seconds).padStart(10)} rec/s  ${fmt(cpuPerRecord, 1).padStart(9)} µs CPU/rec  ${fmt(inBytes).padStart(7)} B in  ${fmt(outBytes).padStart(7)} B out`,
      );
    }
  }
}

