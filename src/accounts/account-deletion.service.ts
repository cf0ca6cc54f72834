import type { EntityManager } from '@mikro-orm/core';
import { removeChats, removeChatsWhere } from '../chats/chat-removal';
import { checkConfirmation } from '../core/confirmation';
import { UnauthenticatedError } from '../core/errors';
import { requireLoginToken, type Viewer } from '../core/viewer';
import { ApiKey } from '../db/entities/api-key.entity';
import { Chat } from '../db/entities/chat.entity';
import { ModerationEvent } from '../db/entities/moderation-event.entity';
import { User, UserSettings } from '../db/entities/user.entity';
import { changeBalance } from '../payments/ledger';
import { type LiveSessions, userSessionKey } from './live-sessions';

/** What deleteAccount must be sent, word for word. */
export const DELETE_ACCOUNT_PHRASE = 'DELETE MY ACCOUNT';

/**
 * Cancelling an account, as WeChat's review and China's personal-information law require:
 * everything personal is erased, every credential stops working at once on every instance,
 * and only the accounting records stay, owned by an anonymous id.
 */
export class AccountDeletionService {
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: LiveSessions,
  ) {}

  /**
   * Deletes the viewer's account. `confirm` must be DELETE MY ACCOUNT. Needs a login token
   * (an API key cannot delete its owner). Chats and messages (with their ratings and, by
   * foreign key, their stored speech), API keys and moderation records are deleted; the user row
   * keeps only its id (the anonymous owner of payment orders and ledger rows) and the time;
   * a balance left is written off in the ledger. A later login with the same WeChat identity
   * starts a new, empty account.
   */
  async deleteAccount(viewer: Viewer, confirm: string): Promise<true> {
    checkConfirmation(confirm, DELETE_ACCOUNT_PHRASE);
    requireLoginToken(viewer);
    const userId = viewer.userId;
    // Chats first, in short batches (an account can hold many), then the rest at once.
    await removeChatsWhere(this.em, { user: userId });
    await this.em.fork().transactional(async (tx) => {
      const user = await tx.findOne(User, { id: userId, deletedAt: null });
      if (!user) throw new UnauthenticatedError('Account not found');
      // Chats saved while the batches ran go too (few: the batches took the rest).
      await removeChats(tx, (await tx.find(Chat, { user: userId }, { fields: ['id'] })).map((c) => c.id));
      await tx.nativeDelete(ApiKey, { user: userId });
      await tx.nativeDelete(ModerationEvent, { userId });
      if (user.balance > 0) await changeBalance(tx, { userId, kind: 'ACCOUNT_DELETED', reference: userId, amount: -user.balance });
      await tx.nativeUpdate(User, { id: userId }, {
        appId: 'deleted',
        openid: `deleted:${userId}`,
        unionid: null,
        sessionKeyEnc: null,
        nickName: '',
        avatar: null,
        settings: new UserSettings(),
        suspendedUntil: null,
        deletedAt: new Date(),
      });
    });
    // The database refuses every token and key of the account from now on (the authenticator
    // checks the row on each request); open sockets are closed here and on every instance.
    this.sessions.revoke(userSessionKey(userId), 'Account deleted');
    return true;
  }
}
