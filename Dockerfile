# Multi-stage build: dependencies are compiled in their own layer, the runtime image is small.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests/integration && echo 'fn main() {}' > src/main.rs && touch src/lib.rs tests/integration/main.rs \
    && cargo build --release --locked --bin wirefold || true
COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin wirefold

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 wirefold \
    && mkdir -p /var/lib/wirefold && chown wirefold /var/lib/wirefold
COPY --from=build /src/target/release/wirefold /usr/local/bin/wirefold
COPY config/wirefold.toml /etc/wirefold/wirefold.toml
ENV WIREFOLD_CONFIG=/etc/wirefold/wirefold.toml \
    WIREFOLD_STORE__PATH=/var/lib/wirefold/store \
    WIREFOLD_HTTP__LISTEN=0.0.0.0:8080
USER wirefold
VOLUME ["/var/lib/wirefold"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD ["wirefold", "health-check"]
ENTRYPOINT ["wirefold"]
CMD ["run"]
