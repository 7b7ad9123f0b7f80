/**
 * A minimal GraphQL-over-HTTP client (fetch, keep-alive): throws on any GraphQL error. With `token`,
 * each request carries `Authorization: Bearer <token>` (for an API with authentication on).
 */
export interface GraphQLClient {
  request<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

export function graphqlClient(url: string, token?: string): GraphQLClient {
  const headers = { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return {
    async request(query, variables = {}) {
      const res = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: any; errors?: { message: string }[] };
      if (body.errors?.length || !body.data) {
        throw new Error(`GraphQL request failed (HTTP ${res.status}): ${JSON.stringify(body.errors)}`);
      }
      return body.data;
    },
  };
}
