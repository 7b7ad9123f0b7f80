# Image for the workflow-graph GraphQL API (HTTP + graphql-ws on /graphql).
# The app runs TypeScript directly through `tsx` (a runtime dependency).
# With NEO4J_URI and REDIS_URL set, src/index.ts starts no local services
# and only connects to the ones given (see docker-compose.yml).
FROM node:20-bookworm-slim

WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY tsconfig.json schema.graphql ./
COPY src/ ./src/
COPY resolvers/ ./resolvers/
COPY migrations/ ./migrations/
# The browser pages (GraphiQL) are bundled from the installed packages at build time: nothing is
# fetched from a CDN when the page loads.
RUN node --import tsx src/cli/build-web.ts

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000

EXPOSE 4000

USER node

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:4000/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"

CMD ["node", "--import", "tsx", "src/index.ts"]
