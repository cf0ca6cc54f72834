import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** A logged-out JWT, kept until it would have expired anyway. */
@Entity({ tableName: 'revoked_tokens' })
export class RevokedToken {
  @PrimaryKey({ type: 'string', length: 36 })
  jti!: string;

  @Property({ type: 'string', length: 26 })
  userId!: string;

  @Index()
  @Property({ type: 'datetime', length: 3 })
  expiresAt!: Date;
}
