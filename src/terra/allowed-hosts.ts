/**
 * `s3Payload.allowedHosts`: where an `s3_payload` pointer may send the worker. One entry is
 *
 *   [*.]host[:port][/path-prefix]
 *
 * - `host`: a DNS name or IPv4 address, or an IPv6 address in brackets (`[::1]`), compared
 *   case-insensitively after the same normalization URLs get (`[0:0::1]` is `[::1]`);
 * - `*.suffix`: any name below `suffix` (`a.suffix`, `a.b.suffix`), never `suffix` itself;
 * - `:port`: exactly that port. Without it, only the URL scheme's default port (443 for https,
 *   80 for http): `storage.googleapis.com` does not admit `storage.googleapis.com:8443`;
 * - `/path-prefix`: the URL path must be the prefix or continue it after a `/`
 *   (`storage.googleapis.com/terra-payloads` admits `/terra-payloads/a.json`, not
 *   `/terra-payloads-evil/a.json`). For path-style bucket URLs, where the host is shared by every
 *   bucket. Compared case-sensitively (bucket names are) on the URL's normalized path.
 *
 * Terra's pointers name Terra's own payload bucket on Google Cloud Storage
 * (reference/terra-delivery-spec.md section 4.5), path-style and virtual-hosted; that is the
 * default. A Terra account set up to upload to its own S3 bucket adds that bucket.
 */

export const defaultAllowedHosts: readonly string[] = [
  'storage.googleapis.com/terra-services-p-bkt-payloads',
  'terra-services-p-bkt-payloads.storage.googleapis.com',
];

export interface AllowedHost {
  /** Normalized host (lower case, IPv6 in brackets), or the suffix after `*.` for a wildcard. */
  host: string;
  wildcard: boolean;
  /** The port as digits, or null for the scheme's default port. */
  port: string | null;
  /** A path starting with `/`, without a trailing `/`; null for any path. */
  pathPrefix: string | null;
}

export type AllowedHostParse = { ok: true; entry: AllowedHost } | { ok: false; problem: string };

const entryPattern = /^(\*\.)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(\/[^?#]*)?$/;
const dnsName = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
const pathSegment = /^[A-Za-z0-9._~!$&'()*+,;=:@-]+$/;

/** Reads one entry; the problem says what is wrong in words a config error can show. */
export function parseAllowedHost(raw: string): AllowedHostParse {
  const match = entryPattern.exec(raw);
  if (match === null) {
    return { ok: false, problem: 'expected host, host:port, *.suffix, *.suffix:port or [ipv6]:port, optionally followed by /path-prefix (no scheme, no spaces)' };
  }
  const [, star, hostText = '', portText, pathText] = match;
  if (portText !== undefined && (Number(portText) < 1 || Number(portText) > 65535)) return { ok: false, problem: `port ${portText} is not 1-65535` };
  let host: string;
  try {
    host = new URL(`http://${hostText}`).hostname;
  } catch {
    return { ok: false, problem: `${hostText} is not a host name or IP address` };
  }
  const isIp = host.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(host);
  if (!isIp && !dnsName.test(host)) return { ok: false, problem: `${hostText} is not a host name (letters, digits, - and . only, no empty label)` };
  if (star !== undefined && isIp) return { ok: false, problem: '*. applies to DNS names, not IP addresses' };
  if (star !== undefined && !host.includes('.')) return { ok: false, problem: `*.${host} would match names under a top-level domain; name a longer suffix` };
  let pathPrefix: string | null = null;
  if (pathText !== undefined) {
    const trimmed = pathText.endsWith('/') ? pathText.slice(0, -1) : pathText;
    const segments = trimmed.split('/').slice(1);
    if (segments.length === 0 || segments.some((segment) => !pathSegment.test(segment) || segment === '.' || segment === '..')) {
      return { ok: false, problem: `path prefix ${pathText} must be one or more /segments of URL path characters, with no "." or ".." segment and no %-escapes` };
    }
    pathPrefix = trimmed;
  }
  return { ok: true, entry: { host, wildcard: star !== undefined, port: portText === undefined ? null : String(Number(portText)), pathPrefix } };
}

/** Why `raw` is not a valid entry, or undefined when it is (for the config schema). */
export function allowedHostProblem(raw: string): string | undefined {
  const parsed = parseAllowedHost(raw);
  return parsed.ok ? undefined : parsed.problem;
}

const defaultPorts: Readonly<Record<string, string>> = { 'https:': '443', 'http:': '80' };

function effectivePort(url: URL): string {
  return url.port !== '' ? url.port : (defaultPorts[url.protocol] ?? '');
}

function matches(entry: AllowedHost, url: URL): boolean {
  const hostname = url.hostname.toLowerCase();
  const hostMatches = entry.wildcard ? hostname.endsWith(`.${entry.host}`) : hostname === entry.host;
  if (!hostMatches) return false;
  const wantedPort = entry.port ?? defaultPorts[url.protocol] ?? '';
  if (effectivePort(url) !== wantedPort) return false;
  if (entry.pathPrefix === null) return true;
  return url.pathname === entry.pathPrefix || url.pathname.startsWith(`${entry.pathPrefix}/`);
}

/** True when `url` matches an entry of `allowedHosts`; invalid entries match nothing. */
export function isUrlAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  for (const raw of allowedHosts) {
    const parsed = parseAllowedHost(raw.trim());
    if (parsed.ok && matches(parsed.entry, url)) return true;
  }
  return false;
}
