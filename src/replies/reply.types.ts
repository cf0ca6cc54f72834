import { IsOptional, Length } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Message } from '../db/entities/message.entity';
import { MessageInput } from '../chats/chat.types';

/** The idempotency key every request for a reply (send, regenerate, edit) takes. */
function ClientMessageIdField(): PropertyDecorator {
  return (target, key) => {
    Field({ nullable: true, description: 'Idempotency key: a retry with the same key returns the same reply.' })(target, key);
    IsOptional()(target, key);
    Length(1, 64)(target, key);
  };
}

/** Whether a request for a reply waits for it or returns at once. */
const StreamField = () => Field({ nullable: true, defaultValue: false, description: 'false: wait for the whole reply; true: return at once with reply.status = STREAMING.' });

@InputType()
export class SendMessageInput {
  @Field({ description: "The user's message (at most 32,000 characters)." })
  content!: string;

  @Field(() => ID, { nullable: true, description: 'The chat; omitted = a new chat is created.' })
  sessionId?: string;

  @Field(() => ID, { nullable: true, description: 'Omitted = the default model.' })
  modelId?: string;

  @Field(() => [MessageInput], { nullable: true, description: 'Context for clients that keep history themselves (replaces the stored history).' })
  messageHistory?: MessageInput[];

  @ClientMessageIdField()
  clientMessageId?: string;

  @StreamField()
  stream?: boolean;
}

@InputType()
export class RegenerateReplyInput {
  @Field(() => ID, { description: 'The AI reply to generate again, or the user message it answers.' })
  messageId!: string;

  @Field(() => ID, { nullable: true, description: "Omitted = the model of the turn's last reply." })
  modelId?: string;


  @ClientMessageIdField()
  clientMessageId?: string;

  @StreamField()
  stream?: boolean;
}

@InputType()
export class EditMessageInput {
  @Field(() => ID, { description: 'One of your messages: the edit becomes a new version of it.' })
  messageId!: string;

  @Field({ description: 'The new text (at most 32,000 characters).' })
  content!: string;

  @Field(() => ID, { nullable: true, description: "Omitted = the model of the edited message's last reply." })
  modelId?: string;


  @ClientMessageIdField()
  clientMessageId?: string;

  @StreamField()
  stream?: boolean;
}

@ObjectType()
export class ReplyMetadata {
  @Field()
  modelType!: string;

  @Field(() => Int, { description: 'reply.content.length' })
  responseLength!: number;

  @Field(() => Int, { description: 'usage.totalTokens (0 while streaming)' })
  tokensUsed!: number;
}

@ObjectType()
export class SendMessagePayload {
  @Field(() => ID)
  sessionId!: string;

  @Field(() => ID, { description: "The reply's id: follow it with replyStream, stop it with stopGeneration." })
  messageId!: string;

  @Field(() => Message)
  reply!: Message;

  @Field(() => ReplyMetadata)
  metadata!: ReplyMetadata;
}

@ObjectType()
export class ErrorInfo {
  @Field()
  code!: string;

  @Field()
  message!: string;

  @Field(() => String, { nullable: true, description: 'Why: one of the reasons in the error table (e.g. PROVIDER_QUOTA_EXHAUSTED; CONTENT_BLOCKED for a reply withheld by content security, whose code is CONTENT_BLOCKED too).' })
  reason?: string;
}

@ObjectType({ description: 'One step of a streamed reply.' })
export class ReplyEvent {
  @Field(() => ID)
  messageId!: string;

  @Field(() => ID)
  sessionId!: string;

  @Field(() => Int, { description: '1, 2, ... for deltas; the done event follows the last delta (0 when replayed from storage).' })
  seq!: number;

  @Field()
  delta!: string;

  @Field({ description: "The model's reasoning in this step; '' when the event carries none." })
  reasoningDelta!: string;

  @Field()
  done!: boolean;

  @Field(() => Message, { nullable: true, description: 'The final message, on the done event.' })
  message?: Message;

  @Field(() => ErrorInfo, { nullable: true })
  error?: ErrorInfo;
}
