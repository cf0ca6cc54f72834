import type { EntityManager } from '@mikro-orm/core';
import type { AppDeps } from './deps';
import type { ModelCatalog } from './models/model-catalog';
import { ReplyService } from './replies/reply.service';
import { ApiKeyService } from './accounts/api-key.service';
import { AuthService } from './accounts/auth.service';
import { ChatService } from './chats/chat.service';
import { ChatImportService } from './chats/chat-import';
import { RatingService } from './chats/rating.service';
import { AccountDeletionService } from './accounts/account-deletion.service';
import type { RateLimits } from './limits/rate-limits';
import { PaymentService } from './payments/payment.service';
import { VirtualPayService } from './payments/virtual-pay';
import { DataCipher } from './core/data-cipher';
import type { Refunds } from './payments/refunds';
import { ReconciliationQueries } from './payments/reconciliation';
import type { SpeechService } from './speech/speech.service';
import { SpeakService } from './speech/speak.service';
import { UserService } from './accounts/user.service';
import { UsageReportService } from './usage/usage-report.service';
import { AdminService } from './admin/admin.service';
import { AdminQueries } from './admin/admin-queries.service';
import { RedeemService } from './admin/redeem.service';

/** The services one request can use, each built on first use around the request's EntityManager. */
export class Services {
  private made = new Map<string, unknown>();

  constructor(
    private readonly deps: AppDeps,
    private readonly em: EntityManager,
  ) {}

  private once<T>(name: string, make: () => T): T {
    if (!this.made.has(name)) this.made.set(name, make());
    return this.made.get(name) as T;
  }

  get models(): ModelCatalog {
    return this.deps.catalog;
  }

  get auth(): AuthService {
    return this.once('auth', () => new AuthService(this.em, this.deps.wechatLogin, this.deps.tokens, this.deps.authenticator.sessions, this.deps.authenticator.revocations, this.deps.moderation, this.dataCipher));
  }

  get users(): UserService {
    return this.once('users', () => new UserService(this.em));
  }

  get apiKeys(): ApiKeyService {
    return this.once('apiKeys', () => new ApiKeyService(this.em, this.deps.authenticator.sessions));
  }

  get chats(): ChatService {
    return this.once('chats', () => new ChatService(this.em, this.deps.config.timings.chats.listCursorTtlMs, this.deps.moderation));
  }

  get chatImport(): ChatImportService {
    return this.once('chatImport', () => new ChatImportService(this.em, this.deps.moderation));
  }

  get admin(): AdminService {
    return this.once('admin', () => new AdminService(this.em, { catalog: this.deps.catalog, loadModels: this.deps.config.ai.loadModels }));
  }

  get adminQueries(): AdminQueries {
    return this.once('adminQueries', () => new AdminQueries(this.em));
  }

  get redeem(): RedeemService {
    return this.once('redeem', () => new RedeemService(this.em, this.deps.rateLimits));
  }

  get ratings(): RatingService {
    return this.once('ratings', () => new RatingService(this.em, this.deps.moderation));
  }

  get accountDeletion(): AccountDeletionService {
    return this.once('accountDeletion', () => new AccountDeletionService(this.em, this.deps.authenticator.sessions));
  }

  /** Long-lived (it outlives the request to apply provider answers); admins only, checked inside. */
  /** Admins only: the resolver is behind @Authorized('ADMIN'). */
  get reconciliation(): ReconciliationQueries {
    return this.once('reconciliation', () => new ReconciliationQueries(this.em));
  }

  get refunds(): Refunds {
    return this.deps.payments.refunds;
  }

  get payments(): PaymentService {
    return this.once('payments', () => new PaymentService(this.em, this.deps.payments.settlement, this.deps.payments.pubsub, this.deps.config.timings.payments.orderTtlMs));
  }

  get virtualPay(): VirtualPayService {
    return this.once('virtualPay', () => new VirtualPayService(this.em, this.deps.config.virtualPay, this.dataCipher, this.deps.config.timings.payments.orderTtlMs));
  }

  /** DATA_ENCRYPTION_KEY's cipher (stored session keys); none without the key. */
  private get dataCipher(): DataCipher | undefined {
    const key = this.deps.config.dataEncryptionKey;
    return key ? this.once('dataCipher', () => new DataCipher(key)) : undefined;
  }

  get usage(): UsageReportService {
    return this.once('usage', () => new UsageReportService(this.em));
  }

  get limits(): RateLimits {
    return this.deps.rateLimits;
  }

  get speech(): SpeechService {
    return this.deps.speech;
  }

  get speak(): SpeakService {
    return this.once('speak', () => new SpeakService(this.em, { ...this.deps.tts, rateLimits: this.deps.rateLimits }));
  }

  get replies(): ReplyService {
    return this.once('replies', () =>
      new ReplyService(this.em, {
        runner: this.deps.replies,
        recorder: this.deps.recorder,
        catalog: this.deps.catalog,
        rateLimits: this.deps.rateLimits,
        moderation: this.deps.moderation,
        maxConcurrentStreams: this.deps.config.ai.maxConcurrentStreams,
      }),
    );
  }
}

export function createServices(deps: AppDeps, em: EntityManager): Services {
  return new Services(deps, em);
}
