# one byte flipped inside the first block's zstd data: verify --reindex must drop that frame,
# and the rebuilt index must keep saying so
seg="$1/seg/000001.zst"
off=$(sqlite3 "$1/index.sqlite" "SELECT offset + 100 FROM frames ORDER BY offset LIMIT 1")
printf '\377' | dd of="$seg" bs=1 seek="$off" conv=notrunc 2>/dev/null
