# One image for the worker and the starter (operator commands, codec server).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build id of the Worker Deployment version (docs/operations.md, rolling out a build):
# docker build --build-arg BUILD_ID=$(git rev-parse --short=12 HEAD) .
ARG BUILD_ID
RUN test -n "$BUILD_ID" || { echo "docker build needs --build-arg BUILD_ID=… (the Worker Deployment version)"; exit 1; }
RUN CGO_ENABLED=0 go build -ldflags "-X digitalpost/internal/infra/rollout.Stamped=${BUILD_ID}" -o /out/worker ./worker && \
    CGO_ENABLED=0 go build -ldflags "-X digitalpost/internal/infra/rollout.Stamped=${BUILD_ID}" -o /out/starter ./starter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER nonroot
ENTRYPOINT ["/usr/local/bin/worker"]
