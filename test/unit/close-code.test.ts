import { CloseCode } from "graphql-ws";
import { SLOW_SUBSCRIBER_CLOSE_CODE as CLIENT_CODE } from "../../src/client/workflow-client";
import { SLOW_SUBSCRIBER_CLOSE_CODE } from "../../src/server/websocket";

describe("the slow-subscriber close code", () => {
  it("is the same in the server and the typed client", () => {
    expect(CLIENT_CODE).toBe(SLOW_SUBSCRIBER_CLOSE_CODE);
  });

  it("is none of graphql-ws's own codes, which its client treats as fatal, and is WebSocket's Try Again Later", () => {
    expect(Object.values(CloseCode)).not.toContain(SLOW_SUBSCRIBER_CLOSE_CODE);
    expect(SLOW_SUBSCRIBER_CLOSE_CODE).toBe(1013);
  });
});
