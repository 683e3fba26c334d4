# without an index, the segment is a link to /dev/zero
rm "$1/index.sqlite" "$1/seg/000001.zst" && ln -s /dev/zero "$1/seg/000001.zst"
