import { parseArgs } from "node:util";
import { isRole, ROLES, type Role } from "../auth/principal";
import { parseTtl, signToken } from "../auth/sign-token";
import { loadConfig } from "../config";

const USAGE = "usage: npm run token -- --sub <id> [--roles writer,reader] [--groups a,b] [--ttl 1h]";

/**
 * `npm run token`: prints an HS256 token signed with AUTH_JWT_SECRET, carrying AUTH_ISSUER and
 * AUTH_AUDIENCE when they are set, so that the API configured the same way accepts it.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: "string" },
      roles: { type: "string", default: "" },
      groups: { type: "string", default: "" },
      ttl: { type: "string", default: "1h" },
    },
    strict: true,
  });
  if (!values.sub?.trim()) throw new Error(`--sub is required\n${USAGE}`);
  const roles = list(values.roles);
  const unknown = roles.filter((r) => !isRole(r));
  if (unknown.length) throw new Error(`unknown role(s) ${unknown.join(", ")}: use ${ROLES.join(", ")}`);
  const ttlSeconds = parseTtl(values.ttl);
  if (ttlSeconds === undefined) throw new Error(`--ttl must be a positive number of s, m, h or d, got "${values.ttl}"`);
  const { auth } = loadConfig();
  if (auth.mode !== "secret") {
    throw new Error("AUTH_JWT_SECRET is not set: set it to the secret the API verifies tokens with");
  }
  const token = await signToken(auth.secret, {
    sub: values.sub.trim(),
    roles: roles as Role[],
    groups: list(values.groups),
    ttlSeconds,
    issuer: auth.issuer,
    audience: auth.audience,
  });
  process.stdout.write(token + "\n");
}

function list(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

main().catch((error) => {
  process.stderr.write(`token failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
