# syntax=docker/dockerfile:1
#
# HCE server image: a static hce binary on a distroless base, running as a
# non-root user. Build with:
#
#   make image    (docker build -t ghcr.io/hce-fhir/hce:0.1.0 --build-arg VERSION=0.1.0 .)
#
# The Go version follows the go directive in go.mod.
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
# CGO off: the binary must run on a base image without a C library. The cache
# mounts keep downloaded modules and build results between builds.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH:-amd64} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /hce ./cmd/hce
# The data dir holds the server's own token signing key (hce token); a volume
# mounted there starts with this directory's owner and mode.
RUN mkdir -p /out/var/lib/hce && chmod 0700 /out/var/lib/hce

# distroless/static has no shell and no package manager: the container health
# check therefore uses the binary itself (hce healthcheck).
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="hce" \
      org.opencontainers.image.description="HCE: FHIR R4 server on PostgreSQL and Citus" \
      org.opencontainers.image.source="https://github.com/hce-fhir/hce"
COPY --from=build /hce /hce
COPY --from=build --chown=65532:65532 /out/var/lib/hce /var/lib/hce
# Listen on every interface inside the container; the database comes from
# HCE_DATABASE_URL (the embedded PostgreSQL is not available in this image).
ENV HCE_ADDR=0.0.0.0:8080
ENV HCE_DATA_DIR=/var/lib/hce
EXPOSE 8080
# 65532 is the nonroot user of the distroless base.
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/hce", "healthcheck"]
ENTRYPOINT ["/hce"]
CMD ["serve"]
