import { ApiKey } from './api-key.entity';
import { RevokedToken } from './revoked-token.entity';
import { User, UserSettings } from './user.entity';

/** Every entity, in one list for MikroORM discovery. */
export const ENTITIES = [User, UserSettings, ApiKey, RevokedToken] as const;
