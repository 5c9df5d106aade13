import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { BSON, MongoBulkWriteError, MongoServerError, type AnyBulkWriteOperation, type Document } from 'mongodb';
import { useMongoTarget } from '../../support/mongodb-stand-in.js';

/**
 * What the MongoDB tests rely on the mongodb-stand-in to do exactly as MongoDB does. With
 * MONGODB_URL set these run against the real server, which is how the stand-in's answers are
 * checked against MongoDB's own.
 */

const target = useMongoTarget();

/** Documents whose `_id` is whatever the test says (strings, embedded documents, numbers). */
type AnyId = { _id: string | number | { [field: string]: unknown } } & Document;

/** Sends a legacy OP_QUERY `isMaster` on a raw socket and decodes the OP_REPLY. */
async function legacyIsMaster(url: string): Promise<{ opCode: number; reply: Document }> {
  const { hostname, port } = new URL(url.replace(/^mongodb:/, 'http:'));
  const query = BSON.serialize({ isMaster: 1, helloOk: true });
  const namespace = Buffer.from('admin.$cmd\u0000', 'utf8');
  const body = Buffer.concat([Buffer.alloc(4), namespace, Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), query]);
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(42, 4);
  header.writeInt32LE(2004, 12);
  const socket = connect({ host: hostname, port: Number(port || 27017) });
  try {
    socket.write(Buffer.concat([header, body]));
    let received = Buffer.alloc(0);
    for await (const chunk of socket) {
      received = Buffer.concat([received, chunk as Buffer]);
      if (received.length >= 4 && received.length >= received.readInt32LE(0)) break;
    }
    assert.equal(received.readInt32LE(8), 42, 'responseTo names the request');
    return { opCode: received.readInt32LE(12), reply: BSON.deserialize(received.subarray(36)) };
  } finally {
    socket.destroy();
  }
}

describe(`the MongoDB the tests use behaves as MongoDB (${process.env['MONGODB_URL'] ? 'MONGODB_URL' : 'mongodb-stand-in'})`, () => {
  it('answers a legacy OP_QUERY isMaster with an OP_REPLY', async () => {
    const { opCode, reply } = await legacyIsMaster(target.current.url);
    assert.equal(opCode, 1);
    assert.equal(reply['ok'], 1);
    assert.equal(reply['ismaster'] ?? reply['isWritablePrimary'], true);
    assert.ok(Number(reply['maxWireVersion']) >= 9);
  });

  it('answers an unknown command with CommandNotFound, not ok', async () => {
    await assert.rejects(target.current.client.db(target.current.database()).command({ terraFanoutNoSuchCommand: 1 }), (error: unknown) => {
      return error instanceof MongoServerError && error.code === 59 && error.codeName === 'CommandNotFound';
    });
  });

  it('an upsert whose filter does not match but whose _id exists fails that item with E11000; the others go on', async () => {
    const collection = target.current.client.db(target.current.database()).collection<AnyId>('c');
    const id = { user_id: 'u-1', start_time: '2026-07-01T06:00:00Z' };
    await collection.insertOne({ _id: id, version: 2 });
    // Replacements carry their own _id here, as the connector's do (the driver's types forbid that).
    const operations: Document[] = [
      { replaceOne: { filter: { _id: 'other', version: { $lt: 1 } }, replacement: { _id: 'other', version: 1 }, upsert: true } },
      { replaceOne: { filter: { _id: id, $or: [{ version: { $lt: 1 } }, { version: { $exists: false } }] }, replacement: { _id: id, version: 1 }, upsert: true } },
      { replaceOne: { filter: { _id: 'third' }, replacement: { _id: 'third', $bad: 1 }, upsert: true } },
      { replaceOne: { filter: { _id: 'fourth' }, replacement: { _id: 'fourth', version: 1 }, upsert: true } },
    ];
    const error = await collection
      .bulkWrite(operations as AnyBulkWriteOperation<AnyId>[], { ordered: false })
      .then(() => undefined, (thrown: unknown) => thrown);
    assert.ok(error instanceof MongoBulkWriteError);
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    assert.deepEqual(
      writeErrors.map((writeError) => [writeError.index, writeError.code]),
      [
        [1, 11000],
        [2, 52],
      ],
    );
    assert.match(writeErrors[0]?.errmsg ?? '', /^E11000 duplicate key error collection: .* index: _id_ dup key/);
    assert.deepEqual(
      (await collection.find({}).toArray()).map((document) => [document['_id'], document['version']]),
      [
        [id, 2],
        ['other', 1],
        ['fourth', 1],
      ],
    );
  });

  it('matches embedded _ids field by field, in order, and dotted paths with $lt / $exists', async () => {
    const collection = target.current.client.db(target.current.database()).collection<AnyId>('c');
    await collection.insertMany([
      { _id: { a: 1, b: 2 }, meta: { t: 5 } },
      { _id: { b: 2, a: 1 }, meta: { t: 9 } },
      { _id: 'plain' },
    ]);
    assert.equal((await collection.find({ _id: { a: 1, b: 2 } }).toArray()).length, 1);
    assert.deepEqual((await collection.find({ 'meta.t': { $lt: 6 } }).toArray()).map((document) => document['_id']), [{ a: 1, b: 2 }]);
    assert.deepEqual((await collection.find({ 'meta.t': { $exists: false } }).toArray()).map((document) => document['_id']), ['plain']);
    await assert.rejects(
      collection.bulkWrite([{ replaceOne: { filter: { _id: 'plain' }, replacement: { _id: 'changed' } } }] as Document[] as AnyBulkWriteOperation<AnyId>[]),
      (error: unknown) => error instanceof MongoBulkWriteError && error.code === 66,
    );
  });

  it('returns large results through a cursor (getMore)', async () => {
    const collection = target.current.client.db(target.current.database()).collection<AnyId>('c');
    await collection.insertMany(Array.from({ length: 250 }, (_, index) => ({ _id: index })));
    const all = await collection.find({}, { batchSize: 40 }).toArray();
    assert.equal(all.length, 250);
  });
});
