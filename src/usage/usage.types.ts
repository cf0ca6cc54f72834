import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum UsageGroupingValue {
  DAY = 'DAY',
  MODEL = 'MODEL',
  USER = 'USER',
}

registerEnumType(UsageGroupingValue, {
  name: 'UsageGrouping',
  description: 'How a usage report groups calls: by day (Asia/Shanghai, UTC+8; key YYYY-MM-DD), by model id, or by user id.',
});

@ObjectType({ description: 'One group of a usage report; money in fen.' })
export class UsageRow {
  @Field({ description: 'The day (YYYY-MM-DD, Asia/Shanghai), model id or user id; "total" for the total.' })
  key!: string;

  @Field(() => Int, { description: 'Billable calls: replies (whatever their outcome), transcriptions, speech syntheses.' })
  requests!: number;

  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => Int)
  reasoningTokens!: number;

  @Field(() => Int, { description: 'Fen debited (the ledger’s AI_USAGE rows); 0 for free models and failed replies.' })
  cost!: number;

  @Field(() => Int, { nullable: true, description: 'Fen of orders paid in the period (adminUsage grouped by DAY or USER only; else null).' })
  revenue!: number | null;
}

@ObjectType({ description: 'Usage over a period [from, to), grouped.' })
export class UsageReport {
  @Field(() => [UsageRow], { description: 'Groups in key order; groups without calls are left out.' })
  rows!: UsageRow[];

  @Field(() => UsageRow)
  total!: UsageRow;
}
