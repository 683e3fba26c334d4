# a second segment that is a 5 GiB hole: readers used to load it whole (5.2 GB, 40 s)
truncate -s 5G "$1/seg/000002.zst"
