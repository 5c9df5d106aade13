import { version } from '../../src/cli/version.js';

/** The user-agent every HTTP connector sends: `terra-fanout/<package version>`. */
export function fanoutUserAgent(): string {
  return `terra-fanout/${version}`;
}
