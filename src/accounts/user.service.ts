import type { EntityManager } from '@mikro-orm/core';
import type { Viewer } from '../core/viewer';
import { User, type UserSettings } from '../db/entities/user.entity';
import { UnauthenticatedError } from '../core/errors';

/** The viewer's own account. */
export class UserService {
  constructor(private readonly em: EntityManager) {}

  /** UNAUTHENTICATED when the account behind a valid credential no longer exists. */
  async me(viewer: Viewer): Promise<User> {
    const user = await this.em.findOne(User, viewer.userId);
    if (!user) throw new UnauthenticatedError('Account not found');
    return user;
  }

  /** Changes only the settings given; returns all of them. */
  async updateSettings(viewer: Viewer, changes: Partial<UserSettings>): Promise<UserSettings> {
    const user = await this.me(viewer);
    for (const key of ['isDarkMode', 'autoRead', 'saveHistory'] as const) {
      const value = changes[key];
      if (typeof value === 'boolean') user.settings[key] = value;
    }
    await this.em.flush();
    return user.settings;
  }
}
