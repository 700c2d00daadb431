/**
 * Finding and reading the plain-SQL migrations of one dialect. Applying them is dialect work
 * (locking differs), so each implementation does that itself with what this module returns.
 *
 * Migrations live next to their implementation in `src/store/<dialect>/migrations/NNN_name.sql`
 * and are applied in file-name order; the name without `.sql` is what `schema_migrations` records.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  /** The file name without `.sql`, e.g. `001_initial`; recorded in `schema_migrations`. */
  version: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d{3}_[a-z0-9_]+)\.sql$/;

/**
 * The migrations folder of `dialect`, given the `import.meta.url` of that dialect's module.
 * Under tsx the module sits in src/ and its `./migrations/` folder is right there. After `tsc`
 * the module sits in dist/, where no .sql file is copied, so we walk up to the package root (the
 * folder holding package.json) and use `src/store/<dialect>/migrations` from there.
 */
export function migrationsDir(moduleUrl: string, dialect: Dialect): string {
  const beside = resolve(fileURLToPath(new URL('./migrations/', moduleUrl)));
  if (isDirectory(beside)) return beside;
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) {
      const fromRoot = join(dir, 'src', 'store', dialect, 'migrations');
      if (isDirectory(fromRoot)) return fromRoot;
      break;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`no ${dialect} migrations folder: neither ${beside} nor src/store/${dialect}/migrations under the package root`);
}

/** Every migration in `dir`, in the order it must be applied. */
export function readMigrations(dir: string): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = MIGRATION_FILE.exec(file);
    if (!match?.[1]) {
      // A misnamed file would otherwise be skipped silently and its schema never applied.
      throw new Error(`unexpected file in ${dir}: ${file} (migrations are named NNN_name.sql)`);
    }
    migrations.push({ version: match[1], sql: readFileSync(join(dir, file), 'utf8') });
  }
  return migrations;
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
