# keyraft:dev — the static keyraft binary on an empty base image.
#
# Build it with `make image`, which compiles bin/keyraft-linux (CGO_ENABLED=0,
# -trimpath) and stages a tiny build context in bin/image/ holding only:
#   keyraft-linux   the binary
#   data/           an empty directory, becomes /data (owned by 65534)
#   tmp/            an empty directory, becomes /tmp (owned by 65534)
# Nothing is pulled: the machine this is built on has no registry.
FROM scratch

COPY keyraft-linux /keyraft
# A scratch image has no directories at all. /data holds the data dir (-data-dir
# /data/node in docker-compose.yml, which the server makes 0700 itself):
# a named volume in docker-compose.yml, which docker seeds with this directory's
# owner, so the unprivileged user below can write to it. There is no VOLUME
# line, so a plain `docker run` leaves no anonymous volume behind. /tmp is for
# os.TempDir() (`server -dev` keeps its data there). COPY does not carry a
# directory's own mode over, so both belong to the one user the image runs as.
COPY --chown=65534:65534 data /data
COPY --chown=65534:65534 tmp /tmp
# /tls holds the cluster's certificates and gossip key in docker-compose.yml
# (a named volume, seeded with this directory's owner so that the one-shot
# `operator tls-gen` can write it). It is made from the same empty directory
# as /data, so the build context stays as it is.
COPY --chown=65534:65534 data /tls

# nobody:nogroup by number: there is no /etc/passwd in the image.
USER 65534:65534
# API (AWS KMS + /v1/sys), cluster gRPC, raft, gossip (tcp+udp).
EXPOSE 8200 8201 8202 8203 8203/udp
# The binary is its own probe (the image has no shell or curl): healthy is
# an unsealed node, leader or follower (-standbyok), that knows its leader;
# sealed, uninitialised or cut off from a leader is unhealthy. The address
# and CA come from $KEYRAFT_ADDR and $KEYRAFT_CACERT when the container
# sets them (docker-compose.yml does, for its HTTPS API), else
# http://127.0.0.1:8200. A load balancer that must reach the leader alone
# asks GET /v1/sys/health without overrides instead (docs/api.md).
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/keyraft", "operator", "health", "-standbyok", "-timeout", "4s"]
ENTRYPOINT ["/keyraft"]
CMD ["server", "-dev", "-api-addr", "0.0.0.0:8200"]
