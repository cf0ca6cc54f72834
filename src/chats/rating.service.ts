import type { EntityManager } from '@mikro-orm/core';
import { BadRequestError, NotFoundError, UnauthenticatedError } from '../core/errors';
import { isId } from '../core/ids';
import { checkText } from '../core/text';
import type { Viewer } from '../core/viewer';
import { Message, MessageStatus, type Rating, Role } from '../db/entities/message.entity';
import { User } from '../db/entities/user.entity';
import { authorOf, type ModerationService } from '../moderation/moderation.service';

export const MAX_RATING_COMMENT = 1000;

/** Thumbs up or down on the viewer's AI replies: one rating per reply, replaced or cleared by the next call. */
export class RatingService {
  constructor(
    private readonly em: EntityManager,
    private readonly moderation?: ModerationService,
  ) {}

  /**
   * Sets (or, with `rating` null, clears) the viewer's rating of one of their finished AI
   * replies, with an optional comment that goes through content security like anything else
   * users store. NOT_FOUND for others' or unknown messages; BAD_REQUEST / NOT_RATEABLE for a
   * user's own message or a reply still streaming.
   */
  async rate(viewer: Viewer, messageId: string, rating: Rating | null, comment?: string | null): Promise<Message> {
    const text = comment?.trim() || null;
    if (text !== null) {
      checkText(text, 'comment');
      if ([...text].length > MAX_RATING_COMMENT) throw new BadRequestError(`comment is at most ${MAX_RATING_COMMENT} characters`, { field: 'comment', reason: 'TOO_LONG' });
      if (rating === null) throw new BadRequestError('A comment needs a rating', { field: 'rating', reason: 'REQUIRED' });
    }
    const message = isId(messageId) ? await this.em.findOne(Message, { id: messageId, userId: viewer.userId }) : null;
    if (!message) throw new NotFoundError('Message');
    if (message.role !== Role.ASSISTANT || message.status === MessageStatus.STREAMING) {
      throw new BadRequestError('Only finished AI replies can be rated', { field: 'messageId', reason: 'NOT_RATEABLE' });
    }
    let checked = text;
    if (text !== null && this.moderation) {
      const user = await this.em.findOne(User, viewer.userId);
      if (!user) throw new UnauthenticatedError('Account not found');
      [checked] = await this.moderation.checkInput(authorOf(user), [{ field: 'comment', text }]);
    }
    message.rating = rating;
    message.ratingComment = rating === null ? null : checked;
    message.ratedAt = rating === null ? null : new Date();
    await this.em.flush();
    return message;
  }
}
