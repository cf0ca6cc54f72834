import GraphQLUpload from 'graphql-upload/GraphQLUpload.mjs';
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { AppContext } from '../context';
import { ImportFormat } from './chat-import-formats';
import { ImportResult } from './chat-import.types';

@Resolver()
export class ChatImportResolver {
  @Authorized()
  @Mutation(() => ImportResult, {
    description:
      "Imports chats from a file (multipart request) as new chats of yours: this server's export (NATIVE) or ChatGPT's conversations.json (CHATGPT). Each chat is checked and written on its own; those refused are listed in failed. REST: POST /v1/chats/import",
  })
  importChats(
    @Arg('file', () => GraphQLUpload) file: Promise<FileUpload>,
    @Ctx() ctx: AppContext,
    @Arg('format', () => ImportFormat, { nullable: true, defaultValue: ImportFormat.NATIVE }) format: ImportFormat | null,
  ): Promise<ImportResult> {
    return ctx.services.chatImport.import(ctx.viewer!, file, format ?? ImportFormat.NATIVE);
  }
}
