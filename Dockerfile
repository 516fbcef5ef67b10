# wirefold container image.
#
#   docker build -t wirefold .
#   docker run -d --name wirefold -p 127.0.0.1:8080:8080 -v wirefold-data:/var/lib/wirefold wirefold
#
# Stages: `chef` (toolchain + cargo-chef), `planner` (dependency recipe), `build`
# (dependencies compiled as their own cached layer, then wirefold), `runtime` (Debian slim,
# CA certificates, non-root user 10001, the store on a volume). Configuration: the baked-in
# /etc/wirefold/wirefold.toml (the shipped default with container paths), a file mounted over
# it, and/or WIREFOLD_<SECTION>__<KEY> environment variables. scripts/container-check.sh
# builds and runs this file for real.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
# No debug info in the image's binary (59 MB with the release profile's line tables, 15 MB
# without; a panic's backtrace still names the functions). Set here so that the dependency
# layer and the final build agree.
ENV CARGO_PROFILE_RELEASE_DEBUG=none
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /app/recipe.json recipe.json
# Dependencies only: this layer is rebuilt when Cargo.toml or Cargo.lock change, not the code.
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin wirefold
COPY . .
RUN cargo build --release --locked --bin wirefold

FROM ${RUNTIME_IMAGE} AS runtime
# ca-certificates follows the distribution's security updates; pinning it would freeze them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/wirefold \
        --shell /usr/sbin/nologin wirefold \
    && mkdir -p /var/lib/wirefold /etc/wirefold \
    && chown 10001:10001 /var/lib/wirefold \
    && chmod 0750 /var/lib/wirefold
COPY --from=build /app/target/release/wirefold /usr/local/bin/wirefold
# The shipped default configuration, with the store on the volume and the status server
# reachable from outside the container.
COPY config/wirefold.toml /etc/wirefold/wirefold.toml
RUN sed -i \
        -e 's|^path = "data/wirefold"$|path = "/var/lib/wirefold/store"|' \
        -e 's|^listen = "127.0.0.1:8080"$|listen = "0.0.0.0:8080"|' \
        /etc/wirefold/wirefold.toml \
    && grep -q '^path = "/var/lib/wirefold/store"$' /etc/wirefold/wirefold.toml \
    && grep -q '^listen = "0.0.0.0:8080"$' /etc/wirefold/wirefold.toml
ENV WIREFOLD_CONFIG=/etc/wirefold/wirefold.toml
USER 10001:10001
RUN wirefold check-config
WORKDIR /var/lib/wirefold
VOLUME ["/var/lib/wirefold"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["wirefold", "health-check"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["wirefold"]
CMD ["run"]
