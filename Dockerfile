# vae on Debian bookworm: the same packages as scripts/setup.sh, a Release
# build, and `vae` as the entrypoint.
#   docker build -t vae .
#   docker run --rm -v /path/to/mnist:/data -v "$PWD/runs:/work/runs" vae train --data-dir /data
FROM debian:bookworm-slim

WORKDIR /opt/vae
COPY scripts/setup.sh scripts/setup.sh
RUN VAE_SETUP_MINIMAL=1 bash scripts/setup.sh && rm -rf /var/lib/apt/lists/*

COPY . .
RUN bash scripts/build.sh -DVAE_BUILD_TESTS=OFF \
    && install -m 0755 build/vae /usr/local/bin/vae \
    && mkdir -p /usr/local/share/vae && cp -r models /usr/local/share/vae/

WORKDIR /work
ENTRYPOINT ["vae"]
CMD ["help"]
