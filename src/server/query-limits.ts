import type { ApolloServerPlugin } from "@apollo/server";
import type { NextFunction, Request, Response } from "express";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isListType,
  isObjectType,
  Kind,
  Lexer,
  parse,
  Source,
  specifiedRules,
  TokenKind,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLNamedType,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import { getComplexity, type ComplexityEstimatorArgs } from "graphql-query-complexity";
import type { QueryLimitsConfig } from "../config";
import { queryTooComplex } from "../errors";
import { checkArguments } from "./argument-checks";
import { withDefaultPageSizes } from "./default-page-sizes";
import { ASSUMED_PATH_LENGTH, nestedPathField, PATH_FIELDS } from "./path-fields";
import { SCAN_FIELD_COSTS } from "./analytics-cost";

/**
 * The size of a list or connection asked for without `first`/`limit`: given to the generated
 * reads by {@link withDefaultPageSizes} (and `@limit(default: 100)` on Workflow), and the default of
 * the custom paged queries.
 */
export const DEFAULT_PAGE_SIZE = 100;

/** Which limit an operation went over, as named in the error's `extensions.rule` and in the config. */
export type QueryLimitRule = "tokens" | "depth" | "aliases" | "directives" | "complexity";

const VARIABLES: Record<QueryLimitRule, string> = {
  tokens: "QUERY_MAX_TOKENS",
  depth: "QUERY_MAX_DEPTH",
  aliases: "QUERY_MAX_ALIASES",
  directives: "QUERY_MAX_DIRECTIVES",
  complexity: "QUERY_MAX_COMPLEXITY",
};

/**
 * Checks an operation's shape and estimated cost before it runs, with the same rules on every
 * transport. Neither method throws; each returns the errors to send instead of running the
 * operation (QUERY_TOO_COMPLEX, or BAD_USER_INPUT for an argument no read could accept).
 */
export interface QueryLimits {
  /** Counts the document's tokens without parsing it, so a huge document is refused cheaply. */
  checkSource(source: string): GraphQLError[];
  /**
   * The document to execute: lists left unsized get the default page size (see
   * {@link withDefaultPageSizes}). Call it after {@link QueryLimits.checkOperation} passed.
   */
  withDefaultPageSizes(document: DocumentNode, variables: Record<string, unknown> | undefined): DocumentNode;
  /** Depth, aliases, directives, estimated cost and argument ranges of a parsed, valid document. */
  checkOperation(
    document: DocumentNode,
    variables: Record<string, unknown> | undefined,
    operationName?: string | null,
  ): GraphQLError[];
  /** {@link QueryLimits.checkOperation}, with the estimated cost (0 when refused before it was estimated). */
  estimateOperation(
    document: DocumentNode,
    variables: Record<string, unknown> | undefined,
    operationName?: string | null,
  ): { errors: GraphQLError[]; cost: number };
}

/** Builds the checks for `schema` from the configured limits. */
export function createQueryLimits(schema: GraphQLSchema, limits: QueryLimitsConfig): QueryLimits {
  const shapeRules: ValidationRule[] = [
    armorRule("depth", limits.maxDepth, (options) => maxDepthRule({ ...options, ignoreIntrospection: true })),
    // Every alias counts, `__typename` ones too (armor lets those through by default).
    armorRule("aliases", limits.maxAliases, (options) => maxAliasesRule({ ...options, allowList: [] })),
    armorRule("directives", limits.maxDirectives, (options) => maxDirectivesRule(options)),
  ];
  // What depends on the document alone, kept per document: Apollo hands every request with the
  // same text the same parsed document (its document store), so a client repeating an operation
  // pays the walks once. Only passes are kept; a refusal is worked out again each time.
  const passed = new WeakMap<DocumentNode, Set<string>>();
  const unsized = new WeakMap<DocumentNode, boolean>();
  return {
    withDefaultPageSizes(document, variables) {
      // With every variable null, every list left to a variable is unsized: if even then nothing
      // needs a size, no variables can make it need one.
      let mayNeedSizes = unsized.get(document);
      if (mayNeedSizes === undefined) {
        mayNeedSizes = withDefaultPageSizes(schema, document, allNull(document), DEFAULT_PAGE_SIZE) !== document;
        unsized.set(document, mayNeedSizes);
      }
      return mayNeedSizes ? withDefaultPageSizes(schema, document, variables, DEFAULT_PAGE_SIZE) : document;
    },
    checkSource(source) {
      const actual = countTokens(source);
      return actual > limits.maxTokens ? [tooComplex("tokens", limits.maxTokens, actual)] : [];
    },
    checkOperation(document, variables, operationName) {
      return this.estimateOperation(document, variables, operationName).errors;
    },
    estimateOperation(document, variables, operationName) {
      const refused = (errors: readonly GraphQLError[]) => ({ errors: [...errors], cost: 0 });
      const operationKey = operationName ?? "";
      if (!passed.get(document)?.has(operationKey)) {
        const shape = validate(schema, document, shapeRules);
        if (shape.length) return refused(shape);
        const nested = nestedPathField(schema, document, operationName);
        if (nested) {
          return refused([
            queryTooComplex(
              `Operation refused: ${nested} is selected inside another path; a path of paths grows with the square of the depth. Select it on the nodes you need instead`,
              { rule: "nestedPaths", limit: 1, actual: 2 },
            ),
          ]);
        }
        const names = passed.get(document) ?? new Set<string>();
        names.add(operationKey);
        passed.set(document, names);
      }
      const badArguments: GraphQLError[] = [];
      let actual: number;
      try {
        actual = getComplexity({
          schema,
          query: document,
          variables: variables ?? {},
          ...(operationName ? { operationName } : {}),
          estimators: [(args) => estimate(args, badArguments)],
          maxQueryNodes: Number.MAX_SAFE_INTEGER,
        });
      } catch (error) {
        // Variables that do not coerce: execution refuses them with its own BAD_USER_INPUT before
        // any resolver runs. Anything else is a defect, not a reason to let the operation through.
        if (error instanceof GraphQLError) return refused([]);
        throw error;
      }
      if (actual > limits.maxComplexity) return refused([tooComplex("complexity", limits.maxComplexity, actual)]);
      return { errors: badArguments.slice(0, 1), cost: actual };
    },
  };
}

/** Every variable the document's operations declare, set to null. */
function allNull(document: DocumentNode): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    for (const v of definition.variableDefinitions ?? []) variables[v.variable.name.value] = null;
  }
  return variables;
}

function tooComplex(rule: QueryLimitRule, limit: number, actual: number): GraphQLError {
  const what = { tokens: "tokens", depth: "depth", aliases: "aliases", directives: "directives", complexity: "cost" }[
    rule
  ];
  return queryTooComplex(`Operation refused: ${what} ${actual} is over the limit of ${limit} (${VARIABLES[rule]})`, {
    rule,
    limit,
    actual,
  });
}

/**
 * A graphql-armor rule that reports our error instead of its own: armor names the count it found
 * in its message ("… exceeded, found 31."), which is where `actual` comes from.
 */
function armorRule(
  rule: QueryLimitRule,
  n: number,
  make: (options: {
    n: number;
    exposeLimits: boolean;
    propagateOnRejection: boolean;
    onReject: ((context: ValidationContext | null, error: GraphQLError) => void)[];
  }) => ValidationRule,
): ValidationRule {
  return make({
    n,
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context, error) => {
        const found = /found (\d+)/.exec(error.message);
        context?.reportError(tooComplex(rule, n, found ? Number(found[1]) : n + 1));
      },
    ],
  });
}

/** Tokens of a GraphQL document, comments excluded; a lexing error stops the count (the parser reports it). */
export function countTokens(source: string): number {
  const lexer = new Lexer(new Source(source));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) count++;
  } catch {
    // A syntax error: the parser will report it.
  }
  return count;
}

/**
 * The cost of one field: 1, plus the rows it skips (`offset`), plus its children's cost times the
 * number of items it asks for (a path: {@link ASSUMED_PATH_LENGTH} steps). A list asks for `first`/`limit` items (or its default page size); a
 * mutation's list result has one item per input; the lists inside a connection are already counted
 * by the connection. Introspection costs nothing.
 */
function estimate({ type, field, args, childComplexity }: ComplexityEstimatorArgs, bad: GraphQLError[]): number {
  if (PATH_FIELDS.has(`${type.name}.${field.name}`)) return 1 + ASSUMED_PATH_LENGTH * childComplexity;
  const scan = SCAN_FIELD_COSTS.get(`${type.name}.${field.name}`);
  if (scan !== undefined) return scan + childComplexity;
  if (field.name.startsWith("__")) return 0;
  checkArguments(field, args, bad);
  const returns = getNullableType(field.type);
  const isConnection = isConnectionType(getNamedType(returns));
  const insideConnection = isConnectionType(type);
  let items = 1;
  const asked = numeric(args.first) ?? numeric(args.limit);
  const byId = idsAsked(args.where);
  if (byId !== undefined) items = asked === undefined ? byId : Math.min(byId, Math.max(0, asked));
  else if (asked !== undefined) items = Math.max(0, asked);
  else if (Array.isArray(args.input)) items = args.input.length;
  else if ((isListType(returns) && !insideConnection) || isConnection) items = DEFAULT_PAGE_SIZE;
  const skipped = Math.max(0, numeric(args.offset) ?? 0);
  return 1 + skipped + items * childComplexity;
}

/** A Relay-style page (the library's `…Connection` types, our `HistoryPage`): it has edges and pageInfo. */
function isConnectionType(type: GraphQLNamedType): boolean {
  if (!isObjectType(type)) return false;
  const fields = type.getFields();
  return "edges" in fields && "pageInfo" in fields;
}

const numeric = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined);

/**
 * How many items a generated read can return when its `where` names ids (`id: {eq}` or `id: {in}`
 * at the top level): ids are unique, so at most that many, whatever page size applies.
 */
function idsAsked(where: unknown): number | undefined {
  const id = (where as { id?: { eq?: unknown; in?: unknown } } | null | undefined)?.id;
  if (id?.eq !== undefined && id.eq !== null) return 1;
  if (Array.isArray(id?.in)) return id.in.length;
  return undefined;
}

/**
 * Express, in front of Apollo Server: refuses a document with too many tokens before Apollo parses
 * it (Apollo's hooks before parsing cannot answer with an error of our own).
 */
export function queryTokensMiddleware(
  limits: QueryLimits,
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
) {
  return (req: Request, res: Response, next: NextFunction) => {
    const body = req.body as { query?: unknown } | undefined;
    const query = typeof body?.query === "string" ? body.query : req.query.query;
    const [error] = typeof query === "string" ? limits.checkSource(query) : [];
    if (!error) return next();
    res.status(400).json({ errors: [formatError(error.toJSON(), error)] });
  };
}

/**
 * Apollo Server: the checks that need the parsed operation; refusals are HTTP 400. The estimated
 * cost of each admitted operation goes into `costs`, keyed by its request.
 */
export function queryLimitsPlugin(limits: QueryLimits, costs?: WeakMap<object, number>): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const { document, request, operationName } = requestContext;
          const { errors, cost } = limits.estimateOperation(document, request.variables, operationName);
          if (errors.length) throw status400(errors[0]);
          // For the plugins after this one (the per-caller query budget), keyed by the request.
          costs?.set(request, cost);
          // Apollo executes the request context's document, read after this hook.
          (requestContext as { document: DocumentNode }).document = limits.withDefaultPageSizes(
            document,
            request.variables,
          );
        },
      };
    },
  };
}

/** Apollo reads the response status from `extensions.http` and leaves it out of the response. */
const status400 = (error: GraphQLError) =>
  new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });

/**
 * graphql-ws `onSubscribe`: parses, validates and checks the operation; on a refusal returns the
 * errors, which graphql-ws sends as an `error` message for that subscription id (the socket stays
 * open). Otherwise returns the execution arguments, so the document is parsed once, and records
 * the operation's estimated cost in `costs`, keyed by the returned document.
 */
export function checkSubscribe(
  schema: GraphQLSchema,
  limits: QueryLimits,
  payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
  rules: readonly ValidationRule[] = specifiedRules,
  costs?: WeakMap<DocumentNode, number>,
): Omit<ExecutionArgs, "contextValue"> | GraphQLError[] {
  const tokens = limits.checkSource(payload.query);
  if (tokens.length) return tokens;
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch (error) {
    // The code Apollo Server gives the same error over HTTP.
    const parseFailed = { code: "GRAPHQL_PARSE_FAILED" };
    if (!(error instanceof GraphQLError)) return [new GraphQLError(String(error), { extensions: parseFailed })];
    return [
      new GraphQLError(error.message, { source: error.source, positions: error.positions, extensions: parseFailed }),
    ];
  }
  const invalid = validate(schema, document, rules);
  if (invalid.length) return [...invalid];
  const { errors: refused, cost } = limits.estimateOperation(
    document,
    payload.variables ?? undefined,
    payload.operationName,
  );
  if (refused.length) return refused;
  const sized = limits.withDefaultPageSizes(document, payload.variables ?? undefined);
  costs?.set(sized, cost);
  return {
    schema,
    document: sized,
    ...(payload.variables ? { variableValues: payload.variables } : {}),
    ...(payload.operationName ? { operationName: payload.operationName } : {}),
  };
}
