# index.sqlite without its segments (seg/ not copied)
rm -rf "$1/seg"
