import type { RestChatFragment } from '../rest/generated/graphql';
import { ChatDocument, ChatsDocument, DeleteAllChatsDocument, DeleteChatsDocument, RateMessageDocument, SaveChatDocument, SearchChatsDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { bool, int, nullableStr, str } from '../rest/schemas';

const ROLE_FROM_REST = { user: 'USER', assistant: 'ASSISTANT', system: 'SYSTEM' } as const;

const messageSchema = {
  type: 'object',
  properties: { id: str, role: { type: 'string', enum: ['user', 'assistant', 'system'] }, content: str, aiGenerated: bool, status: str, model: nullableStr, timestamp: str },
};
const chatSchema = {
  type: 'object',
  properties: {
    id: str,
    title: str,
    messages: { type: 'array', items: messageSchema },
    preview: str,
    category: str,
    tags: { type: 'array', items: str },
    isStarred: bool,
    messageCount: int,
    createdAt: str,
    updatedAt: str,
  },
};
const pageQuery = { first: { type: 'integer', default: 20 }, after: str };

/** A chat as REST clients know it: lowercase roles, messages oldest first. */
function toRestChat(chat: RestChatFragment) {
  return { ...chat, messages: chat.messages.map((m) => ({ ...m, role: m.role.toLowerCase() })) };
}

function pageHeaders(page: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor?: string | null } }) {
  return {
    'x-total-count': String(page.totalCount),
    'x-next-cursor': page.pageInfo.hasNextPage && page.pageInfo.endCursor ? page.pageInfo.endCursor : undefined,
  };
}

/** Chats: list, search, open, save, delete. */
export const CHAT_ROUTES = [
  defineRoute({
    method: 'GET',
    path: '/v1/chats',
    summary: 'Your chats, newest activity first (X-Total-Count; X-Next-Cursor when there is more)',
    operation: ChatsDocument,
    schema: {
      querystring: { type: 'object', properties: { ...pageQuery, category: str, tag: str, starred: bool } },
      data: { type: 'array', items: chatSchema },
    },
    toVariables: ({ query }) => ({
      first: query.first as number,
      after: query.after as string | undefined,
      filter: { category: query.category as string | undefined, tag: query.tag as string | undefined, starred: query.starred as boolean | undefined },
    }),
    toData: (data) => data.chats.nodes.map(toRestChat),
    headers: (data) => pageHeaders(data.chats),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/chats/search',
    summary: 'Chats whose title, tags or messages contain q (X-Total-Count; X-Next-Cursor)',
    operation: SearchChatsDocument,
    schema: {
      querystring: { type: 'object', required: ['q'], properties: { q: str, ...pageQuery } },
      data: { type: 'array', items: chatSchema },
    },
    toVariables: ({ query }) => ({ query: query.q as string, first: query.first as number, after: query.after as string | undefined }),
    toData: (data) => data.searchChats.nodes.map(toRestChat),
    headers: (data) => pageHeaders(data.searchChats),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/chats/:id',
    summary: 'One of your chats',
    operation: ChatDocument,
    schema: { params: { type: 'object', properties: { id: str } }, data: chatSchema },
    toVariables: ({ params }) => ({ id: params.id }),
    toData: (data) => toRestChat(data.chat),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/chats',
    summary: 'Create a chat, or replace one of yours when id is given',
    operation: SaveChatDocument,
    schema: {
      body: {
        type: 'object',
        required: ['messages'],
        properties: {
          id: str,
          title: str,
          messages: {
            type: 'array',
            items: { type: 'object', required: ['role', 'content'], properties: { role: { type: 'string', enum: ['user', 'assistant', 'system'] }, content: str, timestamp: str } },
          },
          category: str,
          tags: { type: 'array', items: str },
          isStarred: bool,
        },
      },
      data: chatSchema,
    },
    toVariables: ({ body }) => {
      const b = body as { id?: string; title?: string; category?: string; tags?: string[]; isStarred?: boolean; messages: Array<{ role: keyof typeof ROLE_FROM_REST; content: string; timestamp?: string }> };
      return {
        input: {
          id: b.id,
          title: b.title,
          category: b.category,
          tags: b.tags,
          isStarred: b.isStarred,
          messages: b.messages.map((m) => ({ role: ROLE_FROM_REST[m.role], content: m.content, timestamp: m.timestamp })),
        },
      };
    },
    toData: (data) => toRestChat(data.saveChat),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/chats',
    summary: 'Delete those of the ids that are your chats; returns how many',
    operation: DeleteChatsDocument,
    schema: {
      body: { type: 'object', required: ['ids'], properties: { ids: { type: 'array', items: str } } },
      data: { type: 'object', properties: { deleted: int } },
    },
    toVariables: ({ body }) => ({ ids: (body as { ids: string[] }).ids }),
    toData: (data) => ({ deleted: data.deleteChats }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/chats/all',
    summary: 'Delete every chat of yours (clear all history); body {"confirm": "DELETE ALL CHATS"}; returns how many',
    operation: DeleteAllChatsDocument,
    schema: {
      body: { type: 'object', required: ['confirm'], properties: { confirm: str } },
      data: { type: 'object', properties: { deleted: int } },
    },
    toVariables: ({ body }) => ({ confirm: (body as { confirm: string }).confirm }),
    toData: (data) => ({ deleted: data.deleteAllChats }),
  }),
  defineRoute({
    method: 'PUT',
    path: '/v1/chat/messages/:messageId/rating',
    summary: 'Rate one of your finished AI replies: {"rating": "up" | "down" | null, "comment"?}; null clears it',
    operation: RateMessageDocument,
    schema: {
      params: { type: 'object', required: ['messageId'], properties: { messageId: str } },
      body: { type: 'object', required: ['rating'], properties: { rating: { type: ['string', 'null'], enum: ['up', 'down', null] }, comment: nullableStr } },
      data: { type: 'object', properties: { id: str, rating: nullableStr, comment: nullableStr } },
    },
    toVariables: ({ params, body }) => {
      const b = body as { rating: 'up' | 'down' | null; comment?: string | null };
      return { messageId: params.messageId, rating: b.rating === null ? null : b.rating === 'up' ? ('UP' as const) : ('DOWN' as const), comment: b.comment ?? null };
    },
    toData: (data) => ({ id: data.rateMessage.id, rating: data.rateMessage.rating?.toLowerCase() ?? null, comment: data.rateMessage.ratingComment ?? null }),
  }),
];
