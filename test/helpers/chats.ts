import type { TestApp } from './test-app';

export const CHAT_FIELDS = 'id title preview category tags isStarred createdAt updatedAt messageCount messages { id chatId role content status timestamp }';
export const SAVE = `mutation($input: SaveChatInput!) { saveChat(input: $input) { ${CHAT_FIELDS} } }`;
export const LIST = `query($first: Int, $after: String, $filter: ChatFilter) { chats(first: $first, after: $after, filter: $filter) { nodes { id title } pageInfo { hasNextPage endCursor } totalCount } }`;
export const SEARCH = `query($q: String!, $first: Int, $after: String) { searchChats(query: $q, first: $first, after: $after) { nodes { id title } pageInfo { hasNextPage endCursor } totalCount } }`;

export interface SavedChat {
  id: string;
  title: string;
  preview: string;
  category: string;
  tags: string[];
  isStarred: boolean;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
  messages: Array<{ id: string; chatId: string; role: string; content: string; status: string; timestamp: string }>;
}

/** Saves a chat through the real mutation and returns it (throws on errors). */
export async function saveChat(t: TestApp, token: string, input: Record<string, unknown>): Promise<SavedChat> {
  const res = await t.gql<{ saveChat: SavedChat }>(SAVE, { input: { messages: [], ...input } }, { token });
  if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.saveChat;
}

export const userSays = (content: string) => ({ role: 'USER', content });
export const aiSays = (content: string) => ({ role: 'ASSISTANT', content });
