# syntax=docker/dockerfile:1
# The ZEVA transaction service image: zeva-transaction-service (the default command),
# zeva-migrate with its SQL files, and zeva-worker (the outbox worker, run by its own
# Deployment with `command: ["zeva-worker"]`), on debian:bookworm-slim.
#
# The build stage uses the very scripts CI runs (scripts/install-deps.sh, scripts/build.sh),
# so the image is built with the same packages and CMake commands as the tested binaries.
# tests/integration/deploy_test.cc checks this file against the code; keep them in step.

FROM debian:bookworm-slim AS build
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when the package list changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN bash scripts/build.sh
# RUN_TESTS=1 (skaffold profile `test`) runs the whole suite inside the build stage, so an
# image is only produced from binaries that passed it. CI runs the suite before building.
ARG RUN_TESTS=0
RUN if [ "$RUN_TESTS" = "1" ]; then cd build && ctest --output-on-failure -j 2; fi
# The binaries CMake installs to bin/ (scripts/build.sh builds them all into build/).
RUN mkdir -p /out \
 && strip --strip-debug -o /out/zeva-transaction-service build/server/zeva-transaction-service \
 && strip --strip-debug -o /out/zeva-migrate build/migrate/zeva-migrate \
 && strip --strip-debug -o /out/zeva-worker build/worker/zeva-worker

FROM debian:bookworm-slim AS runtime
# Runtime libraries only (no compilers, no -dev packages). The list is checked against the
# binaries' NEEDED entries by the [deploy] test; libcurl4/libssl3/ca-certificates serve the
# JWKS download and the worker's e-mail, libprometheus-cpp-* the metrics endpoints,
# librabbitmq4 the worker's AMQP client, libcsv3 its CSV parser.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libpqxx-6.4 libpq5 libabsl20220623 \
      libspdlog1.10 libfmt9 libcurl4 libssl3 ca-certificates \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 librabbitmq4 libcsv3 \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric non-root user, so that Kubernetes' runAsNonRoot can verify it; OpenShift's
# random UIDs work as well because nothing here writes to the filesystem.
RUN groupadd --system --gid 10001 zeva \
 && useradd --system --uid 10001 --gid zeva --no-create-home --shell /usr/sbin/nologin zeva
COPY --from=build /out/zeva-transaction-service /out/zeva-migrate /out/zeva-worker /usr/local/bin/
COPY migrations/ /usr/share/zeva/migrations/
ENV MIGRATIONS_DIR=/usr/share/zeva/migrations \
    PORT=10102 \
    LOG_FORMAT=json
USER 10001:10001
# The default command's ports: gRPC, and the Prometheus metrics port. zeva-worker's (gRPC
# health 10103, metrics 9103) are declared by its Deployment.
EXPOSE 10102 9102
CMD ["zeva-transaction-service"]
