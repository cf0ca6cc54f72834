import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ImportFormat } from './chat-import-formats';

registerEnumType(ImportFormat, {
  name: 'ChatImportFormat',
  valuesConfig: {
    NATIVE: { description: "This server's export (GET /v1/chats/export?format=json)." },
    CHATGPT: { description: "ChatGPT's conversations.json (from its data export): the visible branch of each conversation, text only." },
  },
});

@ObjectType({ description: 'A chat of the file that was not imported.' })
export class ImportFailure {
  @Field(() => Int, { description: 'Its place in the file, from 0.' })
  index!: number;

  @Field(() => String, { nullable: true })
  title!: string | null;

  @Field({ description: 'A details.reason of docs/errors.md: CONTENT_BLOCKED, TOO_LONG, TOO_MANY, EMPTY, INVALID_TEXT, INVALID (the entry is not a chat of the format), ...' })
  reason!: string;
}

@ObjectType()
export class ImportResult {
  @Field(() => Int, { description: 'How many chats were imported (as new chats).' })
  imported!: number;

  @Field(() => [ImportFailure])
  failed!: ImportFailure[];
}
