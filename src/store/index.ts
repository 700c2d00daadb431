/**
 * Opens the Store the configuration names. Each implementation is imported only when chosen, so
 * a SQLite deployment never loads `pg` and a PostgreSQL one never loads the native SQLite binding.
 */
import type { Store } from './types.js';

export type StorageOptions = { driver: 'sqlite'; path: string } | { driver: 'postgres'; url: string; poolSize?: number };

export async function openStore(storage: StorageOptions): Promise<Store> {
  switch (storage.driver) {
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqlite/index.js');
      return openSqliteStore({ path: storage.path });
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/index.js');
      return openPostgresStore({ url: storage.url, poolSize: storage.poolSize });
    }
  }
}
