import path from "node:path";
import { REPO_ROOT } from "../config";

/**
 * Where the browser bundles are written, one folder per app (`.data/web/<app>/`, git-ignored).
 * The server reads them from here; `npm run build:web` (and `npm start`, `npm test`, the image
 * build) write them.
 */
export const WEB_OUT_DIR = path.join(REPO_ROOT, ".data", "web");

/** The URL prefix the bundles are served under: `/web/<app>/<file>`. */
export const WEB_URL_PREFIX = "/web";
