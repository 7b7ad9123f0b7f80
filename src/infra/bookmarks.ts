import type { Session } from "neo4j-driver";
import { currentRequestScope } from "../request-context";

/**
 * Bookmarks for clusters that read from followers. A write's bookmark names its transaction; a
 * session opened with it waits until the server it reads from has applied that transaction, so a
 * read on a follower never runs behind a write the reader was told about.
 *
 * The write helper notes the bookmark of each write it commits in the current request's scope;
 * the event bus stamps the newest one on the events that request publishes; a live stream that
 * reads the log because of such an event (a gap fill, a catch-up) opens its read with it. Mutation
 * fields run one after another, so the newest bookmark of a request is the write that made the
 * events it publishes. Outside a request scope (domain calls from scripts) nothing is noted and
 * events carry no bookmark: readers then read as they always did.
 */

/** Notes the bookmark `session` holds after its write committed, in the current request's scope. */
export function noteCommitted(session: Session): void {
  const scope = currentRequestScope();
  if (!scope) return;
  // One database per session: the driver holds a single bookmark for it (the newest).
  const bookmark = session.lastBookmarks().at(-1);
  if (bookmark) scope.bookmark = bookmark;
}

/** The bookmark of the newest write the current request committed, if any. */
export function committedBookmark(): string | undefined {
  return currentRequestScope()?.bookmark;
}
