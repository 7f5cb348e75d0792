import { Type } from '@sinclair/typebox';

/** The foundation's request and response schemas (errors, health, auth). */

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable code: BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooManyRequests, Internal, ...' }),
      message: Type.String({ description: 'What went wrong, for people; starts with the field path on a 400.' }),
      field: Type.Optional(Type.String({ description: 'The request field at fault (400), e.g. spec.vcpus.' })),
      quota: Type.Optional(Type.String({ description: 'The quota exceeded (409), e.g. desktops.' })),
      reason: Type.Optional(Type.String({ description: 'Why a 409, for programs: exhausted (the pool has no free desktop), starting (the claimed desktop is still starting; ask again), busy (too many claims at once; ask again).' })),
      requestId: Type.String({ description: 'Also in the x-request-id header and the logs.' }),
    }),
  },
  { title: 'Error' },
);

export const HealthBody = Type.Object({ status: Type.Literal('ok') });

export const ReadinessBody = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not-ready')]),
  checks: Type.Record(Type.String(), Type.String(), { description: 'Each check: "ok" or why it failed.' }),
});

export const LoginRequest = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

export const RefreshRequest = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });

export const TokenPairBody = Type.Object({
  accessToken: Type.String({ description: 'ES256 JWT; send as Authorization: Bearer <accessToken>.' }),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ minimum: 0, description: 'Seconds until the access token expires.' }),
  refreshToken: Type.String({ description: 'Opaque; single use: POST /auth/refresh returns a new one.' }),
  refreshExpiresIn: Type.Integer({ minimum: 0, description: 'Seconds until the refresh token expires.' }),
});

export const RoleName = Type.Union([Type.Literal('user'), Type.Literal('tenant-admin'), Type.Literal('platform-ops')]);

export const MeBody = Type.Object({
  subject: Type.String(),
  user: Type.String(),
  tenant: Type.String({ description: 'The namespace of my desktops; empty for platform ops without a tenant.' }),
  groups: Type.Array(Type.String()),
  roles: Type.Array(RoleName),
});

export const JwksBody = Type.Object({
  keys: Type.Array(
    Type.Object({
      kty: Type.String(),
      crv: Type.Optional(Type.String()),
      x: Type.Optional(Type.String()),
      y: Type.Optional(Type.String()),
      kid: Type.Optional(Type.String()),
      alg: Type.Optional(Type.String()),
      use: Type.Optional(Type.String()),
    }),
  ),
});
