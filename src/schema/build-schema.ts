import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema } from 'type-graphql';
import { ApiKeyResolver } from '../resolvers/api-key.resolver';
import { AuthResolver } from '../resolvers/auth.resolver';
import { ChatConnectionResolver } from '../resolvers/chat-connection.resolver';
import { ChatResolver } from '../resolvers/chat.resolver';
import { MessageResolver } from '../resolvers/message.resolver';
import { ModelResolver } from '../resolvers/model.resolver';
import { UserResolver } from '../resolvers/user.resolver';
import { authChecker } from './auth-checker';

export const RESOLVERS = [UserResolver, ModelResolver, ChatResolver, ChatConnectionResolver, MessageResolver, AuthResolver, ApiKeyResolver] as const;

export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...RESOLVERS],
    authChecker,
    validate: { forbidUnknownValues: false },
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
  });
}
