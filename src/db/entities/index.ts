import { AdminAudit } from './admin-audit.entity';
import { ApiKey } from './api-key.entity';
import { ChatActivity } from './chat-activity.entity';
import { ChatTag } from './chat-tag.entity';
import { Chat } from './chat.entity';
import { LedgerEntry } from './ledger-entry.entity';
import { Message } from './message.entity';
import { ModerationEvent } from './moderation-event.entity';
import { PaymentOrder } from './payment-order.entity';
import { PaymentRefund } from './payment-refund.entity';
import { ReconciliationDiff } from './reconciliation-diff.entity';
import { ReconciliationRun } from './reconciliation-run.entity';
import { RedeemCode } from './redeem-code.entity';
import { ReplyHold } from './reply-hold.entity';
import { RevokedToken } from './revoked-token.entity';
import { SpeechClip } from './speech-clip.entity';
import { UsageRecord } from './usage-record.entity';
import { User, UserSettings } from './user.entity';

/** Every entity, in one list for MikroORM discovery. */
export const ENTITIES = [User, UserSettings, ApiKey, RevokedToken, Chat, ChatTag, ChatActivity, Message, PaymentOrder, PaymentRefund, LedgerEntry, ModerationEvent, SpeechClip, UsageRecord, ReplyHold, AdminAudit, RedeemCode, ReconciliationRun, ReconciliationDiff] as const;
