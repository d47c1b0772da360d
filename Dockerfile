# moat: a static binary on distroless, running as non-root.
#   docker build -t ghcr.io/moat-ingress/moat:dev .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/moat ./cmd/moat

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/moat /moat
# 65532 is distroless's "nonroot"; the Deployment sets it too.
USER 65532:65532
EXPOSE 8080 8443 10254
ENTRYPOINT ["/moat"]
CMD ["controller"]
