// A fresh, throw-away PostgreSQL database per server under test, plus the master key file that
// Latchkey requires with PostgreSQL. Node 20, ESM, no dependencies: uses the `psql` client.
//
//   const db = await createDatabase();      // { url, masterKeyFile, env, drop() }
//   const stack = await startStack({ env: db.env });
//   ...
//   await stack.stop(); await db.drop();
//
// LATCHKEY_TEST_POSTGRES_URL names the admin connection (default
// postgres://postgres@127.0.0.1:5432/postgres, trust auth); each database is created next to it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ADMIN_URL = process.env.LATCHKEY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function psql(sql, { timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile('psql', [ADMIN_URL, '-v', 'ON_ERROR_STOP=1', '-X', '-q', '-c', sql], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        const hint = err.code === 'ENOENT' ? ' (install the PostgreSQL client: apt-get install postgresql-client)' : '';
        reject(new Error(`psql ${JSON.stringify(sql)} failed${hint}: ${err.message}\n${stderr}`));
      } else resolve(stdout);
    });
  });
}

/** Creates an empty database and a 32-byte master key file; `env` is what `startStack` needs. */
export async function createDatabase({ prefix = 'latchkey_test' } = {}) {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  // The name is generated here from [a-z0-9_], so it needs no quoting beyond the identifier quotes.
  await psql(`CREATE DATABASE "${name}"`);
  const keyDir = await mkdtemp(join(tmpdir(), 'latchkey-pg-key-'));
  const masterKeyFile = join(keyDir, 'master.key');
  await writeFile(masterKeyFile, randomBytes(32), { mode: 0o600 });
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    masterKeyFile,
    env: { LATCHKEY_DATABASE_URL: url.toString(), LATCHKEY_MASTER_KEY_FILE: masterKeyFile },
    /** Drops the database (even if a stray connection is still open) and the key file. */
    async drop() {
      if (dropped) return;
      dropped = true;
      await psql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => rm(keyDir, { recursive: true, force: true }));
    },
  };
}

/** Is the admin connection usable? (lets a runner report a missing server clearly) */
export async function postgresAvailable() {
  try {
    await psql('SELECT 1', { timeoutMs: 5000 });
    return true;
  } catch {
    return false;
  }
}
