# without an index, the only segment is empty
rm "$1/index.sqlite" && : >"$1/seg/000001.zst"
