# seg is a plain file, not a directory
rm -rf "$1/seg" && echo x >"$1/seg"
