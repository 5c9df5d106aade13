/** The Terra events the benchmarks produce: activity events like Terra's, optionally padded with heart-rate samples. */
import { CompressionTypes, type Kafka } from 'kafkajs';

/** An activity event of ~1.2 KB, or ~`padding` bytes more of heart-rate samples (each with its own timestamp). */
export function activity(index: number, padding = 0): string {
  const start = new Date(Date.UTC(2026, 0, 1) + index * 60_000).toISOString();
  const end = new Date(Date.UTC(2026, 0, 1) + index * 60_000 + 1_800_000).toISOString();
  const sample = (i: number): Record<string, unknown> => ({ timestamp: new Date(Date.UTC(2026, 0, 1) + index * 60_000 + i * 1000).toISOString(), bpm: 60 + (i % 120), timer_duration_seconds: i });
  const sampleBytes = JSON.stringify(sample(100_000)).length + 1;
  const samples = padding > 0 ? Array.from({ length: Math.ceil(padding / sampleBytes) }, (_, i) => sample(i)) : undefined;
  return JSON.stringify({
    type: 'activity',
    user: { user_id: `bench-user-${index % 100}`, provider: 'GARMIN', reference_id: `ref-${index % 100}`, scopes: 'ACTIVITY_EXPORT,HEALTH_EXPORT', active: true, last_webhook_update: '2026-07-01T09:12:33.891000+00:00' },
    data: [
      {
        metadata: { summary_id: `bench-${index}`, start_time: start, end_time: end, type: 1, upload_type: 1, name: 'Morning run', city: null, country: null, timestamp_localization: 0 },
        distance_data: { summary: { distance_meters: 5012.4, steps: 6120, floors_climbed: 3, elevation: { gain_actual_meters: 42.1, loss_actual_meters: 40.2 } } },
        heart_rate_data: { summary: { avg_hr_bpm: 148, max_hr_bpm: 176, min_hr_bpm: 92, resting_hr_bpm: 52 }, detailed: { hr_samples: samples ?? [] } },
        calories_data: { total_burned_calories: 512.3, net_activity_calories: 430.1, BMR_calories: 82.2 },
        MET_data: { avg_level: 8.1, num_high_intensity_minutes: 12, num_moderate_intensity_minutes: 15, num_low_intensity_minutes: 3 },
        movement_data: { avg_speed_meters_per_second: 2.9, max_speed_meters_per_second: 4.1, avg_cadence_rpm: 84 },
        active_durations_data: { activity_seconds: 1800, moderate_intensity_seconds: 900, vigorous_intensity_seconds: 720 },
      },
    ],
    version: '2022-03-16',
  });
}

/**
 * Round-robin over partitions (the mock keeps only 5 MiB per partition, so spread evenly), in record
 * batches of about `batchSize` messages per partition: the librdkafka mock answers a fetch with one
 * whole batch per partition whatever the fetch's byte limits say, so the batch size decides how much
 * one fetch brings, as a real broker's limits would.
 */
export async function produce(kafka: Kafka, topic: string, partitions: number, values: readonly string[], compression = CompressionTypes.None, batchSize = 1000 / partitions): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const perSend = Math.max(1, Math.round(batchSize)) * partitions;
  for (let start = 0; start < values.length; start += perSend) {
    const chunk = values.slice(start, start + perSend);
    const perPartition = Math.ceil(chunk.length / partitions);
    await producer.send({ topic, acks: -1, compression, messages: chunk.map((value, i) => ({ partition: Math.floor(i / perPartition) % partitions, value })) });
  }
  await producer.disconnect();
}
