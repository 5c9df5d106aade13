/**
 * Test/dev-only compatibility patch that lets kafkajs 2.2.4 run against librdkafka's mock
 * cluster (src/dev/local-broker.ts). Never enable it against a real Kafka cluster.
 *
 * 1. `Cluster.prototype.findControllerBroker`: the mock reports ControllerId 0 in Metadata, but
 *    its broker ids start at 1, so kafkajs fails with "Broker 0 not found in the cached metadata"
 *    (idempotent producer InitProducerId, admin calls). When the controller id is not among the
 *    metadata's brokers, the patch uses the first known broker instead.
 * 2. `Broker.prototype.syncGroup`: the mock marks a group "Up" as soon as the leader's SyncGroup
 *    arrives, and answers a follower's later SyncGroup with INVALID_REQUEST, which kafkajs treats
 *    as fatal (consumer CRASH, no restart). The patch re-labels it REBALANCE_IN_PROGRESS, so the
 *    member rejoins.
 *
 * It reaches into `kafkajs/src/...` internals, which is why kafkajs is pinned to exactly 2.2.4;
 * applying it to any other version throws. Call it before creating any kafkajs client. The worker
 * calls it only when its config says `kafka.librdkafkaMockCompat: true`.
 */
import { createRequire } from 'node:module';

const SUPPORTED_KAFKAJS_VERSION = '2.2.4';
const REBALANCE_IN_PROGRESS_CODE = 27;
/** Marks patched prototypes, so two copies of this module (src and dist) never patch twice. */
const PATCHED = Symbol.for('terra-fanout.librdkafkaMockCompat');

let applied = false;

type AsyncMethod = (this: unknown, ...args: unknown[]) => Promise<unknown>;

interface PatchTarget {
  prototype: object;
  original: AsyncMethod;
}

/**
 * Patches kafkajs (as resolved from this module) for the librdkafka mock. Idempotent: later
 * calls do nothing. Throws if kafkajs is not 2.2.4 or its internals are not where expected.
 */
export function applyLibrdkafkaMockCompat(): void {
  if (applied) return;
  const require = createRequire(import.meta.url);
  const version = readProperty(require('kafkajs/package.json'), 'version');
  if (version !== SUPPORTED_KAFKAJS_VERSION) {
    throw new Error(
      `librdkafka mock compat patch supports kafkajs ${SUPPORTED_KAFKAJS_VERSION} only, found ${String(version)}`,
    );
  }

  const cluster = findMethod(require('kafkajs/src/cluster/index.js'), 'findControllerBroker');
  const broker = findMethod(require('kafkajs/src/broker/index.js'), 'syncGroup');
  const createErrorFromCode = readProperty(require('kafkajs/src/protocol/error.js'), 'createErrorFromCode');
  if (typeof createErrorFromCode !== 'function') {
    throw new Error('kafkajs/src/protocol/error.js has no createErrorFromCode');
  }

  if (!isPatched(cluster.prototype)) {
    const original = cluster.original;
    install(cluster.prototype, 'findControllerBroker', async function findControllerBroker(this: unknown) {
      const fallback = fallbackControllerId(this);
      const findBroker = readProperty(this, 'findBroker');
      if (fallback !== undefined && typeof findBroker === 'function') {
        const found: unknown = await findBroker.call(this, { nodeId: fallback });
        return found;
      }
      return await original.call(this);
    });
  }

  if (!isPatched(broker.prototype)) {
    const original = broker.original;
    install(broker.prototype, 'syncGroup', async function syncGroup(this: unknown, ...args: unknown[]) {
      try {
        return await original.apply(this, args);
      } catch (error) {
        if (readProperty(error, 'type') === 'INVALID_REQUEST') {
          const relabelled: unknown = createErrorFromCode(REBALANCE_IN_PROGRESS_CODE);
          throw relabelled;
        }
        throw error;
      }
    });
  }
  applied = true;
}

/**
 * The node id to use instead of the controller, or undefined when the controller is known (or
 * metadata is not loaded yet, which the original method reports itself).
 */
function fallbackControllerId(cluster: unknown): number | undefined {
  const metadata = readProperty(readProperty(cluster, 'brokerPool'), 'metadata');
  const controllerId = readProperty(metadata, 'controllerId');
  const brokers = readProperty(metadata, 'brokers');
  if (typeof controllerId !== 'number' || !Array.isArray(brokers)) return undefined;
  const nodeIds: number[] = [];
  for (const entry of brokers) {
    const nodeId = readProperty(entry, 'nodeId');
    if (typeof nodeId === 'number') nodeIds.push(nodeId);
  }
  if (nodeIds.includes(controllerId)) return undefined;
  return nodeIds[0];
}

function findMethod(loaded: unknown, name: string): PatchTarget {
  const prototype = readProperty(loaded, 'prototype');
  const method = readProperty(prototype, name);
  if (typeof prototype !== 'object' || prototype === null || typeof method !== 'function') {
    throw new Error(`kafkajs internals changed: ${name} not found on the expected class`);
  }
  const original = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    const result: unknown = await Reflect.apply(method, this, args);
    return result;
  };
  return { prototype, original };
}

function install(prototype: object, name: string, method: AsyncMethod): void {
  Object.defineProperty(prototype, name, { value: method, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(prototype, PATCHED, { value: true, configurable: true, enumerable: false });
}

function isPatched(prototype: object): boolean {
  return Reflect.get(prototype, PATCHED) === true;
}

function readProperty(value: unknown, key: string): unknown {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  return Reflect.get(value, key);
}
