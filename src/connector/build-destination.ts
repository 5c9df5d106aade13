import { Secret } from '../config/secret.js';
import { FanoutError } from '../errors/catalogue.js';
import type { AnyConnectorDefinition, ConnectorContext, Destination } from './contract.js';

/**
 * Builds a destination: its client, then the destination over it. A throw while building (a key
 * file that cannot be read, a certificate that does not parse, a connection string the SDK
 * refuses) is a problem of that destination's configuration, not a crash: it comes back as
 * `destination_misconfigured`, naming the destination type and the cause, with every secret
 * value of the config taken out of the message. A FanoutError a connector raised is kept as is.
 */
export function buildDestination(connector: AnyConnectorDefinition, config: unknown, context: ConnectorContext): Destination {
  try {
    return connector.createDestination(config, connector.createClient(config, context), context);
  } catch (error) {
    if (error instanceof FanoutError) throw error;
    const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new FanoutError('destination_misconfigured', `The ${connector.type} destination could not be built (${redactSecrets(cause, config)}); check its config.`, { cause: error });
  }
}

/** Secret values shorter than this are not redacted (they would mangle ordinary words). */
const MIN_REDACTED_LENGTH = 4;

function secretsIn(value: unknown, found: Set<string>, depth = 0): Set<string> {
  if (value instanceof Secret) found.add(value.reveal());
  else if (typeof value === 'object' && value !== null && depth < 16) for (const child of Object.values(value)) secretsIn(child, found, depth + 1);
  return found;
}

function redactSecrets(message: string, config: unknown): string {
  const secrets = [...secretsIn(config, new Set())].filter((secret) => secret.length >= MIN_REDACTED_LENGTH).sort((a, b) => b.length - a.length);
  return secrets.reduce((text, secret) => text.split(secret).join('[redacted]'), message);
}
