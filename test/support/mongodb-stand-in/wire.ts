/**
 * MongoDB wire-protocol framing for the mongodb-stand-in: OP_MSG (2013) requests and replies, and
 * the legacy OP_QUERY (2004) / OP_REPLY (1) pair a driver may use for its first handshake.
 * https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/
 */
import { BSON, type Document } from 'bson';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;

const HEADER_BYTES = 16;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;

/** One decoded request. */
export interface Request {
  requestId: number;
  opCode: typeof OP_QUERY | typeof OP_MSG;
  /** The command, with OP_MSG document sequences (kind 1 sections) folded in under their identifiers. */
  command: Document;
  /** The database the command runs against (`$db`, or the OP_QUERY namespace). */
  database: string;
  /** OP_MSG moreToCome: the client expects no reply (unacknowledged write). */
  noReply: boolean;
}

/** Splits complete messages off the front of `buffer`; returns them and the unread rest. */
export function splitMessages(buffer: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let offset = 0;
  while (buffer.length - offset >= 4) {
    const length = buffer.readInt32LE(offset);
    if (length < HEADER_BYTES) throw new Error(`invalid message length ${length}`);
    if (buffer.length - offset < length) break;
    messages.push(buffer.subarray(offset, offset + length));
    offset += length;
  }
  return { messages, rest: buffer.subarray(offset) };
}

function readCString(buffer: Buffer, offset: number): { value: string; next: number } {
  const end = buffer.indexOf(0, offset);
  if (end < 0) throw new Error('unterminated cstring');
  return { value: buffer.toString('utf8', offset, end), next: end + 1 };
}

function readDocument(buffer: Buffer, offset: number): { document: Document; next: number } {
  const size = buffer.readInt32LE(offset);
  return { document: BSON.deserialize(buffer.subarray(offset, offset + size)), next: offset + size };
}

/** Decodes one message; throws for an opcode the stand-in does not speak (e.g. OP_COMPRESSED). */
export function parseRequest(message: Buffer): Request {
  const requestId = message.readInt32LE(4);
  const opCode = message.readInt32LE(12);
  if (opCode === OP_MSG) {
    const flags = message.readUInt32LE(HEADER_BYTES);
    const end = message.length - ((flags & CHECKSUM_PRESENT) !== 0 ? 4 : 0);
    let offset = HEADER_BYTES + 4;
    let command: Document = {};
    const sequences: Array<[string, Document[]]> = [];
    while (offset < end) {
      const kind = message.readUInt8(offset);
      offset += 1;
      if (kind === 0) {
        const read = readDocument(message, offset);
        command = read.document;
        offset = read.next;
      } else if (kind === 1) {
        const sectionEnd = offset + message.readInt32LE(offset);
        const identifier = readCString(message, offset + 4);
        const documents: Document[] = [];
        for (offset = identifier.next; offset < sectionEnd; ) {
          const read = readDocument(message, offset);
          documents.push(read.document);
          offset = read.next;
        }
        sequences.push([identifier.value, documents]);
      } else {
        throw new Error(`unknown OP_MSG section kind ${kind}`);
      }
    }
    for (const [identifier, documents] of sequences) command[identifier] = documents;
    const database = typeof command['$db'] === 'string' ? command['$db'] : 'admin';
    return { requestId, opCode, command, database, noReply: (flags & MORE_TO_COME) !== 0 };
  }
  if (opCode === OP_QUERY) {
    const namespace = readCString(message, HEADER_BYTES + 4);
    const { document } = readDocument(message, namespace.next + 8); // skip numberToSkip, numberToReturn
    const command = typeof document['$query'] === 'object' && document['$query'] !== null ? (document['$query'] as Document) : document;
    return { requestId, opCode, command, database: namespace.value.split('.')[0] ?? 'admin', noReply: false };
  }
  throw new Error(`opcode ${opCode} is not spoken by the mongodb stand-in`);
}

let nextResponseId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(HEADER_BYTES);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(nextResponseId++, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

/** The reply to `request`, in the form it was asked in (OP_MSG, or OP_REPLY for OP_QUERY). */
export function encodeReply(request: Request, reply: Document): Buffer {
  const document = BSON.serialize(reply);
  if (request.opCode === OP_MSG) {
    const prefix = Buffer.alloc(5); // flagBits 0, section kind 0
    return Buffer.concat([header(HEADER_BYTES + prefix.length + document.length, request.requestId, OP_MSG), prefix, document]);
  }
  const fields = Buffer.alloc(20); // responseFlags, cursorID (int64), startingFrom, numberReturned
  fields.writeInt32LE(1, 16);
  return Buffer.concat([header(HEADER_BYTES + fields.length + document.length, request.requestId, OP_REPLY), fields, document]);
}
