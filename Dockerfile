# eidhub's container image. Build: docker build -t eidhub .   Guide: docs/deploy.md
# test/deploy.test.ts lints this file and checks it against the code: the files it copies, the
# port, the environment variables, the command's Node flags and the probed route.

# ---- build: compile TypeScript, then keep only the production dependencies ----
FROM node:24-bookworm-slim AS build
# better-sqlite3 downloads a prebuilt binary where one fits and compiles from source otherwise.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: package.json's `prepare` runs the build, and the sources are not here yet.
# better-sqlite3 is the one dependency with an install script; it is built explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# `npm prune` removes the dev dependencies without running any script (so neither `prepare` nor
# a second compile of better-sqlite3), keeping the native module built above. Only its
# better_sqlite3.node is loaded at run time: its sources and objects stay behind.
RUN npm prune --omit=dev --no-audit --no-fund \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv /tmp/better_sqlite3.node build/Release/

# ---- runtime ----
FROM node:24-bookworm-slim
# MALLOC_ARENA_MAX as `npm start` sets it; the rest are eidhub's own (docs/deploy.md).
ENV MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    EIDHUB_DATA_DIR=/var/lib/eidhub \
    EIDHUB_CONFIG=/etc/eidhub/eidhub.json
WORKDIR /app
# What the server reads at run time: the compiled code, its production dependencies,
# package.json (the version), and the files tsc does not copy to dist/, which eidhub finds under
# src/ from the package root: the SQL migrations and the pages' message catalogues.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/src/store/sqlite/migrations ./src/store/sqlite/migrations
COPY --from=build /app/src/store/postgres/migrations ./src/store/postgres/migrations
COPY --from=build /app/src/ui/locales ./src/ui/locales
COPY --from=build /app/src/authenticators/otp-sms/locales ./src/authenticators/otp-sms/locales
COPY --from=build /app/src/authenticators/itsme/locales ./src/authenticators/itsme/locales
# A numeric uid, so that a runtime that refuses to run as root (runAsNonRoot) can check it.
RUN groupadd --system --gid 10001 eidhub \
 && useradd --system --uid 10001 --gid eidhub --home-dir /var/lib/eidhub --no-create-home eidhub \
 && mkdir -p /var/lib/eidhub /etc/eidhub \
 && chown eidhub:eidhub /var/lib/eidhub
USER 10001:10001
# The SQLite store (eidhub.db and its -wal and -shm files). With PostgreSQL nothing is written here.
VOLUME ["/var/lib/eidhub"]
EXPOSE 3000
# Liveness: /healthz answers while the process serves. Node itself probes it (no curl in a slim image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The same command and Node flags as `npm start`. eidhub stops cleanly on SIGTERM even as PID 1,
# since it handles the signal itself; run with `--init` (compose: `init: true`) for a reaper.
CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=128", "dist/main.js"]
