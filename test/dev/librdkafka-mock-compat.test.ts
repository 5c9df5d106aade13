import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { applyLibrdkafkaMockCompat } from '../../src/kafka/librdkafka-mock-compat.js';

const require = createRequire(import.meta.url);

function methodOf(path: string, name: string): unknown {
  const loaded: unknown = require(path);
  const prototype: unknown = typeof loaded === 'function' ? loaded.prototype : undefined;
  return typeof prototype === 'object' && prototype !== null ? Reflect.get(prototype, name) : undefined;
}

// The SyncGroup re-labelling is proven end to end in local-broker.test.ts (a second process
// joining a running group); unpatched, that child crashes with INVALID_REQUEST every time.
test('applying the compat patch twice patches once', () => {
  const before = methodOf('kafkajs/src/broker/index.js', 'syncGroup');
  applyLibrdkafkaMockCompat();
  const cluster = methodOf('kafkajs/src/cluster/index.js', 'findControllerBroker');
  const broker = methodOf('kafkajs/src/broker/index.js', 'syncGroup');
  assert.notEqual(broker, before);
  applyLibrdkafkaMockCompat();
  assert.equal(methodOf('kafkajs/src/cluster/index.js', 'findControllerBroker'), cluster);
  assert.equal(methodOf('kafkajs/src/broker/index.js', 'syncGroup'), broker);
});
