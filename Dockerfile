# Build: release binary. Runtime: slim Debian with the binary and migrations
# (migrations are also embedded in the binary; they ship for reference).
FROM rust:1.95-slim-bookworm AS build
# webauthn-rs (passkeys) links the system OpenSSL.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# The workspace members: authd-guard (authd's guard, a dependency) and
# tests/support (a dev-dependency; Cargo reads its manifest even to build the
# binary alone).
COPY crates ./crates
COPY tests/support ./tests/support
COPY src ./src
COPY migrations ./migrations
# Cargo reads every target the manifest names, benchmarks included.
COPY benches ./benches
RUN cargo build --release --locked --bin authd

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data authd \
 && mkdir -p /data && chown authd /data
COPY --from=build /src/target/release/authd /usr/local/bin/authd
USER authd
WORKDIR /data
ENV AUTHD_BIND=0.0.0.0:8080 \
    AUTHD_DATABASE_URL=sqlite:///data/authd.db
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["authd"]
