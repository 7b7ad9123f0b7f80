import { appendNodes } from "../src/domain/append-nodes";
import { startWorkflow } from "../src/domain/start-workflow";
import type { AppContext } from "../src/graphql/context";
import type { MutationResolvers } from "../src/generated/graphql";

/** Each mutation: domain operation (one transaction) → publish after commit → read back the selection. */
export const Mutation: Pick<Required<MutationResolvers<AppContext>>, "startWorkflow" | "appendNode" | "appendNodes"> = {
  async startWorkflow(_root, { input }, context, info) {
    const result = await startWorkflow(context.store, input);
    if (result.created) await context.bus.publishNodesAdded([result.root]);
    const [workflow] = await context.loader.workflows(info, context, [result.workflowId]);
    return workflow as never;
  },
  async appendNode(_root, { input }, context, info) {
    const result = await appendNodes(context.store, [input]);
    await context.bus.publishNodesAdded(result.created);
    const [node] = await context.loader.nodes(info, context, result.nodes);
    return node as never;
  },
  async appendNodes(_root, { input }, context, info) {
    const result = await appendNodes(context.store, input);
    await context.bus.publishNodesAdded(result.created);
    return (await context.loader.nodes(info, context, result.nodes)) as never;
  },
};
