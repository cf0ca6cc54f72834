import { Field, ID, Int, ObjectType } from 'type-graphql';
import { PageInfo } from '../chats/chat.types';
import type { ReconciliationDiff } from '../db/entities/reconciliation-diff.entity';
import { fenToYuanNumber } from './money';

/** One difference between a provider's bill and our records; amounts in yuan, as everywhere on the API. */
@ObjectType({ description: "A difference the daily reconciliation found between a provider's trade bill and our orders and ledger." })
export class ReconciliationDiffView {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: 'The run (one provider, one day) that found it.' })
  runId!: string;

  @Field({ description: 'WECHAT or ALIPAY.' })
  provider!: string;

  @Field({ description: 'The Beijing day (yyyy-MM-dd) of the bill.' })
  billDate!: string;

  @Field()
  outTradeNo!: string;

  @Field({ description: 'MISSING_LOCAL (in the bill, not ours or not paid or credited here), MISSING_REMOTE (paid here, not in the bill), AMOUNT, or STATE (e.g. refunded there, not here).' })
  kind!: string;

  @Field(() => Number, { nullable: true, description: 'Yuan, as we have it; null when we have nothing.' })
  ourAmount!: number | null;

  @Field(() => Number, { nullable: true, description: 'Yuan, as the bill has it; null when the bill has nothing.' })
  theirAmount!: number | null;

  @Field()
  details!: string;

  @Field()
  createdAt!: Date;
}

@ObjectType()
export class ReconciliationConnection {
  @Field(() => [ReconciliationDiffView])
  nodes!: ReconciliationDiffView[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

const yuan = (fen: number | null | undefined) => (fen === null || fen === undefined ? null : fenToYuanNumber(fen));

export function reconciliationDiffView(d: ReconciliationDiff): ReconciliationDiffView {
  return {
    id: d.id,
    runId: d.run.id,
    provider: d.provider,
    billDate: d.run.billDate,
    outTradeNo: d.outTradeNo,
    kind: d.kind,
    ourAmount: yuan(d.ourAmount),
    theirAmount: yuan(d.theirAmount),
    details: d.details,
    createdAt: d.createdAt,
  };
}
