# syntax=docker/dockerfile:1
#
# Pulse in one small image: the React dashboard is built with Node, embedded
# into the Go binary, and the binary is linked statically (go-sqlite3 needs
# cgo) so the final stage is distroless/static, running as non-root.
#
#   docker build -t pulse --build-arg VERSION=$(git describe --tags --always) .
#   docker run -p 8000:8000 -v pulse-data:/data pulse serve

# --- UI: web/ builds into web/ui/dist, which web/embed.go embeds -------------
FROM node:20-bookworm-slim AS ui
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- Go: static binary with the UI embedded ---------------------------------
FROM golang:1.26.10-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
COPY --from=ui /src/web/ui/dist ./web/ui/dist
ARG VERSION=dev
# osusergo,netgo: pure-Go user and DNS lookups, so glibc's NSS is not
# needed at run time; sqlite_omit_load_extension drops the dlopen call that
# cannot work in a static binary.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath \
      -tags osusergo,netgo,sqlite_omit_load_extension \
      -ldflags "-s -w -X main.version=${VERSION} -extldflags -static" \
      -o /out/pulse ./cmd/pulse \
 && /out/pulse version \
 && mkdir -p /out/data

# --- Run ---------------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pulse /usr/local/bin/pulse
# The SQLite database and the embedded broker's log live here when no
# PostgreSQL or Kafka cluster is configured; owned by the nonroot user.
COPY --from=build --chown=65532:65532 /out/data /data
ENV PULSE_ADDR=0.0.0.0:8000 \
    PULSE_DATA_DIR=/data \
    PULSE_LOG_FORMAT=json
USER 65532:65532
WORKDIR /data
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/pulse"]
CMD ["serve"]
