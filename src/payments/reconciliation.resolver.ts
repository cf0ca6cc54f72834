import { Arg, Authorized, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { ReconciliationConnection, reconciliationDiffView } from './reconciliation.types';

/** Operators: what the daily bill reconciliation found (reconciliation.ts). */
@Resolver()
export class ReconciliationResolver {
  @Authorized('ADMIN')
  @Query(() => ReconciliationConnection, { description: "Admins: differences between the providers' daily trade bills and our orders, newest first." })
  async adminReconciliation(
    @Ctx() ctx: AppContext,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<ReconciliationConnection> {
    const page = await ctx.services.reconciliation.list(first ?? 20, after);
    return { nodes: page.nodes.map(reconciliationDiffView), pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor }, totalCount: page.totalCount };
  }
}
