import { GraphQLError, parse, type OperationDefinitionNode } from "graphql";
import { ConfigError, loadConfig } from "../../src/config";
import { createOriginPolicy } from "../../src/server/cors";
import { clientIp, createConnectionCounter, rateKey } from "../../src/server/rate-limit";
import { withoutSuggestions } from "../../src/server/security-headers";
import { asUserInputError } from "../../src/server/variables";

/** The pure rules behind the edge protections (no services). */

describe("rateKey", () => {
  it("keys an authenticated principal by its subject, whatever its address", () => {
    const alice = { sub: "alice", anonymous: false, roles: [], groups: [] };
    expect(rateKey(alice, "1.2.3.4")).toBe(rateKey(alice, "5.6.7.8"));
    expect(rateKey(alice, "1.2.3.4")).not.toBe(rateKey({ ...alice, sub: "bob" }, "1.2.3.4"));
  });

  it("keys anonymous callers and calls without a principal by IP", () => {
    expect(rateKey(undefined, "1.2.3.4")).toBe("ip:1.2.3.4");
    expect(rateKey({ sub: "anonymous", anonymous: true }, "1.2.3.4")).toBe("ip:1.2.3.4");
  });

  it("cannot be collided with by a subject that looks like an address", () => {
    expect(rateKey({ sub: "1.2.3.4", anonymous: false }, "9.9.9.9")).not.toBe(rateKey(undefined, "1.2.3.4"));
  });
});

describe("clientIp", () => {
  it("is the socket's peer when no proxy is trusted, whatever X-Forwarded-For claims", () => {
    expect(clientIp("127.0.0.1", "6.6.6.6", 0)).toBe("127.0.0.1");
  });

  it("behind n trusted proxies, is the address n hops back in X-Forwarded-For", () => {
    expect(clientIp("10.0.0.1", "6.6.6.6, 1.2.3.4", 1)).toBe("1.2.3.4");
    expect(clientIp("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", 2)).toBe("1.2.3.4");
    expect(clientIp("10.0.0.1", ["6.6.6.6", "1.2.3.4"], 1)).toBe("1.2.3.4");
  });

  it("stops at the first address when the chain is shorter than the trusted hops", () => {
    expect(clientIp("10.0.0.1", "1.2.3.4", 5)).toBe("1.2.3.4");
    expect(clientIp("10.0.0.1", undefined, 2)).toBe("10.0.0.1");
  });

  it("reads an IPv4-mapped IPv6 peer as the IPv4 address", () => {
    expect(clientIp("::ffff:1.2.3.4", undefined, 0)).toBe("1.2.3.4");
  });
});

describe("createConnectionCounter", () => {
  it("takes at most max slots per key and gives them back", () => {
    const counter = createConnectionCounter(2);
    expect([counter.acquire("a"), counter.acquire("a"), counter.acquire("a")]).toEqual([true, true, false]);
    expect(counter.acquire("b")).toBe(true);
    counter.release("a");
    expect(counter.acquire("a")).toBe(true);
  });

  it("allows any number with max 0", () => {
    const counter = createConnectionCounter(0);
    for (let i = 0; i < 1000; i++) expect(counter.acquire("a")).toBe(true);
  });
});

describe("createOriginPolicy", () => {
  const policy = createOriginPolicy(["https://app.example.com"]);
  it.each([
    [undefined, "api.example.com", true],
    ["https://app.example.com", "api.example.com", true],
    ["https://APP.example.com", "api.example.com", true],
    ["https://api.example.com", "api.example.com", true],
    ["http://localhost:4000", "localhost:4000", true],
    ["http://localhost:4001", "localhost:4000", false],
    ["https://evil.example.net", "api.example.com", false],
    ["null", "api.example.com", false],
    ["https://evil.example.net", undefined, false],
  ])("Origin %s with Host %s: %s", (origin, host, allowed) => {
    expect(policy.allows(origin, host)).toBe(allowed);
  });

  it('allows any origin with "*"', () => {
    expect(createOriginPolicy(["*"]).allows("https://evil.example.net", "api.example.com")).toBe(true);
  });
});

describe("withoutSuggestions", () => {
  const format = withoutSuggestions((formatted) => formatted);
  it.each([
    [
      'Cannot query field "workflow" on type "Query". Did you mean "workflows"?',
      'Cannot query field "workflow" on type "Query".',
    ],
    ['Unknown argument "fist". Did you mean "first" or "after"?', 'Unknown argument "fist".'],
    [
      'Value "MESAGE" does not exist in "NodeType" enum. Did you mean the enum value "MESSAGE"?',
      'Value "MESAGE" does not exist in "NodeType" enum.',
    ],
    ["Not found", "Not found"],
  ])("%s", (message, expected) => {
    expect(format({ message }).message).toBe(expected);
  });
});

describe("asUserInputError", () => {
  const definition = (parse("query ($n: Int!) { a }").definitions[0] as OperationDefinitionNode)
    .variableDefinitions![0];
  it("marks variable coercion errors BAD_USER_INPUT", () => {
    for (const message of [
      'Variable "$n" got invalid value "x"; Int cannot represent non-integer value: "x"',
      'Variable "$n" of required type "Int!" was not provided.',
      'Variable "$n" of non-null type "Int!" must not be null.',
    ]) {
      expect(asUserInputError(new GraphQLError(message, { nodes: definition })).extensions.code).toBe("BAD_USER_INPUT");
    }
  });

  it("leaves other errors on a variable definition (validation) as they are", () => {
    const error = new GraphQLError('Variable "$n" is never used.', { nodes: definition });
    expect(asUserInputError(error)).toBe(error);
  });
});

describe("loadConfig: edge protection variables", () => {
  it("defaults to same-origin only, introspection on, no rate or connection limit, 100 subscriptions per connection", () => {
    const config = loadConfig({});
    expect(config.corsOrigins).toEqual([]);
    expect(config.introspection).toBe(true);
    expect(config.production).toBe(false);
    expect(config.trustProxyHops).toBe(0);
    expect(config.limits).toEqual({
      operationsPerMinute: 0,
      wsConnectionsPerPrincipal: 0,
      wsSubscriptionsPerConnection: 100,
    });
  });

  it("parses every variable", () => {
    const config = loadConfig({
      NODE_ENV: "production",
      INTROSPECTION: "false",
      CORS_ORIGINS: "https://a.example.com, http://localhost:3000/",
      TRUST_PROXY: "1",
      RATE_LIMIT_PER_MINUTE: "600",
      WS_MAX_CONNECTIONS_PER_PRINCIPAL: "20",
      WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: "0",
    });
    expect(config.production).toBe(true);
    expect(config.introspection).toBe(false);
    expect(config.corsOrigins).toEqual(["https://a.example.com", "http://localhost:3000"]);
    expect(config.trustProxyHops).toBe(1);
    expect(config.limits).toEqual({
      operationsPerMinute: 600,
      wsConnectionsPerPrincipal: 20,
      wsSubscriptionsPerConnection: 0,
    });
    expect(loadConfig({ CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
  });

  it.each([
    ["INTROSPECTION", "maybe"],
    ["CORS_ORIGINS", "app.example.com"],
    ["CORS_ORIGINS", "https://app.example.com/path"],
    ["CORS_ORIGINS", "ftp://app.example.com"],
    ["CORS_ORIGINS", "https://a.example.com,*"],
    ["TRUST_PROXY", "true"],
    ["RATE_LIMIT_PER_MINUTE", "-1"],
    ["WS_MAX_CONNECTIONS_PER_PRINCIPAL", "many"],
    ["WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", "1.5"],
  ])("rejects %s=%s with a ConfigError naming it", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
