# tierline-hub in a container. Build: docker build -t tierline-hub .
# Run with PostgreSQL: see docs/install.md.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/tierline/tierline/hub/cli.Version=${VERSION}" \
    -o /out/tierline-hub ./hub/cmd/tierline-hub

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tierline-hub /usr/bin/tierline-hub
# The CA, certificates and (without --db) the SQLite database live here.
VOLUME /var/lib/tierline-hub
ENV TIERLINE_DATA=/var/lib/tierline-hub TIERLINE_LISTEN=0.0.0.0:8443
EXPOSE 8443
USER nonroot:nonroot
ENTRYPOINT ["/usr/bin/tierline-hub"]
CMD ["serve", "--log-format", "json"]
