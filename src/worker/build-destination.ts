import type { AnyConnectorDefinition, ConnectorContext, Destination } from '../connector/contract.js';
import { Secret } from '../config/secret.js';
import { FanoutError } from '../errors/catalogue.js';

/**
 * Builds a lane's destination. A client that cannot even be built (a missing key file, an
 * unreadable certificate, a connection string the SDK refuses at construction) must not take the
 * worker down: the lane gets a destination whose check fails with `destination_misconfigured`
 * and the reason, retried like any failing check, while every other lane runs.
 */
export function buildDestination(connector: AnyConnectorDefinition, config: unknown, context: ConnectorContext): Destination {
  try {
    return connector.createDestination(config, connector.createClient(config, context), context);
  } catch (thrown) {
    const reason = thrown instanceof FanoutError ? thrown.message : `${thrown instanceof Error ? thrown.name : 'Error'}: ${thrown instanceof Error ? thrown.message : String(thrown)}`;
    const error = new FanoutError('destination_misconfigured', `The ${connector.type} destination's client could not be built: ${redactSecrets(reason, config)}`);
    return unbuildable(error);
  }
}

function unbuildable(error: FanoutError): Destination {
  return {
    check: () => Promise.reject(error),
    send: () => Promise.reject(error),
    close: () => Promise.resolve(),
  };
}

/** Replaces every secret value of `config` (and any URL password) that appears in `text`. */
export function redactSecrets(text: string, config: unknown): string {
  let result = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, '$1[redacted]@');
  for (const secret of secretsOf(config)) if (secret.length >= 4) result = result.split(secret).join('[redacted]');
  return result;
}

function secretsOf(value: unknown, found: string[] = [], depth = 0): string[] {
  if (depth > 16) return found;
  if (value instanceof Secret) found.push(value.reveal());
  else if (Array.isArray(value)) for (const item of value) secretsOf(item, found, depth + 1);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) secretsOf(item, found, depth + 1);
  return found;
}
