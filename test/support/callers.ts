import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { signToken, type TokenClaims } from "../../src/auth/sign-token";

/**
 * Several authenticated callers of one API (authentication on, tokens signed with its HS256
 * secret): HTTP requests and graphql-ws clients as each of them. Free of jest.
 */

/** A GraphQL response as the tests read it. */
export interface GqlResponse {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown } }[];
}

export interface Callers {
  /** POSTs an operation as the caller (null: with no token). */
  post(
    as: TokenClaims | null,
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GqlResponse>;
  /** As post, and throws when the response has errors. */
  ok(as: TokenClaims, query: string, variables?: Record<string, unknown>): Promise<Record<string, any>>;
  /** A graphql-ws client connected as the caller (no retries); `onClient` registers its disposal. */
  client(as: TokenClaims): Promise<Client>;
}

/** The error code of a response's first error, if any. */
export const codeOf = (res: GqlResponse) => res.errors?.[0]?.extensions?.code;

export function createCallers(
  api: { url: string; wsUrl: string },
  secret: string,
  onClient: (dispose: () => void) => void,
): Callers {
  const tokens = new Map<string, Promise<string>>();
  const bearerFor = (claims: TokenClaims) => {
    const key = JSON.stringify(claims);
    if (!tokens.has(key))
      tokens.set(
        key,
        signToken(secret, claims).then((t) => `Bearer ${t}`),
      );
    return tokens.get(key)!;
  };
  const post = async (
    as: TokenClaims | null,
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(api.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(as ? { authorization: await bearerFor(as) } : {}),
        ...headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GqlResponse;
  };
  return {
    post,
    async ok(as, query, variables = {}) {
      const res = await post(as, query, variables);
      if (res.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(res.errors)}`);
      return res.data!;
    },
    async client(as) {
      const authorization = await bearerFor(as);
      const created = createClient({
        url: api.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        connectionParams: { authorization },
      });
      onClient(() => void created.dispose());
      return created;
    },
  };
}
