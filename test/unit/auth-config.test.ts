import { ConfigError, isLoopbackHost, loadConfig } from "../../src/config";
import { configError } from "../support/config-error";

const SECRET = "s".repeat(32);

describe("authentication off", () => {
  it("is off when no AUTH_* is set and HOST is left at its loopback default", () => {
    expect(loadConfig({}).auth).toEqual({ mode: "off" });
  });

  it.each(["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"])(
    "is off on the loopback HOST %s",
    (host) => {
      expect(loadConfig({ HOST: host }).auth).toEqual({ mode: "off" });
    },
  );

  it.each(["0.0.0.0", "::", "10.0.0.5", "api.example.com", "128.0.0.1"])(
    "refuses to start on HOST=%s without authentication, naming what to set",
    (host) => {
      const error = configError({ HOST: host });
      expect(error.message).toContain(`HOST=${host}`);
      expect(error.message).toContain("AUTH_JWT_SECRET");
      expect(error.message).toContain("AUTH_JWKS_URL");
      expect(error.message).toContain("AUTH_DISABLED=true");
    },
  );

  it("serves without authentication on a non-loopback HOST only with AUTH_DISABLED=true", () => {
    expect(loadConfig({ HOST: "0.0.0.0", AUTH_DISABLED: "true" }).auth).toEqual({ mode: "off" });
    expect(() => loadConfig({ HOST: "0.0.0.0", AUTH_DISABLED: "false" })).toThrow(ConfigError);
  });
});

describe("authentication on", () => {
  it("verifies HS256 with AUTH_JWT_SECRET, a 30 s clock tolerance by default, on any HOST", () => {
    expect(loadConfig({ HOST: "0.0.0.0", AUTH_JWT_SECRET: SECRET }).auth).toEqual({
      mode: "secret",
      secret: SECRET,
      issuer: undefined,
      audience: undefined,
      clockToleranceSeconds: 30,
    });
  });

  it("uses the secret exactly as given (other issuers sign with the same bytes)", () => {
    const secret = ` ${SECRET} `;
    expect(loadConfig({ AUTH_JWT_SECRET: secret }).auth).toMatchObject({ secret });
  });

  it("verifies against AUTH_JWKS_URL with the issuer, audience, tolerance and cooldown given", () => {
    expect(
      loadConfig({
        AUTH_JWKS_URL: "https://idp.example.com/.well-known/jwks.json",
        AUTH_ISSUER: "https://idp.example.com/",
        AUTH_AUDIENCE: "workflow-graph",
        AUTH_CLOCK_TOLERANCE_SECONDS: "5",
        AUTH_JWKS_COOLDOWN_SECONDS: "60",
      }).auth,
    ).toEqual({
      mode: "jwks",
      jwksUrl: "https://idp.example.com/.well-known/jwks.json",
      jwksCooldownSeconds: 60,
      issuer: "https://idp.example.com/",
      audience: "workflow-graph",
      clockToleranceSeconds: 5,
    });
  });

  it("accepts a plain-http JWKS URL only on a loopback address", () => {
    expect(loadConfig({ AUTH_JWKS_URL: "http://127.0.0.1:9999/jwks" }).auth.mode).toBe("jwks");
    expect(configError({ AUTH_JWKS_URL: "http://idp.example.com/jwks" }).message).toContain("https://");
  });

  it.each([
    ["a short secret", { AUTH_JWT_SECRET: "too-short" }, "AUTH_JWT_SECRET"],
    ["both a secret and a JWKS URL", { AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: "https://x/jwks" }, "AUTH_JWKS_URL"],
    ["AUTH_DISABLED beside a secret", { AUTH_DISABLED: "true", AUTH_JWT_SECRET: SECRET }, "AUTH_DISABLED"],
    ["AUTH_DISABLED that is not true/false", { AUTH_DISABLED: "yes" }, "AUTH_DISABLED"],
    ["a JWKS URL that is not a URL", { AUTH_JWKS_URL: "not a url" }, "AUTH_JWKS_URL"],
    ["a JWKS URL with another scheme", { AUTH_JWKS_URL: "ftp://x/jwks" }, "AUTH_JWKS_URL"],
    ["a tolerance that is not a number", { AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_SECONDS: "1m" }, "AUTH_CLOCK"],
    ["an issuer without a key", { AUTH_ISSUER: "https://idp" }, "AUTH_ISSUER"],
    ["an audience without a key", { AUTH_AUDIENCE: "api" }, "AUTH_AUDIENCE"],
  ])("rejects %s with a ConfigError naming the variable", (_, env, name) => {
    expect(configError(env as Record<string, string>).message).toContain(name);
  });
});

describe("isLoopbackHost", () => {
  it("knows loopback from reachable addresses", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("::1")).toBe(true);
    expect(isLoopbackHost("0.0.0.0")).toBe(false);
    expect(isLoopbackHost("127.0.0.1.example.com")).toBe(false);
    expect(isLoopbackHost("localhost.example.com")).toBe(false);
  });
});
