# syntax=docker/dockerfile:1
# Cairn S3 server image: `docker build -t cairn .` (see deploy/README.md for `docker run`).
# Two stages: the build stage has the compilers that the @ronomon/reed-solomon native addon
# needs (node-gyp: python3, make, g++) and the TypeScript toolchain; the runtime stage has
# only the compiled JavaScript, the production node_modules and Node itself.
# Both stages use the same base so the addon is built against the runtime's Node ABI.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, from the lock file only, so this layer is cached across source edits.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    CAIRN_LOG_LEVEL=info \
    UV_THREADPOOL_SIZE=16
WORKDIR /app
# The base image's `node` user is uid/gid 1000. The drive mount points are created owned by
# it, so a fresh named volume inherits that ownership; bind mounts (-v /mnt/nvme0:/data1)
# must be writable by uid 1000 on the host.
RUN mkdir -p /data1 /data2 /data3 /data4 \
 && chown 1000:1000 /data1 /data2 /data3 /data4
COPY --from=build --chown=0:0 /src/package.json ./package.json
COPY --from=build --chown=0:0 /src/bin ./bin
COPY --from=build --chown=0:0 /src/dist ./dist
COPY --from=build --chown=0:0 /src/node_modules ./node_modules
# Numeric uid so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 1000:1000
EXPOSE 9000
VOLUME ["/data1", "/data2", "/data3", "/data4"]
# No curl in the slim image: Node itself probes /health/live (HTTPS when CAIRN_TLS_DIR is
# set; the port follows CAIRN_ADDRESS, default :9000).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const tls=!!process.env.CAIRN_TLS_DIR;const port=(process.env.CAIRN_ADDRESS||':9000').split(':').pop()||'9000';require(tls?'node:https':'node:http').get({host:'127.0.0.1',port,path:'/health/live',rejectUnauthorized:false,timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('timeout',function(){this.destroy()}).on('error',()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/cairn.js"]
CMD ["server", "--address", ":9000", "/data{1...4}"]
