import { Migration20261120231937 } from './Migration20261120231937';

/**
 * MySQL migrations in order. `npm run migration:create` writes a new file here and adds it
 * to this list; listing them explicitly lets the same code run from src (tests) and dist.
 */
export const MIGRATIONS = [{ name: 'Migration20261120231937', class: Migration20261120231937 }] as const;
