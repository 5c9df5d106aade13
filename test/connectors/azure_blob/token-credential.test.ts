import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startAzurite, type Azurite } from '../../support/azurite.js';
import { uniqueName } from '../../support/kafka.js';

/**
 * The DefaultAzureCredential form (accountUrl alone) against Azurite with https and
 * `--oauth basic`: bearer tokens are only sent over TLS, and user-delegation SAS URLs need a
 * token-authenticated getUserDelegationKey. The connector runs in a child process that trusts
 * Azurite's self-signed certificate (test/connectors/azure_blob/fixtures/token-credential-client.ts);
 * a stand-in TokenCredential replaces DefaultAzureCredential, which would look for a real identity.
 */

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/token-credential-client.js', import.meta.url));

let dir = '';
let azurite: Azurite | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'terra-fanout-azurite-tls-'));
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
  azurite = await startAzurite({ https: true, args: ['--oauth', 'basic', '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')] });
});

after(async () => {
  await azurite?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('azure_blob with a token credential (DefaultAzureCredential form) against Azurite over https + OAuth', () => {
  it('checks, delivers, signs user-delegation SAS URLs Azurite honours, and reports refused or missing identities as auth failures', async () => {
    assert.ok(azurite !== undefined);
    const container = uniqueName('entra');
    const { stdout } = await run(process.execPath, [fixture, azurite.accountUrl, container], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, timeout: 60_000 });
    const report = JSON.parse(stdout.trim()) as Record<string, unknown>;
    assert.equal(report['error'], undefined, String(report['error']));
    assert.equal(report['checked'], true);
    assert.deepEqual(report['sent'], [true, true, true]);
    assert.deepEqual(report['stored'], [
      'entra/2022-03-16/activity/entra-user-2026-07-01T06:00:00Z.json',
      'entra/2022-03-16/activity/entra-user-2026-07-01T06:01:00Z.json',
      'entra/2022-03-16/activity/entra-user-2026-07-01T06:02:00Z.json',
    ]);
    // skoid/sktid/ske...: the SAS is signed with a user-delegation key, not an account key.
    const parameters = report['sasParameters'];
    assert.ok(Array.isArray(parameters));
    for (const name of ['skoid', 'sktid', 'ske', 'sp', 'se', 'sig']) assert.ok(parameters.includes(name), `${name} in the SAS`);
    assert.equal(report['fetchStatus'], 200);
    assert.equal(report['fetchedSameBytes'], true);
    assert.equal(report['tamperedStatus'], 403);
    assert.equal(report['expiredStatus'], 403);
    const refused = report['refused'] as { code: string; message: string };
    assert.equal(refused.code, 'destination_auth_failed');
    assert.match(refused.message, /Storage Blob Data Contributor/);
    const unavailable = report['unavailable'] as { code: string; message: string };
    assert.equal(unavailable.code, 'destination_auth_failed');
    assert.match(unavailable.message, /DefaultAzureCredential got no token/);
  });
});
