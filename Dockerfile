# trustbench's server as a container. Two ways to build it from one file:
#
#   docker build -t trustbench .
#       compiles in the Rust image and runs on distroless (both from public registries;
#       needs BuildKit, the default builder of Docker 23 and later);
#   docker build --target prebuilt -t trustbench --build-arg RUNTIME=IMAGE .
#       copies a binary cargo already built (target/container/trustbench, stripped) onto
#       IMAGE: for machines without a registry, with a runtime image made from Debian's
#       packages (ci/container.sh does both; docs/container.md).
#
#   docker run --rm -p 127.0.0.1:4566:4566 trustbench
#
# Inside the container it listens on 0.0.0.0:4566 (the container's own network); publish the
# port on the host's loopback as above, or set a control token (TRUSTBENCH_CONTROL_TOKEN or
# --control-token-file) when others can reach it. Extra arguments go to `trustbench serve`.

ARG BUILDER=rust:1.95-slim-bookworm
# glibc and nothing else (no shell, no package manager), running as an unprivileged user.
ARG RUNTIME=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUNTIME} AS runtime
COPY scenarios/worlds /worlds
USER 65532:65532
EXPOSE 4566
HEALTHCHECK --interval=2s --timeout=3s --start-period=2s --retries=3 \
    CMD ["/usr/local/bin/trustbench", "health", "--address", "127.0.0.1:4566"]
ENTRYPOINT ["/usr/local/bin/trustbench", "serve", "--listen", "0.0.0.0:4566", "--allow-non-loopback"]

# A binary cargo built outside (first, so that `--target prebuilt` builds nothing else, with
# either builder).
FROM runtime AS prebuilt
ARG PREBUILT=target/container/trustbench
COPY ${PREBUILT} /usr/local/bin/trustbench

FROM ${BUILDER} AS compile
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY mock-server mock-server
COPY harness harness
COPY tests tests
COPY examples examples
RUN cargo build --release --locked -p harness --bin trustbench \
    && strip target/release/trustbench

FROM runtime AS release
COPY --from=compile /src/target/release/trustbench /usr/local/bin/trustbench
