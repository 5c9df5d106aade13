/**
 * The commands the mongodb-stand-in answers, over in-memory databases. Only what terra-fanout's
 * MongoDB connector and its tests send: the handshake (hello/isMaster), ping, buildInfo,
 * endSessions, insert, update (replacement documents, upsert), delete, find/getMore/killCursors,
 * count, createIndexes, listIndexes, listCollections, create, drop, dropDatabase. SASL
 * authentication always fails as a server fails unknown credentials (code 18). Any other command
 * answers CommandNotFound (59), as a server does for a name it does not know.
 */
import { BSON, EJSON, Long, ObjectId, type Document } from 'bson';
import { badValue, canonical, CommandError, matches, project } from './query.js';

const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
const DEFAULT_BATCH_SIZE = 101;

interface Index {
  name: string;
  key: Document;
}

interface Collection {
  documents: Map<string, Document>;
  indexes: Index[];
}

interface Cursor {
  namespace: string;
  remaining: Document[];
}

export class StandInStore {
  private readonly databases = new Map<string, Map<string, Collection>>();
  private readonly cursors = new Map<bigint, Cursor>();
  private nextCursorId = 1n;
  private connections = 0;

  /** Numbers the connections, for `connectionId` in hello replies. */
  connectionOpened(): number {
    this.connections += 1;
    return this.connections;
  }

  /** Runs one command; failures come back as `{ok: 0, ...}` replies, never as throws. */
  run(database: string, command: Document, connectionId: number): Document {
    const name = Object.keys(command)[0] ?? '';
    try {
      return { ...this.dispatch(name, database, command, connectionId), ok: 1 };
    } catch (error) {
      if (error instanceof CommandError) return { ok: 0, errmsg: error.message, code: error.code, codeName: error.codeName };
      return { ok: 0, errmsg: `mongodb stand-in failure: ${(error as Error).message}`, code: 1, codeName: 'InternalError' };
    }
  }

  private dispatch(name: string, database: string, command: Document, connectionId: number): Document {
    const target = typeof command[name] === 'string' ? (command[name] as string) : '';
    switch (name) {
      case 'hello':
      case 'isMaster':
      case 'ismaster':
        return hello(command, connectionId);
      case 'ping':
      case 'endSessions':
        return {};
      case 'buildInfo':
      case 'buildinfo':
        return { version: '7.0.0-terra-fanout-stand-in', versionArray: [7, 0, 0, 0], maxBsonObjectSize: MAX_BSON_OBJECT_SIZE };
      case 'saslStart':
      case 'saslContinue':
      case 'authenticate':
        throw new CommandError(18, 'AuthenticationFailed', 'Authentication failed.');
      case 'insert':
        return this.insert(database, target, command);
      case 'update':
        return this.update(database, target, command);
      case 'delete':
        return this.delete(database, target, command);
      case 'find':
        return this.find(database, target, command);
      case 'getMore':
        return this.getMore(command);
      case 'killCursors':
        return this.killCursors(command);
      case 'count':
        return { n: this.matching(database, target, asDocument(command['query'])).length };
      case 'createIndexes':
        return this.createIndexes(database, target, command);
      case 'listIndexes':
        return this.listIndexes(database, target);
      case 'listCollections':
        return this.listCollections(database, command);
      case 'create':
        if (this.collection(database, target) !== undefined) throw new CommandError(48, 'NamespaceExists', `Collection ${database}.${target} already exists.`);
        this.collection(database, target, true);
        return {};
      case 'drop':
        this.databases.get(database)?.delete(target);
        return { ns: `${database}.${target}` };
      case 'dropDatabase':
        this.databases.delete(database);
        return { dropped: database };
      default:
        throw new CommandError(59, 'CommandNotFound', `no such command: '${name}' (the mongodb stand-in implements only what terra-fanout sends)`);
    }
  }

  private collection(database: string, name: string, create: true): Collection;
  private collection(database: string, name: string, create?: boolean): Collection | undefined;
  private collection(database: string, name: string, create = false): Collection | undefined {
    let collections = this.databases.get(database);
    if (collections === undefined) {
      if (!create) return undefined;
      collections = new Map();
      this.databases.set(database, collections);
    }
    let collection = collections.get(name);
    if (collection === undefined && create) {
      if (name === '' || name.includes('$')) throw new CommandError(73, 'InvalidNamespace', `Invalid collection name: ${name}`);
      collection = { documents: new Map(), indexes: [{ name: '_id_', key: { _id: 1 } }] };
      collections.set(name, collection);
    }
    return collection;
  }

  private matching(database: string, name: string, filter: Document): Document[] {
    const collection = this.collection(database, name);
    return collection === undefined ? [] : candidates(collection, filter).filter((document) => matches(document, filter));
  }

  private insert(database: string, name: string, command: Document): Document {
    const collection = this.collection(database, name, true);
    const writeErrors: Document[] = [];
    let n = 0;
    for (const [index, document] of asDocuments(command['documents']).entries()) {
      const stored = document['_id'] === undefined ? { _id: new ObjectId(), ...document } : document;
      const error = this.store(database, name, collection, stored, index, true);
      if (error === undefined) n += 1;
      else {
        writeErrors.push(error);
        if (command['ordered'] !== false) break;
      }
    }
    return writeErrors.length === 0 ? { n } : { n, writeErrors };
  }

  /** Stores a document; a write error (E11000 for an `_id` taken, 10334 for a document too large) when it cannot. */
  private store(database: string, name: string, collection: Collection, document: Document, index: number, insert: boolean): Document | undefined {
    const key = canonical(document['_id']);
    if (insert && collection.documents.has(key)) {
      return {
        index,
        code: 11000,
        errmsg: `E11000 duplicate key error collection: ${database}.${name} index: _id_ dup key: { _id: ${EJSON.stringify(document['_id'], { relaxed: true })} }`,
        keyPattern: { _id: 1 },
        keyValue: { _id: document['_id'] },
      };
    }
    const size = BSON.calculateObjectSize(document);
    if (size > MAX_BSON_OBJECT_SIZE) return { index, code: 10334, errmsg: `BSONObj size: ${size} is invalid. Size must be between 0 and ${MAX_BSON_OBJECT_SIZE}(16MB)` };
    collection.documents.set(key, document);
    return undefined;
  }

  private update(database: string, name: string, command: Document): Document {
    const collection = this.collection(database, name, true);
    const writeErrors: Document[] = [];
    const upserted: Document[] = [];
    let n = 0;
    let nModified = 0;
    for (const [index, statement] of asDocuments(command['updates']).entries()) {
      const outcome = this.updateOne(database, name, collection, statement, index);
      if ('error' in outcome) {
        writeErrors.push(outcome.error);
        if (command['ordered'] !== false) break;
        continue;
      }
      n += outcome.n;
      nModified += outcome.modified;
      if (outcome.upsertedId !== undefined) upserted.push({ index, _id: outcome.upsertedId });
    }
    return { n, nModified, ...(upserted.length > 0 ? { upserted } : {}), ...(writeErrors.length > 0 ? { writeErrors } : {}) };
  }

  private updateOne(database: string, name: string, collection: Collection, statement: Document, index: number): { n: number; modified: number; upsertedId?: unknown } | { error: Document } {
    const filter = asDocument(statement['q']);
    const replacement = statement['u'];
    const fail = (code: number, errmsg: string) => ({ error: { index, code, errmsg } });
    if (Array.isArray(replacement) || typeof replacement !== 'object' || replacement === null) return fail(2, 'the mongodb stand-in implements replacement updates only');
    const fields = Object.keys(replacement);
    if (fields[0]?.startsWith('$')) return fail(2, 'the mongodb stand-in implements replacement updates only, not update operators');
    const dollar = fields.find((field) => field.startsWith('$'));
    if (dollar !== undefined) {
      return fail(52, `The dollar ($) prefixed field '${dollar}' in '${dollar}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`);
    }
    if (statement['multi'] === true) return fail(9, 'multi update is not supported for replacement-style update');
    let matched: Document | undefined;
    try {
      matched = candidates(collection, filter).find((document) => matches(document, filter));
    } catch (error) {
      if (error instanceof CommandError) return fail(error.code, error.message);
      throw error;
    }
    const { _id: ownId, ...rest } = replacement as Document;
    if (matched !== undefined) {
      if (ownId !== undefined && canonical(ownId) !== canonical(matched['_id'])) {
        return fail(66, "After applying the update, the (immutable) field '_id' was found to have been altered");
      }
      const next = { _id: matched['_id'], ...rest };
      const modified = canonical(next) === canonical(matched) ? 0 : 1;
      const error = this.store(database, name, collection, next, index, false);
      return error === undefined ? { n: 1, modified } : { error };
    }
    if (statement['upsert'] !== true) return { n: 0, modified: 0 };
    const filterId = filter['_id'];
    const id = ownId ?? (filterId !== undefined && !isOperatorValue(filterId) ? filterId : new ObjectId());
    const error = this.store(database, name, collection, { _id: id, ...rest }, index, true);
    return error === undefined ? { n: 1, modified: 0, upsertedId: id } : { error };
  }

  private delete(database: string, name: string, command: Document): Document {
    const collection = this.collection(database, name);
    let n = 0;
    for (const statement of asDocuments(command['deletes'])) {
      const doomed = this.matching(database, name, asDocument(statement['q']));
      for (const document of statement['limit'] === 1 ? doomed.slice(0, 1) : doomed) {
        collection?.documents.delete(canonical(document['_id']));
        n += 1;
      }
    }
    return { n };
  }

  private find(database: string, name: string, command: Document): Document {
    const sort = command['sort'];
    if (sort !== undefined && Object.keys(asDocument(sort)).length > 0) throw badValue('the mongodb stand-in does not implement sort');
    const skip = Number(command['skip'] ?? 0);
    const limit = Math.abs(Number(command['limit'] ?? 0));
    const found = this.matching(database, name, asDocument(command['filter'])).slice(skip, limit > 0 ? skip + limit : undefined);
    const projection = command['projection'] === undefined ? undefined : asDocument(command['projection']);
    const documents = found.map((document) => project(document, projection));
    const single = command['singleBatch'] === true || Number(command['limit'] ?? 0) < 0;
    return this.openCursor(`${database}.${name}`, documents, single ? documents.length : Number(command['batchSize'] ?? DEFAULT_BATCH_SIZE), 'firstBatch');
  }

  /** A cursor reply; documents beyond the first batch wait for getMore. */
  private openCursor(namespace: string, documents: Document[], batchSize: number, field: 'firstBatch' | 'nextBatch', reuse?: bigint): Document {
    const size = batchSize > 0 ? batchSize : documents.length;
    const batch = documents.slice(0, size);
    const remaining = documents.slice(size);
    let id = 0n;
    if (remaining.length > 0) {
      id = reuse ?? this.nextCursorId++;
      this.cursors.set(id, { namespace, remaining });
    } else if (reuse !== undefined) {
      this.cursors.delete(reuse);
    }
    return { cursor: { [field]: batch, id: Long.fromBigInt(id), ns: namespace } };
  }

  private getMore(command: Document): Document {
    const id = BigInt(String(command['getMore']));
    const cursor = this.cursors.get(id);
    if (cursor === undefined) throw new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`);
    return this.openCursor(cursor.namespace, cursor.remaining, Number(command['batchSize'] ?? cursor.remaining.length), 'nextBatch', id);
  }

  private killCursors(command: Document): Document {
    const ids = Array.isArray(command['cursors']) ? command['cursors'] : [];
    for (const id of ids) this.cursors.delete(BigInt(String(id)));
    return { cursorsKilled: ids, cursorsNotFound: [], cursorsAlive: [], cursorsUnknown: [] };
  }

  private createIndexes(database: string, name: string, command: Document): Document {
    const existed = this.collection(database, name) !== undefined;
    const collection = this.collection(database, name, true);
    const before = collection.indexes.length;
    for (const spec of asDocuments(command['indexes'])) {
      const key = asDocument(spec['key']);
      const indexName = typeof spec['name'] === 'string' ? spec['name'] : '';
      if (indexName === '') throw badValue('index specification needs a name');
      if (spec['unique'] === true) throw badValue('the mongodb stand-in does not implement unique secondary indexes');
      const sameName = collection.indexes.find((index) => index.name === indexName);
      const sameKey = collection.indexes.find((index) => canonical(index.key) === canonical(key));
      if (sameName !== undefined && canonical(sameName.key) !== canonical(key)) {
        throw new CommandError(86, 'IndexKeySpecsConflict', `An existing index has the same name as the requested index but different keys: ${indexName}`);
      }
      if (sameName === undefined && sameKey !== undefined) throw new CommandError(85, 'IndexOptionsConflict', `Index already exists with a different name: ${sameKey.name}`);
      if (sameName === undefined) collection.indexes.push({ name: indexName, key });
    }
    return { numIndexesBefore: before, numIndexesAfter: collection.indexes.length, createdCollectionAutomatically: !existed };
  }

  private listIndexes(database: string, name: string): Document {
    const collection = this.collection(database, name);
    if (collection === undefined) throw new CommandError(26, 'NamespaceNotFound', `ns does not exist: ${database}.${name}`);
    return this.openCursor(`${database}.${name}`, collection.indexes.map((index) => ({ v: 2, key: index.key, name: index.name })), 0, 'firstBatch');
  }

  private listCollections(database: string, command: Document): Document {
    const names = [...(this.databases.get(database)?.keys() ?? [])];
    const filter = command['filter'] === undefined ? {} : asDocument(command['filter']);
    const entries = names.map((name) => ({ name, type: 'collection', options: {}, info: { readOnly: false } })).filter((entry) => matches(entry, filter));
    return this.openCursor(`${database}.$cmd.listCollections`, entries, 0, 'firstBatch');
  }
}

/** The documents a filter can match: found by `_id` (equality or `$in`) like the `_id_` index does, else all of them. */
function candidates(collection: Collection, filter: Document): Document[] {
  const id: unknown = filter['_id'];
  if (id === undefined) return [...collection.documents.values()];
  const ids = isOperatorValue(id) ? (id as Document)['$in'] : [id];
  if (!Array.isArray(ids) || (isOperatorValue(id) && Object.keys(id as Document).length !== 1)) return [...collection.documents.values()];
  return ids.flatMap((value: unknown) => collection.documents.get(canonical(value)) ?? []);
}

function hello(command: Document, connectionId: number): Document {
  const reply: Document = {
    helloOk: true,
    isWritablePrimary: true,
    ismaster: true,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
  };
  if (typeof command['saslSupportedMechs'] === 'string') reply['saslSupportedMechs'] = ['SCRAM-SHA-1', 'SCRAM-SHA-256'];
  return reply;
}

function isOperatorValue(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value)[0]?.startsWith('$') === true;
}

function asDocument(value: unknown): Document {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badValue('expected a document');
  return value as Document;
}

function asDocuments(value: unknown): Document[] {
  if (!Array.isArray(value)) throw badValue('expected an array of documents');
  return value.map(asDocument);
}
