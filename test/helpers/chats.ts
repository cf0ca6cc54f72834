import { type MessageInput, type SaveChatInput, SaveFullChatDocument, type SavedChatFragment } from '../generated/graphql';
import type { TestApp } from './test-app';

export type SavedChat = SavedChatFragment;

/** Saves a chat through the real mutation and returns it (throws on errors). */
export async function saveChat(t: TestApp, token: string, input: Partial<SaveChatInput>): Promise<SavedChat> {
  const res = await t.gql(SaveFullChatDocument, { input: { messages: [], ...input } }, { token });
  if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.saveChat;
}

export const userSays = (content: string): MessageInput => ({ role: 'USER', content });
export const aiSays = (content: string): MessageInput => ({ role: 'ASSISTANT', content });
