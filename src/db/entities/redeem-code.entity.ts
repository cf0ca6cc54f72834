import { Entity, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../core/ids';

/**
 * A redeem code, created by an admin in a batch and used at most once. Only the SHA-256 of
 * the code is kept: the code itself is shown once, to the admin who created it. The codes
 * carry 110 random bits, so an unsalted hash cannot be reversed by guessing.
 */
@Entity({ tableName: 'redeem_codes' })
@Index({ properties: ['batchId'] })
export class RedeemCode {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  /** Hex SHA-256 of the normalised code (src/admin/redeem-code-format.ts). */
  @Unique()
  @Property({ type: 'string', length: 64 })
  codeHash!: string;

  /** Fen credited. */
  @Property({ type: 'integer' })
  amount!: number;

  @Property({ type: 'string', length: 26 })
  batchId!: string;

  @Property({ type: 'string', length: 200, nullable: true })
  note?: string | null;

  @Property({ type: 'string', length: 26 })
  createdBy!: string;

  @Property({ type: 'datetime', length: 3, nullable: true })
  expiresAt?: Date | null;

  /** Set once, by the conditional update that redeems the code. */
  @Property({ type: 'string', length: 26, nullable: true })
  usedBy?: string | null;

  @Property({ type: 'datetime', length: 3, nullable: true })
  usedAt?: Date | null;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}
