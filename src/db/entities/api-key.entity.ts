import { OptionalProps, Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { newId } from '../../core/ids';
import { User } from './user.entity';

/** A long-lived credential for scripts. Only a SHA-256 of the secret is stored. */
@Entity({ tableName: 'api_keys' })
@Index({ properties: ['user', 'revokedAt'] })
@ObjectType()
export class ApiKey {
  [OptionalProps]?: 'createdAt';

  @Field(() => ID)
  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Field()
  @Property({ type: 'string', length: 64 })
  name!: string;

  @Field({ description: 'The first characters of the secret, to tell keys apart.' })
  @Property({ type: 'string', length: 16 })
  prefix!: string;

  /** hex SHA-256 of the secret: the secret has 256 random bits, so no slow hash is needed. */
  @Unique()
  @Property({ type: 'string', length: 64 })
  secretHash!: string;

  @Field()
  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ type: 'datetime', length: 3, nullable: true })
  lastUsedAt?: Date | null;

  @Property({ type: 'datetime', length: 3, nullable: true })
  revokedAt?: Date | null;
}
