#!/usr/bin/env bash
# Installs every build, test and run-time dependency of the service from Debian bookworm.
# Idempotent; run as root (or through sudo). Any failure is fatal: a missing dependency
# must fail the build, never turn into a skipped test.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E bash "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive
PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git ca-certificates clang-format
  # lint and fuzzing: clang-tidy, and clang with libFuzzer and the sanitizer runtimes
  clang-tidy clang libclang-rt-14-dev
  # gRPC + protobuf (Debian's gRPC CMake config needs protobuf-compiler-grpc)
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # PostgreSQL client library, and the server the tests start themselves
  libpqxx-dev libpq-dev postgresql postgresql-contrib
  # AMQP client library (zeva-worker), and the broker the tests and scripts/run.sh start
  librabbitmq-dev rabbitmq-server
  # streaming CSV parser (zeva-worker reads ICBC extracts)
  libcsv-dev
  # support libraries
  libabsl-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libssl-dev libcurl4-openssl-dev
  libcpp-jwt-dev prometheus-cpp-dev libyaml-cpp-dev
  # tests and tools
  catch2 openssl procps gnuplot-nox curl
)

apt-get update
apt-get install -y --no-install-recommends "${PACKAGES[@]}"

# The postgresql package creates a cluster and may start it; the tests start their own
# servers, so the packaged one is left alone (it is not used by anything here).
echo "install-deps: all ${#PACKAGES[@]} packages installed"
