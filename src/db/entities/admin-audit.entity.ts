import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../core/ids';

/**
 * One operator action, written in the same transaction as the change it records and never
 * changed or deleted afterwards (no API does either): who, what, on what, and the details as
 * JSON (never a secret: redeem codes, tokens and keys stay out of it).
 */
@Entity({ tableName: 'admin_audit' })
// adminAuditLog lists newest first.
@Index({ properties: ['createdAt'] })
export class AdminAudit {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  /** The admin's user id; null for the `npm run admin` command, which runs on the server itself. */
  @Property({ type: 'string', length: 26, nullable: true })
  adminId?: string | null;

  /** e.g. ADJUST_BALANCE, SUSPEND_USER, REINSTATE_USER, CREATE_REDEEM_CODES, RELOAD_MODELS, GRANT_ADMIN, REFUND_ORDER. */
  @Property({ type: 'string', length: 32 })
  action!: string;

  /** USER, ORDER, REDEEM_BATCH, MODELS... */
  @Property({ type: 'string', length: 16, nullable: true })
  targetType?: string | null;

  @Property({ type: 'string', length: 64, nullable: true })
  targetId?: string | null;

  /** JSON. */
  @Property({ type: 'text' })
  details!: string;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}
