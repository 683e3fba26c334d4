# no index; the segment META says boot_to_wall_ns near INT64_MIN
rm "$1/index.sqlite"
python3 "$HERE/meta.py" "$1/seg/000001.zst" boot_to_wall_ns=-9223372036854775000
