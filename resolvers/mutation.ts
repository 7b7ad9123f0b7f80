import { addDecision } from "../src/domain/add-decision";
import { addMonitor } from "../src/domain/add-monitor";
import { appendNodes, type WriteResult } from "../src/domain/append-nodes";
import { forkBranch, setBranchStatus, setBranchVisibility, type BranchResult } from "../src/domain/branch-operations";
import { chooseOption } from "../src/domain/choose-option";
import {
  cancelWorkflow,
  completeWorkflow,
  failWorkflow,
  resumeWorkflow,
  type LifecycleResult,
} from "../src/domain/lifecycle";
import { grantWorkflowAccess, revokeWorkflowAccess } from "../src/domain/grants";
import { startWorkflow } from "../src/domain/start-workflow";
import { deleteWorkflow, restoreWorkflow } from "../src/domain/soft-delete";
import { setRetention } from "../src/domain/retention-settings";
import { seeRestoredWorkflow } from "../src/graphql/see-restored";
import type { AppContext } from "../src/graphql/context";
import { seeWorkflow } from "../src/graphql/visibility";
import type { MutationResolvers } from "../src/generated/graphql";
import type { GraphQLResolveInfo } from "graphql";
import { writtenButUnreadable } from "../src/errors";
import { GraphQLError } from "graphql";
import type { AccessScope, AuditTrail } from "../src/auth/access-scope";
import { inputDigest, recordRefusal } from "../src/domain/audit";
import { pruneBranch } from "../src/domain/prune-branch";
import { pruneBranches } from "../src/domain/prune-branches";

type Resolvers = Required<MutationResolvers<AppContext>>;

/**
 * Reads back the client's selection after a commit. The write stands whatever happens to the read,
 * so its failure must not look like the write's: it becomes WRITTEN_BUT_UNREADABLE, naming what
 * was written (a client that retries anyway gets the same result, since a retry with the same
 * ids is idempotent).
 */
async function readBack<T>(
  written: { ids: string[]; events: readonly { seq: number }[] },
  read: () => Promise<T>,
): Promise<T> {
  try {
    return await read();
  } catch (error) {
    const seq = written.events.length > 0 ? Math.max(...written.events.map((e) => e.seq)) : null;
    throw writtenButUnreadable({ ids: written.ids, seq }, error);
  }
}

/** Publish after commit, then read back the client's selection of the written node(s). */
async function nodesResult(result: WriteResult, context: AppContext, info: GraphQLResolveInfo) {
  await context.bus.publish(result.events);
  const ids = result.nodes.map((node) => node.id);
  return readBack({ ids, events: result.events }, () => context.loader.nodes(info, context, result.nodes));
}

async function branchResult(result: BranchResult, context: AppContext, info: GraphQLResolveInfo) {
  await context.bus.publish(result.events);
  const ids = [result.branch.id];
  const [branch] = await readBack({ ids, events: result.events }, () => context.loader.branches(info, context, ids));
  return branch;
}

async function workflowResult(result: LifecycleResult, context: AppContext, info: GraphQLResolveInfo) {
  await context.bus.publish(result.events);
  const ids = [result.workflowId];
  const [workflow] = await readBack({ ids, events: result.events }, () => context.loader.workflows(info, context, ids));
  return workflow;
}

/**
 * The caller as a mutation's domain operation sees it: its scope plus what its audit entry
 * records (the operation, the request, a digest of the input).
 */
function audited(context: AppContext, operation: string, input: unknown): AccessScope {
  let digest: string | undefined;
  const trail: AuditTrail = {
    operation,
    requestId: context.request.id,
    clientAddress: context.request.clientAddress,
    // Computed when the entry is written: after the input passed validation (a 100,000-deep
    // metadata object is refused there, not hashed here).
    get inputDigest() {
      return (digest ??= inputDigest(input));
    },
  };
  return { ...context.access, audit: trail };
}

type MutationName =
  | "startWorkflow"
  | "appendNode"
  | "appendNodes"
  | "addDecision"
  | "chooseOption"
  | "addMonitor"
  | "forkBranch"
  | "setBranchStatus"
  | "setBranchVisibility"
  | "completeWorkflow"
  | "failWorkflow"
  | "cancelWorkflow"
  | "resumeWorkflow"
  | "grantWorkflowAccess"
  | "revokeWorkflowAccess"
  | "pruneBranch"
  | "pruneBranches"
  | "deleteWorkflow"
  | "restoreWorkflow"
  | "setRetention";

/**
 * Wraps each mutation: it runs with an audited caller, and a FORBIDDEN refusal is recorded in the
 * audit trail (in a transaction of its own, the refused write having written nothing).
 */
function withAudit(name: MutationName): Resolvers[MutationName] {
  const run = operations[name] as (
    root: unknown,
    args: Record<string, unknown>,
    context: AppContext,
    info: GraphQLResolveInfo,
  ) => unknown;
  return (async (root: unknown, args: Record<string, unknown>, context: AppContext, info: GraphQLResolveInfo) => {
    // Most mutations take one `input`; deleteWorkflow and restoreWorkflow take `workflowId` alone.
    const input = "input" in args ? args.input : args;
    const caller = audited(context, name, input);
    try {
      return await run(root, args, { ...context, access: caller } as AppContext, info);
    } catch (error) {
      if (isForbidden(error)) {
        const workflowId = (input as { workflowId?: unknown } | null)?.workflowId;
        await recordRefusal(
          context.store,
          { sub: caller.sub, roles: caller.roles ?? [] },
          caller.audit!,
          "FORBIDDEN",
          typeof workflowId === "string" ? [workflowId] : [],
        ).catch(() => undefined);
      }
      throw error;
    }
  }) as never;
}

const isForbidden = (error: unknown) => error instanceof GraphQLError && error.extensions.code === "FORBIDDEN";

/** Each mutation: domain operation (one transaction) → publish after commit → read back the selection. */
const operations: Pick<Resolvers, MutationName> = {
  async startWorkflow(_root, { input }, context, info) {
    const result = await startWorkflow(context.store, input, context.access, context.principal.sub);
    if (result.created) {
      const { root } = result;
      await context.bus.publish([
        {
          kind: "NODE_ADDED",
          seq: 0,
          workflowId: root.workflowId,
          at: root.timestamp,
          node: root,
          branchId: root.branchId,
          lineage: [root.branchId],
        },
      ]);
    }
    seeWorkflow(context, result.workflowId);
    const ids = [result.workflowId];
    const events = result.created ? [{ seq: 0 }] : [];
    const [workflow] = await readBack({ ids, events }, () => context.loader.workflows(info, context, ids));
    return workflow;
  },
  async appendNode(_root, { input }, context, info) {
    const [node] = await nodesResult(await appendNodes(context.store, [input], context.access), context, info);
    return node;
  },
  async appendNodes(_root, { input }, context, info) {
    return nodesResult(await appendNodes(context.store, input, context.access), context, info);
  },
  async addDecision(_root, { input }, context, info) {
    const [node] = await nodesResult(await addDecision(context.store, input, context.access), context, info);
    return node;
  },
  async chooseOption(_root, { input }, context, info) {
    const [node] = await nodesResult(await chooseOption(context.store, input, context.access), context, info);
    return node;
  },
  async addMonitor(_root, { input }, context, info) {
    const [node] = await nodesResult(await addMonitor(context.store, input, context.access), context, info);
    return node;
  },
  async forkBranch(_root, { input }, context, info) {
    return branchResult(await forkBranch(context.store, input, context.access), context, info);
  },
  async setBranchStatus(_root, { input }, context, info) {
    return branchResult(await setBranchStatus(context.store, input, context.access), context, info);
  },
  async setBranchVisibility(_root, { input }, context, info) {
    return branchResult(await setBranchVisibility(context.store, input, context.access), context, info);
  },
  async completeWorkflow(_root, { input }, context, info) {
    return workflowResult(await completeWorkflow(context.store, input, context.access), context, info);
  },
  async failWorkflow(_root, { input }, context, info) {
    return workflowResult(await failWorkflow(context.store, input, context.access), context, info);
  },
  async cancelWorkflow(_root, { input }, context, info) {
    return workflowResult(await cancelWorkflow(context.store, input, context.access), context, info);
  },
  async resumeWorkflow(_root, { input }, context, info) {
    return branchResult(await resumeWorkflow(context.store, input, context.access), context, info);
  },
  async grantWorkflowAccess(_root, { input }, context, info) {
    const ids = [await grantWorkflowAccess(context.store, context.access, input)];
    const [workflow] = await readBack({ ids, events: [] }, () => context.loader.workflows(info, context, ids));
    return workflow;
  },
  async revokeWorkflowAccess(_root, { input }, context, info) {
    const id = await revokeWorkflowAccess(context.store, context.access, input);
    if (id === null) return null;
    const [workflow] = await readBack({ ids: [id], events: [] }, () => context.loader.workflows(info, context, [id]));
    return workflow;
  },
  // The results are plain values (what was removed cannot be read back): publish and return.
  async pruneBranch(_root, { input }, context) {
    const result = await pruneBranch(context.store, input, context.access);
    await context.bus.publish(result.events);
    return result;
  },
  async pruneBranches(_root, { input }, context) {
    const result = await pruneBranches(
      context.store,
      { ...input, olderThan: String(input.olderThan), status: input.status ?? null },
      context.access,
    );
    await context.bus.publish(result.events);
    return result;
  },
  async deleteWorkflow(_root, { workflowId }, context) {
    const result = await deleteWorkflow(context.store, context.access, workflowId);
    await context.bus.publish(result.events);
    return result.workflow;
  },
  async restoreWorkflow(_root, { workflowId }, context, info) {
    const result = await restoreWorkflow(context.store, context.access, workflowId);
    await context.bus.publish(result.events);
    const ids = [result.workflow.id];
    seeRestoredWorkflow(context, result.workflow.id);
    const [workflow] = await readBack({ ids, events: result.events }, () =>
      context.loader.workflows(info, context, ids),
    );
    return workflow;
  },
  async setRetention(_root, { input }, context, info) {
    const ids = [await setRetention(context.store, context.access, input)];
    const [workflow] = await readBack({ ids, events: [] }, () => context.loader.workflows(info, context, ids));
    return workflow;
  },
};

export const Mutation: Pick<Resolvers, MutationName> = Object.fromEntries(
  (Object.keys(operations) as MutationName[]).map((name) => [name, withAudit(name)]),
) as Pick<Resolvers, MutationName>;
