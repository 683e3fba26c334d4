# a pack cut inside the index, its last member: the segments are whole, readers scan them
"$BIN/dnsreel-pack" "$1" -o "$1.tar" && rm -rf "$1" && mv "$1.tar" "$1"
python3 "$HERE/pack.py" "$1" cut-member index.sqlite 4096
