#!/bin/sh
# Compiler launcher for cuda/*.cu (cuda/cuda.cmake): ptxas_report.sh REPORT_DIR nvcc ARGS...
# Runs the compile, keeps its `-Xptxas -v` resource report in REPORT_DIR/<file>.txt (read by
# scripts/cuda-report.js), passes every other diagnostic through, and fails the compile on any
# ptxas warning (spills, local memory) even if nvcc itself did not.
dir=$1
shift
src=
prev=
for a in "$@"; do
  if [ "$prev" = "-c" ]; then src=$a; fi
  prev=$a
done
name=$(basename "${src:-unknown.cu}" .cu)
mkdir -p "$dir"
tmp="$dir/$name.txt.tmp"
"$@" 2>"$tmp"
rc=$?
grep -v '^ptxas info' "$tmp" >&2
mv "$tmp" "$dir/$name.txt"
if [ $rc -eq 0 ] && grep -qi 'ptxas warning\|ptxas error' "$dir/$name.txt"; then
  echo "error: ptxas warnings in $src (spills or local memory are not allowed); see $dir/$name.txt" >&2
  exit 1
fi
exit $rc
