# syntax=docker/dockerfile:1
# chargepile: built with the official Swift toolchain, run on a slim Debian with libpq.
#   docker build -t chargepile .
#   docker run -e DATABASE_URL=postgresql://user:pass@host:5432/chargepile \
#              -e CHARGEPILE_ADMIN_PASSWORD=… -e CHARGEPILE_PILE_PASSWORD=… -p 8080:8080 chargepile
# The image holds no PostgreSQL server, so DATABASE_URL is required (without it `serve`
# tries to start an embedded server and fails). docker-compose.yml runs the whole cluster.

# The project is built and tested with Swift 6.3; Package.swift needs at least 6.1.
# Override with --build-arg SWIFT_IMAGE=swift:6.1-bookworm (or a pinned 6.3.x tag).
ARG SWIFT_IMAGE=swift:6.3-bookworm

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so a source edit reuses this layer. Package.resolved stays out
# (see .dockerignore): it is not tracked, and a local one may pin a mirror's revisions.
COPY Package.swift ./
RUN swift package resolve
# Tests/ too: the manifest declares the test targets and SwiftPM checks that their folders exist.
COPY Sources ./Sources
COPY Tests ./Tests
# The migrations travel in chargepile_ChargingStore.resources, which the binary looks
# for next to itself: every *.resources folder goes along with it.
RUN swift build -c release --product chargepile --static-swift-stdlib \
    && bin="$(swift build -c release --show-bin-path)" \
    && mkdir -p /staging \
    && cp "$bin/chargepile" /staging/ \
    && find "$bin" -maxdepth 1 -name '*.resources' -exec cp -R {} /staging/ \; \
    && test -f /staging/chargepile_ChargingStore.resources/Migrations/0001_initial.sql \
    && test -f /staging/chargepile_ChargingServer.resources/console/index.html

FROM debian:bookworm-slim AS runtime
# libpq5: the database client library; tzdata: station time zones (Asia/Shanghai);
# ca-certificates: TLS to a managed PostgreSQL (sslmode=verify-full); curl: the HEALTHCHECK.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libpq5 ca-certificates tzdata curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/chargepile chargepile
COPY --from=build /staging/ /opt/chargepile/bin/
ENV PATH=/opt/chargepile/bin:$PATH \
    PORT=8080 \
    LOG_LEVEL=info
USER chargepile
WORKDIR /var/lib/chargepile
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT:-8080}/healthz" >/dev/null || exit 1
# docker stop sends SIGTERM, on which the instance shuts down gracefully.
STOPSIGNAL SIGTERM
ENTRYPOINT ["chargepile"]
CMD ["serve", "--host", "0.0.0.0"]
