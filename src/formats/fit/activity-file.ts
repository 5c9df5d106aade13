import { Encoder, Profile, type Encodable, type Mesg, type ActivityMesg, type DeviceInfoMesg, type EventMesg, type FileIdMesg, type LapMesg, type RecordMesg, type SessionMesg, type SportMesg } from '@garmin/fitsdk';
import { block, instantAt, list, num, str, type Instant, type Json } from '../terra-values.js';
import { fitSportFor } from './sports.js';

/**
 * Pure: one Terra activity → a FIT activity file (Garmin FIT SDK encoder), summary last:
 * file_id, device_info, sport, timer start event, records (one per second that has any sample),
 * laps (Terra's, or one lap spanning the session), timer stop event, session, activity.
 * Values outside a FIT field's range are left out of that field rather than wrapped.
 */

/** A FIT global message number by its profile name (FILE_ID, RECORD...). */
function mesgNum(name: string): number {
  const number = Profile.MesgNum[name];
  if (number === undefined) throw new Error(`The FIT profile has no message ${name}`);
  return number;
}

const MESG = {
  fileId: mesgNum('FILE_ID'),
  deviceInfo: mesgNum('DEVICE_INFO'),
  sport: mesgNum('SPORT'),
  event: mesgNum('EVENT'),
  record: mesgNum('RECORD'),
  lap: mesgNum('LAP'),
  session: mesgNum('SESSION'),
  activity: mesgNum('ACTIVITY'),
} as const;

const SEMICIRCLES_PER_DEGREE = 2 ** 31 / 180;

/** One FIT record being assembled from Terra's separate sample lists, keyed by whole second. */
type RecordFields = Pick<RecordMesg, 'heartRate' | 'positionLat' | 'positionLong' | 'altitude' | 'cadence' | 'power' | 'speed' | 'distance'>;

/** Range checks for the record fields FIT stores (after its scale and offset). */
const inRange = {
  heartRate: (v: number) => v >= 0 && v <= 254,
  cadence: (v: number) => v >= 0 && v <= 254,
  power: (v: number) => v >= 0 && v <= 65_534,
  speed: (v: number) => v >= 0 && v <= 65.534,
  distance: (v: number) => v >= 0 && v <= 42_949_672.94,
  altitude: (v: number) => v >= -500 && v <= 12_606.8,
  latitude: (v: number) => v >= -90 && v <= 90,
  longitude: (v: number) => v >= -180 && v < 180,
  uint8: (v: number) => v >= 0 && v <= 254,
  uint16: (v: number) => v >= 0 && v <= 65_534,
  uint32: (v: number) => v >= 0 && v <= 4_294_967_294,
} as const;

function ranged(value: number | null, check: (v: number) => boolean): number | undefined {
  return value !== null && check(value) ? value : undefined;
}

function semicircles(degrees: number): number {
  return Math.round(degrees * SEMICIRCLES_PER_DEGREE);
}

class RecordTimeline {
  readonly #bySecond = new Map<number, RecordFields>();

  add(at: Instant | null, fields: RecordFields): void {
    if (at === null) return;
    const defined = Object.entries(fields).filter(([, value]) => value !== undefined);
    if (defined.length === 0) return;
    const second = Math.floor(at.ms / 1000);
    const current = this.#bySecond.get(second) ?? {};
    this.#bySecond.set(second, { ...current, ...Object.fromEntries(defined) });
  }

  records(): Encodable<RecordMesg>[] {
    return [...this.#bySecond.entries()]
      .sort(([a], [b]) => a - b)
      .map(([second, fields]) => ({ mesgNum: MESG.record, timestamp: new Date(second * 1000), ...fields }));
  }
}

/** Every sample of the activity, merged per second. Returns the timeline and how many Terra samples it took. */
function timeline(item: Json): RecordTimeline {
  const samples = new RecordTimeline();
  for (const sample of list(block(block(item, 'heart_rate_data'), 'detailed'), 'hr_samples')) {
    samples.add(instantAt(sample, 'timestamp'), { heartRate: ranged(num(sample, 'bpm'), inRange.heartRate) });
  }
  for (const sample of list(block(item, 'position_data'), 'position_samples')) {
    const coords = sample['coords_lat_lng_deg'];
    const lat = Array.isArray(coords) && typeof coords[0] === 'number' ? coords[0] : null;
    const lng = Array.isArray(coords) && typeof coords[1] === 'number' ? coords[1] : null;
    if (lat === null || lng === null || !inRange.latitude(lat) || !inRange.longitude(lng)) continue;
    samples.add(instantAt(sample, 'timestamp'), { positionLat: semicircles(lat), positionLong: semicircles(lng) });
  }
  const detailed = block(block(item, 'distance_data'), 'detailed');
  for (const sample of list(detailed, 'elevation_samples')) {
    samples.add(instantAt(sample, 'timestamp'), { altitude: ranged(num(sample, 'elev_meters'), inRange.altitude) });
  }
  for (const sample of list(detailed, 'distance_samples')) {
    samples.add(instantAt(sample, 'timestamp'), { distance: ranged(num(sample, 'distance_meters'), inRange.distance) });
  }
  const movement = block(item, 'movement_data');
  for (const sample of list(movement, 'cadence_samples')) {
    const cadence = num(sample, 'cadence_rpm');
    samples.add(instantAt(sample, 'timestamp'), { cadence: ranged(cadence === null ? null : Math.round(cadence), inRange.cadence) });
  }
  for (const sample of list(movement, 'speed_samples')) {
    samples.add(instantAt(sample, 'timestamp'), { speed: ranged(num(sample, 'speed_meters_per_second'), inRange.speed) });
  }
  for (const sample of list(block(item, 'power_data'), 'power_samples')) {
    const watts = num(sample, 'watts');
    samples.add(instantAt(sample, 'timestamp'), { power: ranged(watts === null ? null : Math.round(watts), inRange.power) });
  }
  return samples;
}

function whole(value: number | null, check: (v: number) => boolean): number | undefined {
  return value === null ? undefined : ranged(Math.round(value), check);
}

function laps(item: Json, start: Date, end: Date, sport: SessionMesg['sport'], sessionTotals: Partial<LapMesg>): Encodable<LapMesg>[] {
  const result: Encodable<LapMesg>[] = [];
  for (const lap of list(block(item, 'lap_data'), 'laps')) {
    const lapStart = instantAt(lap, 'start_time');
    const lapEnd = instantAt(lap, 'end_time');
    if (lapStart === null || lapEnd === null || lapEnd.ms < lapStart.ms) continue;
    const seconds = (lapEnd.ms - lapStart.ms) / 1000;
    result.push({
      mesgNum: MESG.lap,
      messageIndex: result.length,
      event: 'lap',
      eventType: 'stop',
      startTime: new Date(lapStart.ms),
      timestamp: new Date(lapEnd.ms),
      totalElapsedTime: seconds,
      totalTimerTime: seconds,
      totalDistance: ranged(num(lap, 'distance_meters'), inRange.distance),
      totalCalories: whole(num(lap, 'calories'), inRange.uint16),
      avgHeartRate: whole(num(lap, 'avg_hr_bpm'), inRange.uint8),
      avgSpeed: ranged(num(lap, 'avg_speed_meters_per_second'), inRange.speed),
      lapTrigger: 'manual',
      sport,
    });
  }
  if (result.length > 0) return result;
  // An activity file needs at least one lap; without Terra laps, one lap is the whole session.
  return [{ mesgNum: MESG.lap, messageIndex: 0, event: 'lap', eventType: 'stop', startTime: start, timestamp: end, lapTrigger: 'sessionEnd', sport, ...sessionTotals }];
}

/** Writes one message, typed as its profile message so field names and enum values are checked. */
function write<T extends Mesg>(encoder: Encoder, mesg: Encodable<T>): void {
  encoder.writeMesg(mesg);
}

/** uint32z serial number from the record identity (never 0, which FIT reads as invalid). */
function serialNumber(identity: string): number {
  return (Number.parseInt(identity.slice(0, 8), 16) % 0xfffffffe) + 1;
}

/** The FIT file for an activity item. `identity` is the record identity; `start` its metadata.start_time. */
export function encodeActivityFile(item: Json, identity: string, startAt: Instant): Uint8Array {
  const metadata = block(item, 'metadata');
  const endAt = instantAt(metadata, 'end_time');
  const start = new Date(startAt.ms);
  const end = new Date(Math.max(startAt.ms, endAt?.ms ?? startAt.ms));
  const elapsed = (end.getTime() - start.getTime()) / 1000;
  const { sport, subSport } = fitSportFor(num(metadata, 'type'));

  const heart = block(block(item, 'heart_rate_data'), 'summary');
  const distance = block(block(item, 'distance_data'), 'summary');
  const elevation = block(distance, 'elevation');
  const movement = block(item, 'movement_data');
  const power = block(item, 'power_data');
  const calories = block(item, 'calories_data');
  const device = block(item, 'device_data');
  const position = block(item, 'position_data');
  const activeSeconds = num(block(item, 'active_durations_data'), 'activity_seconds');
  const timerTime = activeSeconds !== null && activeSeconds >= 0 && activeSeconds <= elapsed ? activeSeconds : elapsed;
  const startPosition = position?.['start_pos_lat_lng_deg'];
  const startLat = Array.isArray(startPosition) && typeof startPosition[0] === 'number' && inRange.latitude(startPosition[0]) ? semicircles(startPosition[0]) : undefined;
  const startLng = Array.isArray(startPosition) && typeof startPosition[1] === 'number' && inRange.longitude(startPosition[1]) ? semicircles(startPosition[1]) : undefined;

  const totals = {
    totalElapsedTime: elapsed,
    totalTimerTime: timerTime,
    totalDistance: ranged(num(distance, 'distance_meters'), inRange.distance),
    totalCalories: whole(num(calories, 'total_burned_calories'), inRange.uint16),
    avgHeartRate: whole(num(heart, 'avg_hr_bpm'), inRange.uint8),
    maxHeartRate: whole(num(heart, 'max_hr_bpm'), inRange.uint8),
    avgCadence: whole(num(movement, 'avg_cadence_rpm'), inRange.uint8),
    maxCadence: whole(num(movement, 'max_cadence_rpm'), inRange.uint8),
    avgSpeed: ranged(num(movement, 'avg_speed_meters_per_second'), inRange.speed),
    maxSpeed: ranged(num(movement, 'max_speed_meters_per_second'), inRange.speed),
    avgPower: whole(num(power, 'avg_watts'), inRange.uint16),
    maxPower: whole(num(power, 'max_watts'), inRange.uint16),
    totalAscent: whole(num(elevation, 'gain_actual_meters'), inRange.uint16),
    totalDescent: whole(num(elevation, 'loss_actual_meters'), inRange.uint16),
  } satisfies Partial<SessionMesg>;

  const lapMesgs = laps(item, start, end, sport, totals);
  const encoder = new Encoder();
  write<FileIdMesg>(encoder, { mesgNum: MESG.fileId, type: 'activity', manufacturer: 'development', product: 0, serialNumber: serialNumber(identity), timeCreated: start });
  const productName = str(device, 'name');
  write<DeviceInfoMesg>(encoder, {
    mesgNum: MESG.deviceInfo,
    deviceIndex: 'creator',
    manufacturer: 'development',
    timestamp: start,
    ...(productName === null ? {} : { productName }),
  });
  const name = str(metadata, 'name');
  write<SportMesg>(encoder, { mesgNum: MESG.sport, sport, subSport, ...(name === null ? {} : { name }) });
  write<EventMesg>(encoder, { mesgNum: MESG.event, event: 'timer', eventType: 'start', timestamp: start });
  for (const record of timeline(item).records()) encoder.writeMesg(record);
  for (const lap of lapMesgs) encoder.writeMesg(lap);
  write<EventMesg>(encoder, { mesgNum: MESG.event, event: 'timer', eventType: 'stopAll', timestamp: end });
  write<SessionMesg>(encoder, {
    mesgNum: MESG.session,
    messageIndex: 0,
    event: 'session',
    eventType: 'stop',
    trigger: 'activityEnd',
    startTime: start,
    timestamp: end,
    sport,
    subSport,
    firstLapIndex: 0,
    numLaps: lapMesgs.length,
    minHeartRate: whole(num(heart, 'min_hr_bpm'), inRange.uint8),
    ...(startLat === undefined || startLng === undefined ? {} : { startPositionLat: startLat, startPositionLong: startLng }),
    ...totals,
  });
  write<ActivityMesg>(encoder, { mesgNum: MESG.activity, timestamp: end, totalTimerTime: timerTime, numSessions: 1, type: 'manual', event: 'activity', eventType: 'stop' });
  return encoder.close();
}
