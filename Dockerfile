# The tenantry agent image. It cannot be built on the development machines of this project
# (no container engine there); CI elsewhere builds it with `docker build -t tenantry .`.
# Stage 1 builds the pinned kustomize from its Go module, stage 2 the CLI, stage 3 runs both
# as a non-root user with a read-only root file system in mind (only /tmp is written).
FROM golang:1.24-bookworm AS kustomize
COPY tools/versions.env /versions.env
RUN . /versions.env && CGO_ENABLED=0 GOBIN=/out go install "sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}"

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY templates ./templates
COPY cluster-template ./cluster-template
COPY team-template ./team-template
COPY tools ./tools
COPY --from=kustomize /out/kustomize /usr/local/bin/kustomize
ENV TENANTRY_KUSTOMIZE=/usr/local/bin/kustomize HOME=/tmp
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/tenantry.js"]
CMD ["agent"]
