# the segment listed twice: refused, never read twice
"$BIN/dnsreel-pack" "$1" -o "$1.tar" && rm -rf "$1" && mv "$1.tar" "$1"
python3 "$HERE/pack.py" "$1" dup seg/000001.zst
