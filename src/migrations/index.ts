/**
 * MySQL migrations in order. `npm run migration:create` writes a new file here and adds it
 * to this list; listing them explicitly lets the same code run from src (tests) and dist.
 */
export const MIGRATIONS = [] as const;
