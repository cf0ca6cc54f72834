import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { UsageGroupingValue, UsageReport } from './usage.types';

@Resolver()
export class UsageResolver {
  @Authorized()
  @Query(() => UsageReport, { description: 'Your billable calls in [from, to) (at most 366 days), grouped; revenue is null. BAD_REQUEST / INVALID_RANGE for a bad period.' })
  myUsage(
    @Arg('from') from: Date,
    @Arg('to') to: Date,
    @Arg('groupBy', () => UsageGroupingValue, { nullable: true, defaultValue: UsageGroupingValue.DAY }) groupBy: UsageGroupingValue | null,
    @Ctx() ctx: AppContext,
  ): Promise<UsageReport> {
    return ctx.services.usage.mine(ctx.viewer!, from, to, groupBy ?? UsageGroupingValue.DAY);
  }

  @Authorized('ADMIN')
  @Query(() => UsageReport, { description: 'Everyone’s billable calls in [from, to), grouped, with revenue (paid orders) by DAY or USER. Admins only.' })
  adminUsage(
    @Arg('from') from: Date,
    @Arg('to') to: Date,
    @Arg('groupBy', () => UsageGroupingValue, { nullable: true, defaultValue: UsageGroupingValue.DAY }) groupBy: UsageGroupingValue | null,
    @Ctx() ctx: AppContext,
  ): Promise<UsageReport> {
    return ctx.services.usage.everyone(from, to, groupBy ?? UsageGroupingValue.DAY);
  }
}
