'use strict';
// The sample app's release command (`npm run migrate`, berth:releaseCommand): run once per release, before any
// replica of the new version starts. Records the release in Postgres; says whether its secret token arrived (never
// the token itself).
const { Client } = require('pg');

async function main() {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query('CREATE TABLE IF NOT EXISTS releases (id serial PRIMARY KEY, version text NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())');
    const version = process.env.APP_VERSION || 'dev';
    await client.query('INSERT INTO releases (version) VALUES ($1)', [version]);
    const token = process.env.MIGRATION_TOKEN;
    console.log(`migrated: release ${version} recorded; MIGRATION_TOKEN ${token ? `set (${token.length} characters)` : 'not set'}`);
  } finally {
    await client.end();
  }
}

main().catch((err) => {
  console.error(`migration failed: ${err.message}`);
  process.exit(1);
});
