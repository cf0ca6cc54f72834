import { IsOptional, IsUrl, Length, MaxLength, ValidateNested } from 'class-validator';
import { Field, InputType, ObjectType } from 'type-graphql';
import { User } from '../db/entities/user.entity';

@InputType({ description: 'Profile fields the mini-program got from the user (optional).' })
export class WechatUserInfoInput {
  @Field({ nullable: true })
  @IsOptional()
  @Length(1, 64)
  nickName?: string;

  @Field({ nullable: true })
  @IsOptional()
  @MaxLength(512)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true }, { message: 'avatarUrl must be an http(s) URL' })
  avatarUrl?: string;
}

@InputType()
export class WechatLoginInput {
  @Field({ description: 'The code from wx.login(); single use.' })
  @Length(1, 128)
  code!: string;

  @Field(() => WechatUserInfoInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  userInfo?: WechatUserInfoInput;
}

@ObjectType()
export class AuthPayload {
  @Field({ description: 'Send as "Authorization: Bearer <token>".' })
  token!: string;

  @Field()
  expiresAt!: Date;

  @Field(() => User)
  userInfo!: User;
}

@InputType({ description: 'Only the fields given are changed.' })
export class UpdateSettingsInput {
  @Field({ nullable: true })
  isDarkMode?: boolean;

  @Field({ nullable: true })
  autoRead?: boolean;

  @Field({ nullable: true })
  saveHistory?: boolean;
}
