# Dockerfile — builds wagw-api and wagw-worker (release) and ships both in one small image.
#
#   docker build -t wagw .          then: docker run wagw   (the edge; `wagw-worker` for a worker)
# compose.yaml builds and runs it with NATS, Redis, one edge and two workers.
#
# The worker is built with its default features, so it has the real WhatsApp driver (its
# default, WAGW_DRIVER=whatsapp, which needs WAGW_STATE_KEY) as well as the sim. That build
# links AGPL-3.0-only code: the image, as a whole, is AGPL-3.0-only (see NOTICE). A worker with
# the sim alone, Apache-2.0 only:
#   docker build --build-arg WAGW_WORKER_CARGO_ARGS=--no-default-features -t wagw:sim .
#
# The builder copies the whole workspace and builds once: simple, and it keeps working when a
# crate joins the workspace. A source change rebuilds the dependencies too (a few minutes).

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS builder
# Extra cargo arguments for the build (the edge has no default features, so only the worker's
# change with --no-default-features).
ARG WAGW_WORKER_CARGO_ARGS=
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin wagw-api --bin wagw-worker ${WAGW_WORKER_CARGO_ARGS} \
 && install -D -m 0755 -t /out target/release/wagw-api target/release/wagw-worker

FROM debian:bookworm-slim
# ca-certificates: the edge fetches the JWKS over HTTPS (the WhatsApp driver brings its own
# roots). curl: compose's /readyz healthcheck.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 wagw \
 && useradd --system --uid 10001 --gid wagw --no-create-home --shell /usr/sbin/nologin wagw
COPY --from=builder /out/ /usr/local/bin/
USER wagw:wagw
# Inside a container the edge must listen beyond loopback; logs are JSON for collectors.
ENV WAGW_HTTP_ADDR=0.0.0.0:8080 \
    WAGW_LOG_FORMAT=json \
    RUST_LOG=info
EXPOSE 8080
# Both binaries shut down gracefully on SIGTERM (workers release their shards first).
STOPSIGNAL SIGTERM
CMD ["wagw-api"]
