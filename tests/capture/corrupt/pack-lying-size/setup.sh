# the segment's header claims 1 GiB: read as a pack cut there, what is present is used
"$BIN/dnsreel-pack" "$1" -o "$1.tar" && rm -rf "$1" && mv "$1.tar" "$1"
python3 "$HERE/pack.py" "$1" size seg/000001.zst 1073741824
