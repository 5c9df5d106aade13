import type { Types } from '@garmin/fitsdk';
import { terraActivityTypeTitle } from '../terra-activity-types.js';

/** A FIT sport and sub-sport (Garmin's profile names). */
export interface FitSport {
  sport: Types.Sport;
  subSport: Types.SubSport;
}

/**
 * Terra's activity title → FIT sport, first matching rule wins. Terra has ~150 types and FIT ~70
 * sports; anything without a rule is `generic`, which every FIT reader opens.
 */
const rules: readonly [RegExp, FitSport][] = [
  [/^Treadmill Running$/, { sport: 'running', subSport: 'treadmill' }],
  [/^Trail Running$/, { sport: 'running', subSport: 'trail' }],
  [/^Indoor Running$/, { sport: 'running', subSport: 'indoorRunning' }],
  [/Running|^Jogging/, { sport: 'running', subSport: 'generic' }],
  [/^Mountain Biking$/, { sport: 'cycling', subSport: 'mountain' }],
  [/^Road Biking$/, { sport: 'cycling', subSport: 'road' }],
  [/^(Spinning|Stationary Biking|Indoor Cycling)$/, { sport: 'cycling', subSport: 'indoorCycling' }],
  [/Biking|Cycling/, { sport: 'cycling', subSport: 'generic' }],
  [/^Treadmill Walking$/, { sport: 'walking', subSport: 'treadmill' }],
  [/Walking/, { sport: 'walking', subSport: 'generic' }],
  [/Hiking/, { sport: 'hiking', subSport: 'generic' }],
  [/^Swimming in Pool$/, { sport: 'swimming', subSport: 'lapSwimming' }],
  [/^Open Water Swimming$/, { sport: 'swimming', subSport: 'openWater' }],
  [/Swimming/, { sport: 'swimming', subSport: 'generic' }],
  [/^Rowing Machine$/, { sport: 'rowing', subSport: 'indoorRowing' }],
  [/Rowing/, { sport: 'rowing', subSport: 'generic' }],
  [/Cross Country Skiing|Back Country Skiing/, { sport: 'crossCountrySkiing', subSport: 'generic' }],
  [/Downhill Skiing/, { sport: 'alpineSkiing', subSport: 'downhill' }],
  [/^Snowboarding/, { sport: 'snowboarding', subSport: 'generic' }],
  [/^Strength Training$|Weightlifting/, { sport: 'training', subSport: 'strengthTraining' }],
  [/^Yoga$/, { sport: 'training', subSport: 'yoga' }],
  [/^Pilates$/, { sport: 'training', subSport: 'pilates' }],
  [/^Elliptical$/, { sport: 'fitnessEquipment', subSport: 'elliptical' }],
  [/^Stair Climbing/, { sport: 'fitnessEquipment', subSport: 'stairClimbing' }],
  [/^(High Intensity Interval Training|HIIT)/, { sport: 'hiit', subSport: 'generic' }],
  [/^Tennis$/, { sport: 'tennis', subSport: 'generic' }],
  [/^Golf$/, { sport: 'golf', subSport: 'generic' }],
  [/^Basketball$/, { sport: 'basketball', subSport: 'generic' }],
  [/Soccer/, { sport: 'soccer', subSport: 'generic' }],
  [/^Boxing$/, { sport: 'boxing', subSport: 'generic' }],
  [/^Baseball$/, { sport: 'baseball', subSport: 'generic' }],
  [/^Cricket$/, { sport: 'cricket', subSport: 'generic' }],
  [/^Rugby$/, { sport: 'rugby', subSport: 'generic' }],
  [/^Volleyball$/, { sport: 'volleyball', subSport: 'generic' }],
  [/Kayaking/, { sport: 'kayaking', subSport: 'generic' }],
  [/Surfing/, { sport: 'surfing', subSport: 'generic' }],
  [/Rock Climbing|Climbing/, { sport: 'rockClimbing', subSport: 'generic' }],
  [/Meditation/, { sport: 'meditation', subSport: 'generic' }],
];

export function fitSportFor(terraType: number | null): FitSport {
  const title = terraType === null ? null : terraActivityTypeTitle(terraType);
  if (title !== null) for (const [pattern, sport] of rules) if (pattern.test(title)) return sport;
  return { sport: 'generic', subSport: 'generic' };
}
