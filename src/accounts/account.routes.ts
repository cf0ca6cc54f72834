import { DeleteAccountDocument, LogoutDocument, ModelsDocument, UpdateSettingsDocument, UserInfoDocument, WechatLoginDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { bool, nullableStr, str } from '../rest/schemas';


const modelSchema = {
  type: 'object',
  properties: { id: str, name: str, type: str, provider: str, contextWindow: { type: ['integer', 'null'] }, isDefault: bool },
};
const settingsSchema = { type: 'object', properties: { isDarkMode: bool, autoRead: bool, saveHistory: bool } };
const userSchema = {
  type: 'object',
  properties: { id: str, openid: str, nickName: str, avatar: nullableStr, createdAt: str, balance: { type: 'integer' }, settings: settingsSchema },
};

/** Login, the user and the model catalog. */
export const ACCOUNT_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/v1/auth/wechat-login',
    summary: 'Mini-program login with a wx.login() code',
    operation: WechatLoginDocument,
    public: true,
    schema: {
      body: {
        type: 'object',
        required: ['code'],
        properties: {
          code: { type: 'string' },
          userInfo: { type: 'object', properties: { nickName: str, avatarUrl: str } },
        },
      },
      data: { type: 'object', properties: { token: str, expiresAt: str, userInfo: userSchema } },
    },
    toVariables: ({ body }) => {
      const b = body as { code: string; userInfo?: { nickName?: string; avatarUrl?: string } };
      return { input: { code: b.code, ...(b.userInfo ? { userInfo: { nickName: b.userInfo.nickName, avatarUrl: b.userInfo.avatarUrl } } : {}) } };
    },
    toData: (data) => data.wechatLogin,
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/auth/logout',
    summary: 'Revokes the token of this request',
    operation: LogoutDocument,
    schema: { data: { type: 'null' } },
    toData: () => null,
    message: '已成功退出登录',
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/user/info',
    summary: 'The signed-in user with settings',
    operation: UserInfoDocument,
    schema: { data: userSchema },
    toData: (data) => data.me,
  }),
  defineRoute({
    method: 'PUT',
    path: '/v1/user/settings',
    summary: 'Changes only the settings given',
    operation: UpdateSettingsDocument,
    schema: { body: settingsSchema, data: settingsSchema },
    toVariables: ({ body }) => ({ input: (body ?? {}) as { isDarkMode?: boolean; autoRead?: boolean; saveHistory?: boolean } }),
    toData: (data) => data.updateSettings,
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/models',
    summary: 'The model catalog',
    operation: ModelsDocument,
    public: true,
    schema: { data: { type: 'array', items: modelSchema } },
    toData: (data) => data.models,
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/user',
    summary: 'Delete your account (chats, keys, ratings, speech erased; payments kept anonymously); body {"confirm": "DELETE MY ACCOUNT"}; needs a login token',
    operation: DeleteAccountDocument,
    schema: {
      body: { type: 'object', required: ['confirm'], properties: { confirm: str } },
      data: { type: 'object', properties: { deleted: bool } },
    },
    toVariables: ({ body }) => ({ confirm: (body as { confirm: string }).confirm }),
    toData: (data) => ({ deleted: data.deleteAccount }),
  }),
];
