import { ImportChatsDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { int, str } from '../rest/schemas';

const FORMAT_FROM_REST = { native: 'NATIVE', chatgpt: 'CHATGPT' } as const;

/** POST /v1/chats/import: importChats from a multipart upload. */
export const CHAT_IMPORT_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/v1/chats/import',
    summary:
      "Import chats as new chats of yours: multipart/form-data with the file in \"file\" and a \"format\" field (before the file): native (this server's export, the default) or chatgpt (ChatGPT's conversations.json). Answers how many were imported and which failed, with why",
    operation: ImportChatsDocument,
    upload: 'file',
    schema: {
      data: {
        type: 'object',
        properties: {
          imported: int,
          failed: { type: 'array', items: { type: 'object', properties: { index: int, title: { type: ['string', 'null'] }, reason: str } } },
        },
      },
    },
    toVariables: ({ body, files }) => {
      const format = (body as Record<string, string | undefined>).format?.trim().toLowerCase() || 'native';
      // An unknown format goes through as it is: the GraphQL enum refuses it (BAD_REQUEST).
      return { file: files.file, format: (FORMAT_FROM_REST[format as keyof typeof FORMAT_FROM_REST] ?? format) as 'NATIVE' | 'CHATGPT' };
    },
    toData: (data) => data.importChats,
  }),
];
