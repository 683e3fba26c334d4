# boot_to_wall_ns near INT64_MAX in the index and the segment: ts + offset overflows
sqlite3 "$1/index.sqlite" "UPDATE capture_info SET value = 9223372036854775000 WHERE key = 'boot_to_wall_ns'"
python3 "$HERE/meta.py" "$1/seg/000001.zst" boot_to_wall_ns=9223372036854775000
