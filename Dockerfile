# syntax=docker/dockerfile:1
# trustbench's server as a container:
#   docker build -t trustbench .
#   docker run --rm -p 127.0.0.1:4566:4566 trustbench
# Inside the container it listens on 0.0.0.0:4566 (the container's own network); publish the
# port on the host's loopback as above, or set a control token (TRUSTBENCH_CONTROL_TOKEN) when
# others can reach it. Extra arguments go to `trustbench serve` (--world, --clock, ...).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY mock-server mock-server
COPY harness harness
COPY tests tests
COPY examples examples
RUN cargo build --release --locked -p harness --bin trustbench \
    && strip target/release/trustbench

# glibc and nothing else (no shell, no package manager), running as an unprivileged user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/trustbench /usr/local/bin/trustbench
COPY scenarios/worlds /worlds
EXPOSE 4566
HEALTHCHECK --interval=5s --timeout=3s --start-period=2s --retries=3 \
    CMD ["/usr/local/bin/trustbench", "health", "--address", "127.0.0.1:4566"]
ENTRYPOINT ["/usr/local/bin/trustbench", "serve", "--listen", "0.0.0.0:4566", "--allow-non-loopback"]
