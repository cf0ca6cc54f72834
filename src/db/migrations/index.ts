import { Migration20261120231937 } from './Migration20261120231937';
import { Migration20261120235456 } from './Migration20261120235456';
import { Migration20261121022225 } from './Migration20261121022225';
import { Migration20261203124324 } from './Migration20261203124324';
import { Migration20261203130325 } from './Migration20261203130325';
import { Migration20261203132400 } from './Migration20261203132400';
import { Migration20261203134852 } from './Migration20261203134852';
import { Migration20261203155141 } from './Migration20261203155141';
import { Migration20261203163031 } from './Migration20261203163031';
import { Migration20261203171611 } from './Migration20261203171611';

/**
 * MySQL migrations in order. `npm run migration:create` writes a new file here and adds it
 * to this list; listing them explicitly lets the same code run from src (tests) and dist.
 */
export const MIGRATIONS = [{ name: 'Migration20261120231937', class: Migration20261120231937 }, { name: 'Migration20261120235456', class: Migration20261120235456 }, { name: 'Migration20261121022225', class: Migration20261121022225 }, { name: 'Migration20261203124324', class: Migration20261203124324 }, { name: 'Migration20261203130325', class: Migration20261203130325 }, { name: 'Migration20261203132400', class: Migration20261203132400 }, { name: 'Migration20261203134852', class: Migration20261203134852 }, { name: 'Migration20261203155141', class: Migration20261203155141 }, { name: 'Migration20261203163031', class: Migration20261203163031 }, { name: 'Migration20261203171611', class: Migration20261203171611 }] as const;
