import { Field, ID, Int, ObjectType } from 'type-graphql';
import { PageInfo } from '../chats/chat.types';
import type { AdminAudit } from '../db/entities/admin-audit.entity';
import { Message, Rating } from '../db/entities/message.entity';
import type { ModerationEvent } from '../db/entities/moderation-event.entity';
import { User } from '../db/entities/user.entity';
import { Order } from '../payments/payment.types';

@ObjectType()
export class UserConnection {
  @Field(() => [User])
  nodes!: User[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType('ModerationEvent', { description: 'A content-security hit (admins). The text itself is not kept: an excerpt around the hit and its hash.' })
export class ModerationEventView {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: 'Null only for a first login nickname, refused before the account existed.' })
  userId!: string | null;

  @Field({ description: 'INPUT (text a user sent) or OUTPUT (text a model wrote).' })
  stage!: string;

  @Field({ description: 'keywords, webhook or wechat.' })
  engine!: string;

  @Field({ description: 'BLOCK (a strike) or MASK.' })
  action!: string;

  @Field()
  labels!: string;

  @Field(() => String, { nullable: true })
  field!: string | null;

  @Field(() => ID, { nullable: true })
  messageId!: string | null;

  @Field()
  excerpt!: string;

  @Field()
  createdAt!: Date;
}

@ObjectType()
export class ModerationEventConnection {
  @Field(() => [ModerationEventView])
  nodes!: ModerationEventView[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType({ description: "A user's rating of an AI reply (admins)." })
export class MessageRating {
  @Field(() => Message)
  message!: Message;

  @Field(() => ID)
  userId!: string;

  @Field(() => Rating)
  rating!: Rating;

  @Field(() => String, { nullable: true })
  comment!: string | null;

  @Field()
  ratedAt!: Date;
}

@ObjectType()
export class MessageRatingConnection {
  @Field(() => [MessageRating])
  nodes!: MessageRating[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType({ description: 'One operator action. Append-only: no API changes or deletes it.' })
export class AuditEntry {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { nullable: true, description: 'The admin; null for the `npm run admin` command.' })
  adminId!: string | null;

  @Field({ description: 'ADJUST_BALANCE, SUSPEND_USER, REINSTATE_USER, CREATE_REDEEM_CODES, RELOAD_MODELS, GRANT_ADMIN, REVOKE_ADMIN, REFUND_ORDER...' })
  action!: string;

  @Field(() => String, { nullable: true })
  targetType!: string | null;

  @Field(() => String, { nullable: true })
  targetId!: string | null;

  @Field({ description: 'JSON: what was done (amounts in fen, the reason given...).' })
  details!: string;

  @Field()
  createdAt!: Date;
}

@ObjectType()
export class AuditEntryConnection {
  @Field(() => [AuditEntry])
  nodes!: AuditEntry[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType({ description: 'A change of a balance (fen).' })
export class LedgerRow {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'TOPUP, AI_USAGE, ACCOUNT_DELETED, ADMIN_ADJUST, REDEEM...' })
  kind!: string;

  @Field({ description: 'The order, reply, audit entry or redeem code it belongs to.' })
  reference!: string;

  @Field(() => Int, { description: 'Fen: positive credits, negative debits.' })
  amount!: number;

  @Field(() => Int)
  balanceAfter!: number;

  @Field()
  createdAt!: Date;
}

@ObjectType({ description: 'What operators see of an account besides its own fields (User.adminDetail). Money in fen.' })
export class AdminUserDetail {
  @Field(() => Date, { nullable: true, description: 'Set when the user deleted the account.' })
  deletedAt!: Date | null;

  @Field(() => Int)
  chatCount!: number;

  @Field(() => Int, { description: 'AI replies stored.' })
  replyCount!: number;

  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Int, { description: 'Fen charged for AI usage, ever.' })
  spent!: number;

  @Field(() => Int, { description: 'Fen topped up, ever.' })
  toppedUp!: number;

  @Field(() => Int, { description: 'Content-security hits.' })
  moderationHits!: number;

  @Field(() => [Order], { description: 'The 20 newest orders.' })
  recentOrders!: Order[];

  @Field(() => [LedgerRow], { description: 'The 20 newest balance changes.' })
  ledger!: LedgerRow[];
}

export const moderationEventView = (e: ModerationEvent): ModerationEventView => ({
  id: e.id,
  userId: e.userId ?? null,
  stage: e.stage,
  engine: e.engine,
  action: e.action,
  labels: e.labels,
  field: e.field ?? null,
  messageId: e.messageId ?? null,
  excerpt: e.excerpt,
  createdAt: e.createdAt,
});

export const ratingView = (m: Message): MessageRating => ({ message: m, userId: m.userId, rating: m.rating!, comment: m.ratingComment ?? null, ratedAt: m.ratedAt! });

export const auditView = (a: AdminAudit): AuditEntry => ({ id: a.id, adminId: a.adminId ?? null, action: a.action, targetType: a.targetType ?? null, targetId: a.targetId ?? null, details: a.details, createdAt: a.createdAt });
