import { OptionalProps, Embeddable, Embedded, Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { newId } from '../../core/ids';

/** ADMIN: an operator; granted and revoked only by the `npm run admin` command, never by an API. */
export enum UserRole {
  USER = 'USER',
  ADMIN = 'ADMIN',
}
registerEnumType(UserRole, { name: 'UserRole', description: 'ADMIN may use the admin* operations (with a login token).' });

@Embeddable()
@ObjectType({ description: 'Preferences the apps sync across devices.' })
export class UserSettings {
  @Field()
  @Property({ type: 'boolean', default: false })
  isDarkMode: boolean = false;

  @Field({ description: 'Read replies aloud.' })
  @Property({ type: 'boolean', default: false })
  autoRead: boolean = false;

  @Field({ description: 'Store chats on the server; when false nothing of an exchange is stored.' })
  @Property({ type: 'boolean', default: true })
  saveHistory: boolean = true;
}

/**
 * A person, keyed by WeChat `unionid` when WeChat gives one, else by (appId, openid).
 * The latest `session_key` is kept only encrypted (`sessionKeyEnc`), for virtual payment's signature.
 */
@Entity({ tableName: 'users' })
@Unique({ properties: ['appId', 'openid'] })
@ObjectType()
export class User {
  [OptionalProps]?: 'settings' | 'balance' | 'held' | 'role' | 'createdAt' | 'updatedAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  /** The mini-program the openid belongs to ('local' for development logins). An exact key (binary collation on MySQL): see exact-keys.ts. */
  @Property({ type: 'string', length: 64 })
  appId!: string;

  /** An exact key (binary collation on MySQL): see exact-keys.ts. */
  @Field()
  @Property({ type: 'string', length: 128 })
  openid!: string;

  /** An exact key (binary collation on MySQL): see exact-keys.ts. */
  @Unique()
  @Property({ type: 'string', length: 128, nullable: true })
  unionid?: string | null;

  @Field()
  @Property({ type: 'string', length: 64 })
  nickName!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 512, nullable: true })
  avatar?: string | null;

  @Field(() => UserSettings)
  @Embedded(() => UserSettings, { prefix: 'settings_' })
  settings: UserSettings = new UserSettings();

  /** The latest WeChat `session_key`, AES-256-GCM under DATA_ENCRYPTION_KEY (src/core/data-cipher.ts); never exposed, never logged. */
  @Property({ type: 'text', nullable: true, hidden: true, lazy: true })
  sessionKeyEnc?: string | null;

  @Field(() => Int, { description: 'Balance in fen (CNY cents).' })
  @Property({ type: 'integer', default: 0 })
  balance: number = 0;

  /**
   * Fen of `balance` reserved by priced replies still running (reply_holds): a new reply
   * starts only when `balance - held` covers its hold, so concurrent replies never overdraw.
   */
  @Property({ type: 'integer', default: 0 })
  held: number = 0;

  /** Plain varchar, not a DB enum, as elsewhere; checked against the database on every admin call (src/admin/admin-access.ts). */
  @Field(() => UserRole)
  @Property({ type: 'string', length: 8, default: 'USER' })
  role: UserRole = UserRole.USER;

  /** Set when repeated content violations suspend the user; the suspension ends by itself at this time. */
  @Field(() => Date, { nullable: true, description: 'While in the future, sending messages and saving chats are refused (FORBIDDEN / ACCOUNT_SUSPENDED) after repeated content violations.' })
  @Property({ type: 'datetime', length: 3, nullable: true })
  suspendedUntil?: Date | null;

  /**
   * Set when the user deleted the account: the row stays only as the anonymous owner of
   * payment orders and ledger rows (accounting records must be kept); everything personal
   * is gone and no credential of it is accepted.
   */
  @Property({ type: 'datetime', length: 3, nullable: true })
  deletedAt?: Date | null;

  @Field()
  @Index()
  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
