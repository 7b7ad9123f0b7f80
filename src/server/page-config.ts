import type { Request } from "express";
import { isLoopbackHost } from "../config";
import type { PageConfigOf } from "./web-assets";

export interface PageConfigOptions {
  graphqlPath: string;
  authEnabled: boolean;
  /**
   * Signs a token for the development user, prefilled in GraphiQL's headers editor. Set only in
   * development with a local signing secret on a loopback address.
   */
  devToken?: () => Promise<string>;
}

/**
 * What the browser apps are told: where GraphQL is, whether it wants a token, and (development
 * only) a token to start with. The dev token goes only to a request whose `Host` is a loopback
 * name: a page on another site that rebinds its DNS name to 127.0.0.1 reaches the API under its
 * own name and gets none.
 */
export function createPageConfig(options: PageConfigOptions): PageConfigOf {
  return async (req: Request) => {
    const config: Record<string, unknown> = { graphqlPath: options.graphqlPath, authEnabled: options.authEnabled };
    if (options.devToken && isLoopbackHost(hostName(req.headers.host ?? ""))) {
      config.defaultHeaders = JSON.stringify({ Authorization: `Bearer ${await options.devToken()}` }, null, 2);
    }
    return config;
  };
}

/** The host name of a `Host` header (`[::1]:4000` → `::1`, `localhost:4000` → `localhost`). */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(host);
  return bracketed ? bracketed[1] : host.replace(/:\d+$/, "");
}
