# The tenantry agent image. It cannot be built on the development machines of this project
# (no container engine there); CI elsewhere builds it with `docker build -t tenantry .`.
# Stage 1 builds the build service (tools/build: Flux's secure kustomize build at the pinned
# release), stage 2 the CLI, stage 3 runs both as a non-root user with a read-only root file
# system in mind (only /tmp is written).
FROM golang:1.26-bookworm AS build-service
COPY tools/build /src
RUN cd /src && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/tenantry-build . && \
    CGO_ENABLED=0 go build -tags sops -trimpath -ldflags "-s -w" -o /out/tenantry-build-sops .

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm run build: tsc, then scripts/precompile.mjs (the package's templates and file schemas,
# compiled ahead) and scripts/bundle.mjs (the CLI bundle in lib/, which bin/tenantry.js runs).
COPY scripts/precompile.mjs scripts/bundle.mjs ./scripts/
COPY templates ./templates
COPY cluster-template ./cluster-template
COPY team-template ./team-template
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# tini as PID 1 reaps what a killed fetch leaves behind (git's helpers are killed as a
# process group on cancel; node, as PID 1, would never reap them).
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/lib ./lib
COPY package.json ./
COPY bin ./bin
COPY templates ./templates
COPY cluster-template ./cluster-template
COPY team-template ./team-template
COPY tools ./tools
COPY --from=build-service /out/tenantry-build /usr/local/bin/tenantry-build
COPY --from=build-service /out/tenantry-build-sops /usr/local/bin/tenantry-build-sops
# No V8 code cache in the image (src/launch/code-cache.ts): it runs the agent, which uses none,
# and nothing should turn a write under /tmp into code a later start runs.
ENV TENANTRY_BUILD=/usr/local/bin/tenantry-build TENANTRY_BUILD_SOPS=/usr/local/bin/tenantry-build-sops HOME=/tmp TENANTRY_CODE_CACHE=off
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/tenantry.js"]
CMD ["agent"]
