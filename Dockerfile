# vae on Debian bookworm, in two stages. The build stage has the compilers and
# -dev packages (scripts/setup.sh's minimal set) and builds vae; the image
# itself has only the packages of the libraries vae links
# (scripts/runtime_packages.sh, with what apt adds for them), OpenMP OpenBLAS
# as the active BLAS, the binary and the model presets.
#   docker build -t vae .          (or: bash scripts/docker_check.sh, podman)
#   docker run --rm -v /path/to/mnist:/data:ro -v "$PWD/runs:/work/runs" vae \
#     train --data-dir /data --out runs/first
# BASE: any bookworm image; scripts/docker_check.sh passes one it makes with
# debootstrap where no registry can be reached.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
WORKDIR /opt/vae
COPY scripts/setup.sh scripts/use_openblas_openmp.sh scripts/
RUN VAE_SETUP_MINIMAL=1 bash scripts/setup.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN bash scripts/build.sh -DVAE_BUILD_TESTS=OFF \
    && bash scripts/runtime_packages.sh build/vae >runtime-packages.txt \
    && echo libopenblas0-openmp >>runtime-packages.txt

FROM ${BASE}
COPY --from=build /opt/vae/runtime-packages.txt /opt/vae/scripts/use_openblas_openmp.sh /tmp/vae/
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       $(cat /tmp/vae/runtime-packages.txt) >/dev/null \
    && bash /tmp/vae/use_openblas_openmp.sh \
    && rm -rf /var/lib/apt/lists/* /tmp/vae
COPY --from=build /opt/vae/build/vae /usr/local/bin/vae
COPY --from=build /opt/vae/models/ /usr/local/share/vae/models/
WORKDIR /work
ENTRYPOINT ["vae"]
CMD ["help"]
