#!/usr/bin/env bash
# Makes .devbundle/, what scripts/device_check.sh needs on a lent GPU machine
# that has PyTorch (and so LibTorch with CUDA) but none of vae's Debian
# packages and no network: OpenCV's core, imgproc and imgcodecs built as
# static libraries from Debian's source (PNG only, through Debian's static
# libpng and zlib), the header-only cxxopts and nlohmann-json with their CMake
# configs, GoogleTest built here, zlib, and MNIST. About 35 MB; the device
# tool carries it (`carry: [".devbundle"]`). Usage, in the repository root:
#   bash scripts/device_bundle.sh [CHECKPOINT]
# CHECKPOINT (optional): a trained run's best.pt, copied in for the GPU to
# evaluate. Needs deb.debian.org (deb-src) and the packages of setup.sh plus
# libpng-dev. Takes about 5 minutes on 2 cores.
set -euo pipefail

root=$(pwd)
bundle="$root/.devbundle"
work=$(mktemp -d)
trap 'rm -rf --one-file-system "$work"' EXIT
mnist=${MNIST_DIR:-$root/../shared/data/mnist}

grep -qx '/.devbundle/' .git/info/exclude 2>/dev/null || echo '/.devbundle/' >>.git/info/exclude
rm -rf --one-file-system "$bundle"
mkdir -p "$bundle"/{opencv/lib,prefix/include,prefix/lib/cmake,prefix/share/cmake,mnist}

# OpenCV 4.6 from Debian's source: the archive's sources, in a list of our own.
mkdir -p "$work/lists/partial"
echo "deb-src http://deb.debian.org/debian bookworm main" >"$work/src.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/src.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists")
apt-get "${apt_opts[@]}" update -q >/dev/null
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only opencv >/dev/null &&
  tar xf opencv_*.orig.tar.xz)
cp /usr/lib/x86_64-linux-gnu/libpng16.a /usr/lib/x86_64-linux-gnu/libz.a "$bundle/opencv/lib/"
off=()
for w in JPEG TIFF WEBP OPENEXR JASPER OPENJPEG GDAL GDCM IPP ITT OPENCL LAPACK EIGEN TBB \
  OPENMP VA GTK QT FFMPEG GSTREAMER V4L 1394 PROTOBUF QUIRC ADE CUDA IMGCODEC_HDR \
  IMGCODEC_SUNRASTER IMGCODEC_PFM; do
  off+=("-DWITH_$w=OFF")
done
cmake -S "$work"/opencv-4.* -B "$work/ocv" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$bundle/opencv" -DBUILD_LIST=core,imgproc,imgcodecs \
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DWITH_PNG=ON -DBUILD_PNG=OFF -DPNG_LIBRARY="$bundle/opencv/lib/libpng16.a" \
  -DPNG_PNG_INCLUDE_DIR=/usr/include -DBUILD_ZLIB=OFF \
  -DZLIB_LIBRARY="$bundle/opencv/lib/libz.a" -DZLIB_INCLUDE_DIR=/usr/include \
  "${off[@]}" -DCPU_DISPATCH= -DCPU_BASELINE=SSE3 -DBUILD_TESTS=OFF -DBUILD_PERF_TESTS=OFF \
  -DBUILD_EXAMPLES=OFF -DBUILD_opencv_apps=OFF -DBUILD_JAVA=OFF -DBUILD_opencv_python3=OFF \
  -DOPENCV_GENERATE_PKGCONFIG=OFF -DBUILD_DOCS=OFF >"$work/ocv.log"
cmake --build "$work/ocv" --target install >>"$work/ocv.log"
rm -rf --one-file-system "$bundle/opencv/share/opencv4/"{haarcascades,lbpcascades}
# The static config names libpng and zlib by absolute path: make it relative.
sed -i "s#$bundle/opencv/lib/#\${_IMPORT_PREFIX}/lib/#g" \
  "$bundle/opencv/lib/cmake/opencv4/OpenCVModules.cmake"

# Header-only packages with their CMake configs (paths relative to the config).
prefix="$bundle/prefix"
cp /usr/include/cxxopts.hpp /usr/include/zlib.h /usr/include/zconf.h "$prefix/include/"
cp -r /usr/include/nlohmann "$prefix/include/"
cp -r /usr/lib/cmake/cxxopts "$prefix/lib/cmake/"
cp -r /usr/share/cmake/nlohmann_json "$prefix/share/cmake/"
cp /usr/lib/x86_64-linux-gnu/libz.a "$prefix/lib/"
cmake -S /usr/src/googletest -B "$work/gtest" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$work/gtest" --target install >/dev/null

cp "$mnist"/*-ubyte* "$bundle/mnist/"
chmod u+w "$bundle/mnist/"*
if [ $# -ge 1 ]; then cp "$1" "$bundle/checkpoint.pt"; fi
du -sh "$bundle"
