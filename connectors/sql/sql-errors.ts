/**
 * Translates what `pg` and `mysql2` throw into the error catalogue. Pure. Messages carry the
 * SQLSTATE / MySQL error number and the driver's message with every quoted value removed (only
 * short identifier-like names stay), so no payload content or credential reaches a log. The driver
 * error is not kept as `cause`: loggers print a cause's message (and mysql2 errors carry the SQL
 * with its values).
 */
import { FanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import { deadlineError } from '../shared/call-deadline.js';
import { sanitizeDriverMessage } from '../shared/sql-rows/driver-message.js';
import type { SqlDialect } from './config.js';

export interface SqlErrorContext {
  dialect: SqlDialect;
  /** What we talk to, without credentials: `PostgreSQL 127.0.0.1:5432/app`. */
  target: string;
}

interface Meaning {
  code: ErrorCode;
  what: string;
  fix?: string;
}

const GRANTS = 'grant SELECT, INSERT, UPDATE, DELETE on the tables (CREATE too with autoCreate); see connectors/sql/README.md';
const CREATE_TABLES = 'set autoCreate: true, or create the tables from connectors/sql/ddl/<dialect>/*.sql';
const TABLE_SHAPE = 'the table was not created by terra-fanout or by an older version; compare it with connectors/sql/ddl/<dialect>/*.sql';

const unavailable: Meaning = { code: 'destination_unavailable', what: 'the database is unavailable' };
const rejected: Meaning = { code: 'destination_rejected', what: 'the database refused a value of the record' };

/** PostgreSQL SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const postgresStates: Readonly<Record<string, Meaning>> = {
  '28000': { code: 'destination_auth_failed', what: 'the database refused the login', fix: 'check the user and password' },
  '28P01': { code: 'destination_auth_failed', what: 'the database refused the password', fix: 'check the user and password' },
  '42501': { code: 'destination_auth_failed', what: 'the database user lacks a right', fix: GRANTS },
  '3D000': { code: 'destination_not_found', what: 'the database does not exist', fix: 'create it or fix the URL' },
  '3F000': { code: 'destination_not_found', what: 'the schema does not exist', fix: CREATE_TABLES },
  '42P01': { code: 'destination_not_found', what: 'a table does not exist', fix: CREATE_TABLES },
  '42703': { code: 'destination_misconfigured', what: 'a column does not exist', fix: TABLE_SHAPE },
  '42804': { code: 'destination_misconfigured', what: 'a column has another type', fix: TABLE_SHAPE },
  '42P10': { code: 'destination_misconfigured', what: 'the table has no primary key on its key column', fix: TABLE_SHAPE },
  '0A000': { code: 'destination_misconfigured', what: 'the database does not support a feature terra-fanout needs', fix: 'use PostgreSQL 12 or later' },
  '57014': { code: 'destination_timeout', what: 'a statement ran longer than statementTimeoutMs' },
  '55P03': { code: 'destination_timeout', what: 'a row lock was not granted within statementTimeoutMs' },
  '25P03': { code: 'destination_timeout', what: 'the transaction sat idle too long' },
  '40001': { code: 'destination_unavailable', what: 'a concurrent write conflicted (serialization failure)' },
  '40P01': { code: 'destination_unavailable', what: 'a concurrent write deadlocked' },
  '25006': { code: 'destination_unavailable', what: 'the database is read-only (a replica, or a failover in progress)' },
  '42601': { code: 'internal_error', what: 'terra-fanout sent invalid SQL' },
  '42883': { code: 'internal_error', what: 'terra-fanout called a function the database lacks' },
  '42P18': { code: 'internal_error', what: 'terra-fanout sent a parameter of unknown type' },
};

const postgresClasses: Readonly<Record<string, Meaning>> = {
  '08': unavailable,
  '53': { code: 'destination_unavailable', what: 'the database is out of resources (connections, memory or disk)' },
  '57': unavailable,
  '58': unavailable,
  XX: unavailable,
  '22': rejected,
  '23': { code: 'destination_rejected', what: 'the record breaks a constraint of the table' },
  '54': { code: 'destination_record_too_large', what: 'the record is larger than the database accepts' },
  '28': { code: 'destination_auth_failed', what: 'the database refused the login', fix: 'check the user and password' },
};

/** MySQL / MariaDB error numbers. */
const mysqlErrors: Readonly<Record<number, Meaning>> = {
  1044: { code: 'destination_auth_failed', what: 'the database user may not use this database', fix: GRANTS },
  1045: { code: 'destination_auth_failed', what: 'the database refused the login', fix: 'check the user and password' },
  1142: { code: 'destination_auth_failed', what: 'the database user lacks a right on a table', fix: GRANTS },
  1143: { code: 'destination_auth_failed', what: 'the database user lacks a right on a column', fix: GRANTS },
  1227: { code: 'destination_auth_failed', what: 'the database user lacks a right', fix: GRANTS },
  1251: { code: 'destination_auth_failed', what: 'the server wants an authentication method the client does not offer', fix: 'use caching_sha2_password or mysql_native_password' },
  1698: { code: 'destination_auth_failed', what: 'the database refused the login', fix: 'check the user and password' },
  1049: { code: 'destination_not_found', what: 'the database does not exist', fix: 'create it or fix the URL' },
  1146: { code: 'destination_not_found', what: 'a table does not exist', fix: CREATE_TABLES },
  1054: { code: 'destination_misconfigured', what: 'a column does not exist', fix: TABLE_SHAPE },
  1364: { code: 'destination_misconfigured', what: 'the table has a required column terra-fanout does not write', fix: TABLE_SHAPE },
  1048: rejected,
  1264: rejected,
  1292: rejected,
  1300: rejected,
  1366: rejected,
  1367: rejected,
  1406: rejected,
  3140: { code: 'destination_rejected', what: 'the database refused the JSON of the record' },
  3819: { code: 'destination_rejected', what: 'the record breaks a check constraint' },
  4025: { code: 'destination_rejected', what: 'the record breaks a check constraint (MariaDB checks JSON columns)' },
  1118: { code: 'destination_record_too_large', what: 'the row is larger than the table allows' },
  1153: { code: 'destination_record_too_large', what: 'the record is larger than the server\'s max_allowed_packet', fix: 'raise max_allowed_packet' },
  1301: { code: 'destination_record_too_large', what: 'the record is larger than the server\'s max_allowed_packet', fix: 'raise max_allowed_packet' },
  1205: { code: 'destination_timeout', what: 'a row lock was not granted within statementTimeoutMs' },
  1317: { code: 'destination_timeout', what: 'the statement was interrupted' },
  1969: { code: 'destination_timeout', what: 'a statement ran longer than statementTimeoutMs' },
  3024: { code: 'destination_timeout', what: 'a statement ran longer than statementTimeoutMs' },
  1213: { code: 'destination_unavailable', what: 'a concurrent write deadlocked' },
  1040: { code: 'destination_unavailable', what: 'the server has too many connections' },
  1203: { code: 'destination_unavailable', what: 'the user has too many connections' },
  1290: { code: 'destination_unavailable', what: 'the server is read-only or refuses writes now' },
  1836: { code: 'destination_unavailable', what: 'the server is read-only' },
  1064: { code: 'internal_error', what: 'terra-fanout sent invalid SQL' },
};

/** Node and driver codes for connections that failed or broke. */
const connectionCodes: Readonly<Record<string, Meaning>> = {
  ECONNREFUSED: { code: 'destination_unavailable', what: 'the database refused the connection' },
  ECONNRESET: { code: 'destination_unavailable', what: 'the connection was reset' },
  EPIPE: { code: 'destination_unavailable', what: 'the connection was closed' },
  EHOSTUNREACH: { code: 'destination_unavailable', what: 'the database host is unreachable' },
  ENETUNREACH: { code: 'destination_unavailable', what: 'the network is unreachable' },
  ENOTFOUND: { code: 'destination_unavailable', what: 'the database host name does not resolve' },
  EAI_AGAIN: { code: 'destination_unavailable', what: 'the database host name does not resolve (yet)' },
  ETIMEDOUT: { code: 'destination_timeout', what: 'the connection timed out' },
  PROTOCOL_CONNECTION_LOST: { code: 'destination_unavailable', what: 'the server closed the connection' },
  PROTOCOL_SEQUENCE_TIMEOUT: { code: 'destination_timeout', what: 'the server stopped answering' },
  ER_NET_PACKET_TOO_LARGE: { code: 'destination_record_too_large', what: 'the record is larger than the server\'s max_allowed_packet', fix: 'raise max_allowed_packet' },
  HANDSHAKE_NO_SSL_SUPPORT: { code: 'destination_misconfigured', what: 'the server does not offer TLS', fix: 'set tls.mode: disable, or enable TLS on the server' },
  DEPTH_ZERO_SELF_SIGNED_CERT: { code: 'destination_misconfigured', what: 'the server certificate is self-signed', fix: 'give its CA in tls.ca, or use tls.mode: require' },
  SELF_SIGNED_CERT_IN_CHAIN: { code: 'destination_misconfigured', what: 'the server certificate chain ends in an unknown CA', fix: 'give the CA in tls.ca' },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: { code: 'destination_misconfigured', what: 'the server certificate cannot be verified', fix: 'give the CA in tls.ca' },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: { code: 'destination_misconfigured', what: 'the server certificate\'s issuer is unknown', fix: 'give the CA in tls.ca' },
  ERR_TLS_CERT_ALTNAME_INVALID: { code: 'destination_misconfigured', what: 'the server certificate is for another host name', fix: 'set tls.servername or connect by the certificate\'s name' },
  CERT_HAS_EXPIRED: { code: 'destination_misconfigured', what: 'the server certificate has expired' },
  ERR_SSL_WRONG_VERSION_NUMBER: { code: 'destination_misconfigured', what: 'the server did not answer TLS', fix: 'check tls.mode' },
};

/** pg throws some connection failures without a code; recognised by message. */
const messagePatterns: readonly [RegExp, Meaning][] = [
  [/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i, { code: 'destination_timeout', what: 'no connection within pool.connectTimeoutMs' }],
  [/Query read timeout/i, { code: 'destination_timeout', what: 'the server stopped answering' }],
  [/Connection terminated|Client has encountered a connection error|connection is closed|Pool is closed/i, unavailable],
  [/does not support SSL/i, { code: 'destination_misconfigured', what: 'the server does not offer TLS', fix: 'set tls.mode: disable, or enable TLS on the server' }],
  [/SSL|TLS|certificate/i, { code: 'destination_misconfigured', what: 'the TLS handshake failed', fix: 'check tls' }],
];

function field(error: unknown, name: string): unknown {
  return typeof error === 'object' && error !== null ? Reflect.get(error, name) : undefined;
}

function meaningOf(dialect: SqlDialect, error: unknown): { meaning: Meaning; tag: string } | null {
  const code = field(error, 'code');
  const errno = field(error, 'errno');
  const message = field(error, 'message');
  if (dialect === 'postgres' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    const meaning = postgresStates[code] ?? postgresClasses[code.slice(0, 2)];
    return { meaning: meaning ?? unavailable, tag: `SQLSTATE ${code}` };
  }
  if (dialect === 'mysql' && typeof errno === 'number' && typeof field(error, 'sqlState') === 'string') {
    const state = String(field(error, 'sqlState'));
    const meaning = mysqlErrors[errno] ?? connectionCodes[typeof code === 'string' ? code : ''] ?? (state.startsWith('22') || state.startsWith('23') ? rejected : state.startsWith('28') ? mysqlErrors[1045] : undefined);
    return { meaning: meaning ?? unavailable, tag: `${typeof code === 'string' ? code : 'error'} ${errno}` };
  }
  if (typeof code === 'string' && connectionCodes[code] !== undefined) return { meaning: connectionCodes[code], tag: code };
  if (typeof message === 'string') {
    for (const [pattern, meaning] of messagePatterns) if (pattern.test(message)) return { meaning, tag: typeof code === 'string' ? code : 'connection' };
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { meaning: unavailable, tag: code };
  return null;
}

/**
 * A FanoutError for anything a SQL client threw. Errors the clients raise themselves (already
 * FanoutErrors) pass through; an error this function does not recognise is a programming error.
 */
export function classifySqlError(error: unknown, context: SqlErrorContext): FanoutError {
  if (error instanceof FanoutError) return error;
  const abandoned = deadlineError(error, context.target);
  if (abandoned !== undefined) return abandoned;
  const found = meaningOf(context.dialect, error);
  const rawMessage = field(error, 'message');
  const driverMessage = typeof rawMessage === 'string' ? sanitizeDriverMessage(rawMessage) : '';
  if (found === null) {
    return new FanoutError('internal_error', `Unexpected error from ${context.target}: ${driverMessage}`);
  }
  const { meaning, tag } = found;
  const table = field(error, 'table');
  const column = field(error, 'column');
  const detail: Record<string, string | number | boolean> = { database: context.dialect, reason: tag };
  if (typeof table === 'string') detail['table'] = table;
  if (typeof column === 'string') detail['column'] = column;
  const fix = meaning.fix === undefined ? '' : ` To fix: ${meaning.fix.replace('<dialect>', context.dialect)}.`;
  return new FanoutError(meaning.code, `${context.target}: ${meaning.what} (${tag}: ${driverMessage}).${fix}`, { detail });
}

/** `PostgreSQL host:port/database` from a connection URL, without user or password. */
export function targetLabel(dialect: SqlDialect, url: string): string {
  const name = dialect === 'postgres' ? 'PostgreSQL' : 'MySQL';
  if (!URL.canParse(url)) return name;
  const parsed = new URL(url);
  return `${name} ${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}
