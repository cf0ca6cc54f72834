import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AppContext } from '../context';
import type { PaymentOrder } from '../db/entities/payment-order.entity';
import { Rating } from '../db/entities/message.entity';
import { User } from '../db/entities/user.entity';
import { AiModel } from '../models/model.types';
import { Order, OrderConnection, orderView, PaymentMethodValue, PaymentStateValue } from '../payments/payment.types';
import { AdminUserDetail, AuditEntryConnection, auditView, MessageRatingConnection, ModerationEventConnection, moderationEventView, ratingView, UserConnection } from './admin.types';
import type { AdminPage } from './paging';

const pageInfo = <T>(p: AdminPage<T>) => ({ hasNextPage: p.hasNextPage, endCursor: p.endCursor });
/** An explicit null means the default, as `Int = 20` promises. */
const size = (first: number | null) => first ?? 20;
/** An order as admins see it: the user's own view plus whose it is. */
type AdminOrder = Order & { userId?: string };
const adminOrderView = (o: PaymentOrder): AdminOrder => ({ ...orderView(o), userId: o.user.id });

/** The operators' API. Every field needs an admin's login token (auth-checker.ts, admin/admin-access.ts). */
@Resolver()
export class AdminResolver {
  @Authorized('ADMIN')
  @Query(() => UserConnection, { description: 'Admins: users, newest first; query matches an exact id or openid, or part of the nickname.' })
  async adminUsers(
    @Ctx() ctx: AppContext,
    @Arg('query', () => String, { nullable: true }) query: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<UserConnection> {
    const page = await ctx.services.adminQueries.users(query, size(first), after);
    return { nodes: page.nodes, pageInfo: pageInfo(page), totalCount: page.totalCount };
  }

  @Authorized('ADMIN')
  @Query(() => User, { description: 'Admins: one user (deleted ones too); details in adminDetail.' })
  adminUser(@Arg('id', () => ID) id: string, @Ctx() ctx: AppContext): Promise<User> {
    return ctx.services.adminQueries.user(id);
  }

  @Authorized('ADMIN')
  @Query(() => OrderConnection, { description: 'Admins: every order, newest first.' })
  async adminOrders(
    @Ctx() ctx: AppContext,
    @Arg('status', () => PaymentStateValue, { nullable: true }) status: PaymentStateValue | null,
    @Arg('method', () => PaymentMethodValue, { nullable: true }) method: PaymentMethodValue | null,
    @Arg('userId', () => ID, { nullable: true }) userId: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<OrderConnection> {
    const page = await ctx.services.adminQueries.orders({ status, method, userId }, size(first), after);
    return { nodes: page.nodes.map(adminOrderView), pageInfo: pageInfo(page), totalCount: page.totalCount };
  }

  @Authorized('ADMIN')
  @Query(() => ModerationEventConnection, { description: 'Admins: content-security hits, newest first.' })
  async adminModerationEvents(
    @Ctx() ctx: AppContext,
    @Arg('userId', () => ID, { nullable: true }) userId: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<ModerationEventConnection> {
    const page = await ctx.services.adminQueries.moderationEvents(userId, size(first), after);
    return { nodes: page.nodes.map(moderationEventView), pageInfo: pageInfo(page), totalCount: page.totalCount };
  }

  @Authorized('ADMIN')
  @Query(() => MessageRatingConnection, { description: 'Admins: rated replies, most recently rated first.' })
  async adminRatings(
    @Ctx() ctx: AppContext,
    @Arg('rating', () => Rating, { nullable: true }) rating: Rating | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<MessageRatingConnection> {
    const page = await ctx.services.adminQueries.ratings(rating, size(first), after);
    return { nodes: page.nodes.map(ratingView), pageInfo: pageInfo(page), totalCount: page.totalCount };
  }

  @Authorized('ADMIN')
  @Query(() => AuditEntryConnection, { description: 'Admins: the audit log of operator actions, newest first.' })
  async adminAuditLog(
    @Ctx() ctx: AppContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<AuditEntryConnection> {
    const page = await ctx.services.adminQueries.auditLog(size(first), after);
    return { nodes: page.nodes.map(auditView), pageInfo: pageInfo(page), totalCount: page.totalCount };
  }

  @Authorized('ADMIN')
  @Mutation(() => User, { description: 'Admins: grants (amount > 0) or deducts (amount < 0) fen, at most 10,000,000 either way; the balance never goes below zero (FORBIDDEN / INSUFFICIENT_BALANCE). Audited with the reason.' })
  adminAdjustBalance(@Arg('userId', () => ID) userId: string, @Arg('amount', () => Int) amount: number, @Arg('reason') reason: string, @Ctx() ctx: AppContext): Promise<User> {
    return ctx.services.admin.adjustBalance(ctx.viewer!, userId, amount, reason);
  }

  @Authorized('ADMIN')
  @Mutation(() => User, { description: 'Admins: suspends until a future time (sending and saving refused, FORBIDDEN / ACCOUNT_SUSPENDED); until null reinstates. Audited with the reason.' })
  adminSuspendUser(@Arg('userId', () => ID) userId: string, @Arg('until', () => Date, { nullable: true }) until: Date | null, @Arg('reason') reason: string, @Ctx() ctx: AppContext): Promise<User> {
    return ctx.services.admin.suspend(ctx.viewer!, userId, until ?? null, reason);
  }

  @Authorized('ADMIN')
  @Mutation(() => [String], { description: 'Admins: count (1-1000) one-use codes worth amount fen (1-10,000,000) each. The codes are shown only here, once: the server keeps only their hashes.' })
  adminCreateRedeemCodes(
    @Arg('amount', () => Int) amount: number,
    @Arg('count', () => Int) count: number,
    @Arg('expiresAt', () => Date, { nullable: true }) expiresAt: Date | null,
    @Arg('note', () => String, { nullable: true }) note: string | null,
    @Ctx() ctx: AppContext,
  ): Promise<string[]> {
    return ctx.services.redeem.create(ctx.viewer!, { amount, count, expiresAt, note });
  }

  @Authorized('ADMIN')
  @Mutation(() => [AiModel], { description: "Admins: reads AI_MODELS again and uses it from now on, on this instance; a file with problems changes nothing (BAD_REQUEST / INVALID_MODEL_CATALOG)." })
  adminReloadModels(@Ctx() ctx: AppContext): Promise<readonly AiModel[]> {
    return ctx.services.admin.reloadModels(ctx.viewer!);
  }
}

/** Admin-only fields on the shared types. */
@Resolver(() => User)
export class AdminUserFieldsResolver {
  @Authorized('ADMIN')
  @FieldResolver(() => AdminUserDetail, { description: 'Admins only: usage, money and recent orders and ledger rows.' })
  async adminDetail(@Root() user: User, @Ctx() ctx: AppContext): Promise<AdminUserDetail> {
    const d = await ctx.services.adminQueries.detail(user);
    return { ...d, recentOrders: d.recentOrders.map(adminOrderView), ledger: d.recentLedger.map((e) => ({ id: e.id, kind: e.kind, reference: e.reference, amount: e.amount, balanceAfter: e.balanceAfter, createdAt: e.createdAt })) };
  }
}

@Resolver(() => Order)
export class AdminOrderFieldsResolver {
  @Authorized('ADMIN')
  @FieldResolver(() => ID, { nullable: true, description: "Admins only: the order's user (in adminOrders and adminDetail; null elsewhere)." })
  userId(@Root() order: AdminOrder): string | null {
    return order.userId ?? null;
  }
}
