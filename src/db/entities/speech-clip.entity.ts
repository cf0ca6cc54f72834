import { Entity, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../core/ids';
import { Message } from './message.entity';

/**
 * A message read aloud in one voice: the audio is kept in the database (shared by every
 * instance), so playing it again, or from another instance, calls no provider. The foreign key
 * deletes the clips with their message, whichever way the message goes (deleteChats, saveChat
 * replacing a chat's messages).
 */
@Entity({ tableName: 'speech_clips' })
@Unique({ properties: ['message', 'voice'] })
export class SpeechClip {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'string', length: 26 })
  id: string = newId();

  @ManyToOne(() => Message, { deleteRule: 'cascade' })
  message!: Message;

  @Property({ type: 'string', length: 26 })
  userId!: string;

  @Property({ type: 'string', length: 32 })
  voice!: string;

  @Property({ type: 'string', length: 32 })
  mimeType!: string;

  /** From the MP3 frames; null when they could not be read. */
  @Property({ type: 'double', runtimeType: 'number', nullable: true })
  durationSeconds?: number | null;

  /** longblob on MySQL: a long reply is several MB of audio (blob stops at 64 KB). Lazy: only the audio route reads it. */
  @Property({ type: 'blob', columnType: 'longblob', lazy: true })
  bytes!: Buffer;

  @Property({ type: 'datetime', length: 3 })
  createdAt: Date = new Date();
}
